/**
 * The harnesses' comparison of hub rows with facility rows (src/tools/harness/hub-rows.ts), which
 * convergence and power cuts rely on, understands ferry_origin: with colliding ids, a facility's
 * rows are the hub's rows under its id, not any row with the same values; a shared table is
 * compared as merged.
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { compareHubRows } from '../src/tools/harness/hub-rows.js';
import { setUpNetwork } from '../src/tools/harness/network.js';
import { buildOpenmrsEmr, openmrsSite, trackOpenmrs } from '../src/tools/harness/openmrs.js';
import { tempDir } from './helpers/env.js';

test('compareHubRows: each facility against the hub rows under its own ferry_origin; the same rows under the other facility do not count', async (t) => {
  const root = tempDir(t);
  const facilities = ['RW-017', 'RW-021'].map((id) => {
    const db = join(root, `${id}.db`);
    buildOpenmrsEmr(db, openmrsSite(id));
    return { id, db };
  });
  const n = await setUpNetwork(root, { hub: { id: 'HUB-1' }, facilities });
  for (const s of n.sites) await trackOpenmrs(s.ctx);
  const drive = join(root, 'drive');
  mkdirSync(drive);
  for (const s of n.sites) await exportChanges(s.ctx, { to: drive });
  await importDrive(n.hub, { from: drive });

  t.like(await compareHubRows(n.hub, 'patient', facilities, { scope: 'facility' }), {
    scope: 'facility',
    missing: 0,
    extra: 0,
    facilityRows: 9,
    hubRows: 9,
    byOrigin: { 'RW-017': { facility: 5, hub: 5 }, 'RW-021': { facility: 4, hub: 4 } },
  });
  // Each EMR named as the other facility: the rows exist at the hub, but not as theirs.
  const swapped = [{ id: 'RW-017', db: facilities[1]!.db }, { id: 'RW-021', db: facilities[0]!.db }];
  const c = await compareHubRows(n.hub, 'person_name', swapped);
  t.is(c.missing, 9);
  t.is(c.extra, 9);
  // Shared: seven locations by uuid; the two Maternity versions were a conflict, so one of them is not at the hub.
  t.like(await compareHubRows(n.hub, 'location', facilities), { scope: 'shared', facilityRows: 8, hubRows: 7, missing: 1, extra: 0 });
  await t.throwsAsync(compareHubRows(n.hub, 'location', facilities, { scope: 'facility' }), { message: /holds location as shared, but it was tracked as facility/ });
});
