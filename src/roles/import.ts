/** `ferry import --from DIR`: a hub imports bundles; a facility imports acks. */
import type { OpContext } from '../node/context.js';
import type { Verdict } from '../core/verdict.js';
import { importAtFacility, type FacilityImportResult } from '../facility/read-acks.js';
import { importAtHub, type HubImportResult } from '../hub/import-bundles.js';
import { withLockedSession } from '../node/node-session.js';
import { isHub } from '../node/role.js';
import { facilityImportVerdict, hubImportVerdict } from './verdict.js';

/** What was done with the drive, per role. */
export type DriveImport = HubImportResult | FacilityImportResult;
export type ImportResult = DriveImport & { verdict: Verdict };

export function importDrive(ctx: OpContext, o: { from: string }): Promise<ImportResult> {
  return withLockedSession<ImportResult>(ctx, undefined, 'import', async (s) => {
    if (isHub(s.config)) {
      const r = await importAtHub(s, o.from);
      return { ...r, verdict: hubImportVerdict(r) };
    }
    const r = await importAtFacility(s, o.from);
    return { ...r, verdict: facilityImportVerdict(r) };
  });
}
