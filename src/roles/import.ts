/** `ferry import --from DIR`: a hub imports bundles; a facility imports acks. */
import type { OpContext } from '../node/context.js';
import { importAtFacility, type FacilityImportResult } from '../facility/read-acks.js';
import { importAtHub, type HubImportResult } from '../hub/import-bundles.js';
import { withLockedSession } from '../node/node-session.js';
import { isHub } from '../node/role.js';

export type ImportResult = HubImportResult | FacilityImportResult;

export function importDrive(ctx: OpContext, o: { from: string }): Promise<ImportResult> {
  return withLockedSession<ImportResult>(ctx, undefined, 'import', (s) => (isHub(s.config) ? importAtHub(s, o.from) : importAtFacility(s, o.from)));
}
