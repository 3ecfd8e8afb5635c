/** `ferry import --from DIR`: a hub imports bundles; a facility imports acks. */
import type { OpContext } from '../node/context.js';
import { importAtFacility, type FacilityImportResult } from '../facility/read-acks.js';
import { importAtHub, type HubImportResult } from '../hub/import-bundles.js';
import { withLockedSession } from '../node/node-session.js';

export type ImportResult = HubImportResult | FacilityImportResult;

export function importDrive(ctx: OpContext, o: { from: string }): Promise<ImportResult> {
  return withLockedSession<ImportResult>(ctx, undefined, 'import', (s) => (s.config.role === 'hub' ? importAtHub(s, o.from) : importAtFacility(s, o.from)));
}
