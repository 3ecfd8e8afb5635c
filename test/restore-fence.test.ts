/**
 * An EMR database restored from a backup takes its change counter back: changes made after the
 * restore must not reuse numbers the hub already holds (it would take them as delivered).
 */
import test from 'ava';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { importDrive } from '../src/roles/import.js';
import { makeNetwork, runCli, sql, type Network } from './helpers/env.js';

const hubImport = async (n: Network) => (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
const facImport = async (n: Network) => (await importDrive(n.sites[0]!.ctx, { from: n.drive })) as FacilityImportResult;
const city = (db: string, rowid: number) => sql<{ CITY: string; Id: string }>(db, 'SELECT Id, CITY FROM patients WHERE rowid = ?', rowid)[0]!;
const hubCity = (n: Network, id: string) => sql<{ CITY: string }>(n.hubDb, 'SELECT CITY FROM patients WHERE Id = ?', id)[0]!.CITY;

/** A consistent copy of a SQLite database, as a backup tool would make it. */
function backup(db: string, to: string): void {
  sql(db, `VACUUM INTO '${to}'`);
}

function restore(from: string, db: string): void {
  for (const s of ['-wal', '-shm']) rmSync(db + s, { force: true });
  cpSync(from, db);
}

/** Every change delivered and acknowledged: the starting point of both stories. */
async function settled(t: Parameters<typeof makeNetwork>[0]) {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await hubImport(n);
  t.is((await facImport(n)).pending, 0);
  return n;
}

test('the EMR alone restored from a backup: changes made since are renumbered, and reach the hub', async (t) => {
  const n = await settled(t);
  const fac = n.sites[0]!;
  const saved = join(n.root, 'emr-backup.db');
  backup(fac.db, saved);
  sql(fac.db, "UPDATE patients SET CITY = 'Nyanza' WHERE rowid = 1"); // change 2123, delivered
  await exportChanges(fac.ctx, { to: n.drive });
  t.is((await hubImport(n)).bundles.at(-1)!.counts!.applied, 1);

  restore(saved, fac.db); // the EMR is back at change 2122
  sql(fac.db, "UPDATE patients SET CITY = 'Gisagara' WHERE rowid = 2"); // would be 2123 again
  const r = runCli(['--home', fac.ctx.home, 'export', '--to', n.drive, '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(r.json.restore_fence, { counter_was: 2123, highest_sent: 2123, renumbered: 1, renumbered_from: 2124 });
  t.deepEqual(r.json.written.map((b: { seq: { first: number } }) => b.seq.first), [2124]);
  const human = runCli(['--home', fac.ctx.home, 'export', '--to', n.drive]);
  t.notRegex(human.stdout, /went back in time/, 'said once, not on every export');

  const imp = await hubImport(n);
  t.deepEqual(imp.bundles.filter((b) => b.outcome === 'applied').map((b) => b.counts!.applied), [1], 'applied, not taken as already present');
  t.is(hubCity(n, city(fac.db, 2).Id), 'Gisagara');
  t.is(hubCity(n, city(fac.db, 1).Id), 'Nyanza', 'the hub keeps what it had of the lost change');
  t.is((await facImport(n)).pending, 0);
  const log = sql<{ outcome: string }>(join(fac.ctx.home, 'state.db'), "SELECT outcome FROM ferry_audit WHERE action = 'restore-fence'");
  t.deepEqual(log.map((l) => l.outcome), ['renumbered']);
});

test('the whole facility machine restored: the hub’s acks move the counter past what the hub holds before any new change', async (t) => {
  const n = await settled(t);
  const fac = n.sites[0]!;
  const savedDb = join(n.root, 'emr-backup.db');
  const savedHome = join(n.root, 'home-backup');
  backup(fac.db, savedDb);
  cpSync(fac.ctx.home, savedHome, { recursive: true });
  sql(fac.db, "UPDATE patients SET CITY = 'Nyanza' WHERE rowid = 1");
  await exportChanges(fac.ctx, { to: n.drive });
  await hubImport(n); // its ack, on the drive, says the hub holds 1–2123

  restore(savedDb, fac.db); // ferry's own records too: nothing at the facility remembers 2123
  rmSync(fac.ctx.home, { recursive: true });
  cpSync(savedHome, fac.ctx.home, { recursive: true });
  const back = runCli(['--home', fac.ctx.home, 'import', '--from', n.drive, '--json']);
  t.like(back.json.restore_fence, { counter_was: 2122, highest_sent: 2123, renumbered: 0 });
  t.notRegex(runCli(['--home', fac.ctx.home, 'import', '--from', n.drive]).stdout, /went back in time/, 'said once');
  sql(fac.db, "UPDATE patients SET CITY = 'Gisagara' WHERE rowid = 2"); // 2124, not 2123
  const exp = await exportChanges(fac.ctx, { to: n.drive });
  t.deepEqual(exp.written.map((b) => b.seq.first), [2124]);
  await hubImport(n);
  t.is(hubCity(n, city(fac.db, 2).Id), 'Gisagara');
  t.is((await facImport(n)).pending, 0);
});

test('no restore, no fence: a lost drive and a re-export keep their numbers, whatever the system clock says', async (t) => {
  const n = await settled(t);
  const fac = n.sites[0]!;
  sql(fac.db, "UPDATE patients SET CITY = 'Huye' WHERE rowid = 3");
  // The facility's clock reset to 2000 by a power cut: export times mean nothing to the fence.
  const first = await exportChanges({ ...fac.ctx, now: () => new Date('2000-01-01T00:00:00Z') }, { to: n.drive });
  rmSync(join(n.drive, 'FERRY', 'bundles'), { recursive: true }); // the drive was lost
  sql(fac.db, "UPDATE patients SET CITY = 'Huye 2' WHERE rowid = 3");
  const again = await exportChanges(fac.ctx, { to: n.drive });
  t.is(first.restore_fence, undefined);
  t.is(again.restore_fence, undefined);
  t.deepEqual(again.written.map((b) => [b.seq.first, b.seq.last]), [[2123, 2124]]);
  await hubImport(n);
  const back = await facImport(n);
  t.is(back.restore_fence, undefined);
  t.is(back.pending, 0);
});
