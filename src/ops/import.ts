/** `ferry import --from DIR`: a hub imports bundles; a facility imports acks. */
import type { OpContext } from './context.js';
import { importAtFacility, type FacilityImportResult } from './import-facility.js';
import { importAtHub, type HubImportResult } from './import-hub.js';
import { withLockedSession } from './node-session.js';

export type ImportResult = HubImportResult | FacilityImportResult;

export function importDrive(ctx: OpContext, o: { from: string }): Promise<ImportResult> {
  return withLockedSession<ImportResult>(ctx, undefined, 'import', (s) => (s.config.role === 'hub' ? importAtHub(s, o.from) : importAtFacility(s, o.from)));
}
