/**
 * Which of its own bundles on a drive a facility counts on (and so does not write again), and
 * which it replaces: found by red-team reviews of the re-send of bundles a hub did not take.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import { track } from '../src/facility/track.js';
import { makeNetwork, sql } from './helpers/env.js';

const files = (db: string) => ['', '-wal', '-shm'].map((x) => db + x);
const copyDb = (from: string, to: string) => {
  for (const [a, b] of files(from).map((f, i) => [f, files(to)[i]!] as const)) {
    rmSync(b, { force: true });
    if (existsSync(a)) copyFileSync(a, b);
  }
};

test('a bundle brought back unanswered is not replaced while it holds the only copy of changes (an EMR restored from a backup)', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001'], emptyDb: true });
  const f = n.sites[0]!;
  sql(f.db, 'CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)');
  await track(f.ctx, { tables: ['notes'] });
  sql(f.db, "INSERT INTO notes VALUES ('n1', 'one'), ('n2', 'two')");
  const backup = join(n.root, 'emr-backup.db');
  copyDb(f.db, backup);
  sql(f.db, "INSERT INTO notes VALUES ('n3', 'three'), ('n4', 'four')");
  await exportChanges(f.ctx, { to: n.drive });
  // The drive is read at the facility before it travels (ferry watch does so on re-insertion):
  // the bundle is noted as unanswered.
  await importDrive(f.ctx, { from: n.drive });
  copyDb(backup, f.db); // the EMR's disk failed; last night's backup is restored: n3 and n4 are gone from it
  sql(f.db, "INSERT INTO notes VALUES ('n5', 'five')");
  const again = await exportChanges(f.ctx, { to: n.drive });
  t.is(again.already_on_drive.length, 1, 'the first bundle is counted on: n3 and n4 exist nowhere else');
  t.deepEqual(again.removed_superseded, []);
  await importDrive(n.hub, { from: n.drive });
  t.deepEqual(sql<{ id: string }>(n.hubDb, 'SELECT id FROM notes ORDER BY id').map((r) => r.id), ['n1', 'n2', 'n3', 'n4', 'n5']);
});

test('an acknowledged bundle put back on the drive never holds back the changes the hub rejected from it', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  const emr = (db: string, ddl: string, rows: string) => {
    const d = new Database(db);
    d.exec(ddl);
    d.exec(rows);
    d.close();
  };
  emr(n.sites[0]!.db, 'CREATE TABLE visits (a TEXT, note TEXT PRIMARY KEY)', "INSERT INTO visits VALUES ('x', 'y')");
  emr(n.sites[1]!.db, 'CREATE TABLE visits (a TEXT PRIMARY KEY, note TEXT)', "INSERT INTO visits VALUES ('v1', 'one'), ('v2', 'two')");
  for (const s of n.sites) await track(s.ctx, { tables: ['visits'] });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const x = (await exportChanges(n.sites[1]!.ctx, { to: n.drive })).written[0]!.file;
  const courierCopy = join(n.root, 'copy.ferry-bundle');
  copyFileSync(x, courierCopy);
  const first = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.is(first.bundles.find((b) => b.sender === 'RW-002')!.counts!.rejected, 2, 'keyed differently at the hub: rejected');
  t.is(((await importDrive(n.sites[1]!.ctx, { from: n.drive })) as FacilityImportResult).pending, 2);
  // The operator fixes the cause; a courier puts the old, acknowledged bundle back on the drive.
  sql(n.hubDb, 'DROP TABLE visits');
  sql(n.hubDb, "DELETE FROM ferry_tables WHERE name = 'visits'");
  sql(n.hubDb, "DELETE FROM ferry_rows WHERE tbl = 'visits'");
  copyFileSync(courierCopy, x);
  const again = await exportChanges(n.sites[1]!.ctx, { to: n.drive });
  t.deepEqual(again.already_on_drive, [], 'an acknowledged bundle is never counted on');
  t.is(again.written.reduce((k, b) => k + b.changes, 0), 2);
  t.true(again.removed_superseded.includes(x));
  await importDrive(n.hub, { from: n.drive });
  t.deepEqual(sql(n.hubDb, "SELECT a, note FROM visits WHERE a LIKE 'v%' ORDER BY a"), [{ a: 'v1', note: 'one' }, { a: 'v2', note: 'two' }]);
  t.is(((await importDrive(n.sites[1]!.ctx, { from: n.drive })) as FacilityImportResult).pending, 0);
});
