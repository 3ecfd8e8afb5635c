/**
 * Upgrading a hub database the ferry before issue 14 made (fixtures/hub-v1: two health centres
 * whose patient ids collide, merged by the old hub into one row each, the other only inside a
 * conflict record), and changing a table's scope on purpose: `ferry migrate`, `ferry rescope`.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { exportDrive } from '../src/roles/export.js';
import { importDrive } from '../src/roles/import.js';
import { status, type FacilityStatus } from '../src/roles/status.js';
import { track, untrack } from '../src/facility/track.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { openHubDb } from '../src/store/sqlite/hub-db.js';
import { openHubMaintenance } from '../src/store/hub-maintenance.js';
import { checkFreeSpace } from '../src/store/sqlite/backup.js';
import { runCli, sql, tempDir } from './helpers/env.js';
import { copyHubV1, dump, type HubV1 } from './helpers/hub-v1.js';

const ferry = (f: HubV1, ...args: string[]) => runCli(['--home', f.hub.home, ...args, '--json']);
const patients = (db: string) => sql<{ ferry_origin: string; patient_id: number; name: string }>(db, 'SELECT ferry_origin, patient_id, name FROM patient ORDER BY ferry_origin, patient_id');
const backups = (f: HubV1) => (existsSync(join(f.hub.home, 'backups')) ? readdirSync(join(f.hub.home, 'backups')) : []);
const NAMES = /Alice|Bosco|Claire|Denis|Eric|Huye|Kigali/;

/** One round from a facility: it exports, the hub imports (the facility reads the ack later, or never). */
async function round(f: HubV1, site: number): Promise<HubImportResult> {
  await exportDrive(f.sites[site]!.ctx, { to: f.drive });
  return (await importDrive(f.hub, { from: f.drive })) as HubImportResult;
}

test('the fixture is what the old ferry made: merged rows, open conflicts, and an override of RW-017\'s patient 1 by RW-021\'s', (t) => {
  const f = copyHubV1(t);
  const db = new Database(f.hubDb, { readonly: true });
  t.teardown(() => db.close());
  t.is(db.pragma('user_version', { simple: true }), 1);
  t.deepEqual(db.prepare('SELECT patient_id, name FROM patient ORDER BY patient_id').all(), [
    { patient_id: 1, name: 'Claire Mukamana' },
    { patient_id: 3, name: 'Eric Mugisha' },
  ]);
  t.deepEqual(db.prepare('SELECT tbl, key, resolution FROM ferry_conflicts ORDER BY id').all(), [
    { tbl: 'patient', key: '[1]', resolution: 'kept other (RW-021)' },
    { tbl: 'patient', key: '[2]', resolution: null },
    { tbl: 'location', key: '["5e2b3c1a-0000-4000-8000-00000000c002"]', resolution: null },
  ]);
  t.like(db.prepare("SELECT origin, seq FROM ferry_rows WHERE tbl = 'patient' AND key = '[1]'").get(), { origin: 'HUB-1', seq: 0 }, 'the override is the hub\'s own version');
});

test('every command that opens the hub database refuses an old one with database-outdated, and changes nothing', (t) => {
  const f = copyHubV1(t);
  const before = dump(f.hubDb);
  const card = join(f.root, 'RW-017.card.json');
  for (const args of [['status'], ['conflicts'], ['conflicts', 'resolve', '1', '--keep', 'other'], ['import', '--from', f.drive], ['trust', card, '--replace'], ['revoke', 'RW-021'], ['rescope', '--table', 'patient', '--scope', 'shared']]) {
    const r = ferry(f, ...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.is(r.json?.error?.code, 'database-outdated', args.join(' '));
    t.regex(r.json?.error?.hint ?? '', /ferry migrate/, args.join(' '));
  }
  t.deepEqual(dump(f.hubDb), before);
  t.deepEqual(backups(f), []);
});

test('ferry migrate backs the database up, then keeps both facilities\' patient 1 apart and closes the conflicts the merge had made', (t) => {
  const f = copyHubV1(t);
  const before = dump(f.hubDb);
  const r = ferry(f, 'migrate');
  t.is(r.code, 0, r.stdout + r.stderr);
  const doc = r.json;

  // The backup: private, checked, a copy of the database as it was.
  const backup = doc.backup.path as string;
  t.is(join(backup, '..'), join(f.hub.home, 'backups'));
  t.is(statSync(backup).mode & 0o777, 0o600);
  t.is(statSync(join(f.hub.home, 'backups')).mode & 0o777, 0o700);
  t.deepEqual(dump(backup), before);

  t.like(doc, { migrated: true, from_version: 1, to_version: 2, rows_recovered: 3, conflicts_closed: 2 });
  t.deepEqual(doc.tables, [
    { table: 'location', scope: 'facility', key: ['uuid'], rows: [{ origin: 'RW-017', rows: 1 }, { origin: 'RW-021', rows: 2 }] },
    { table: 'patient', scope: 'facility', key: ['patient_id'], rows: [{ origin: 'RW-017', rows: 1 }, { origin: 'RW-021', rows: 3 }] },
  ]);
  // RW-017's patient 1 (overwritten by the operator's override) and RW-021's patient 2 (deleted by
  // RW-017's delete of its own patient 2) had been only in conflict records.
  t.deepEqual(patients(f.hubDb), [
    { ferry_origin: 'RW-017', patient_id: 1, name: 'Alice Uwase Ingabire' },
    { ferry_origin: 'RW-021', patient_id: 1, name: 'Claire Mukamana' },
    { ferry_origin: 'RW-021', patient_id: 2, name: 'Denis Nkurunziza' },
    { ferry_origin: 'RW-021', patient_id: 3, name: 'Eric Mugisha' },
  ]);
  t.deepEqual(sql(f.hubDb, "SELECT key, origin, seq, deleted FROM ferry_rows WHERE tbl = 'patient' ORDER BY key"), [
    { key: '["RW-017",1]', origin: 'RW-017', seq: 5, deleted: 0 },
    { key: '["RW-017",2]', origin: 'RW-017', seq: 6, deleted: 1 },
    // the operator's override: RW-021's version, kept by the hub (seq 0), now RW-021's row
    { key: '["RW-021",1]', origin: 'RW-021', seq: 0, deleted: 0 },
    { key: '["RW-021",2]', origin: 'RW-021', seq: 2, deleted: 0 },
    { key: '["RW-021",3]', origin: 'RW-021', seq: 3, deleted: 0 },
  ]);
  t.deepEqual(sql(f.hubDb, 'SELECT id, resolution FROM ferry_conflicts ORDER BY id'), [
    { id: 1, resolution: 'kept other (RW-021)' },
    { id: 2, resolution: 'kept apart by ferry migrate: the rows belong to two facilities (facility-owned table)' },
    { id: 3, resolution: 'kept apart by ferry migrate: the rows belong to two facilities (facility-owned table)' },
  ]);
  t.is(sql<{ n: number }>(f.hubDb, 'SELECT count(*) AS n FROM ferry_conflicts WHERE resolved_at IS NULL')[0]!.n, 0);
  t.deepEqual(sql(f.hubDb, 'SELECT name, scope FROM ferry_tables ORDER BY name'), [{ name: 'location', scope: 'facility' }, { name: 'patient', scope: 'facility' }]);

  // Audited, with no row values; the other commands open it now.
  const log = ferry(f, 'log');
  const entry = log.json.entries.find((e: { action: string }) => e.action === 'migrate');
  t.like(entry, { outcome: 'migrated', detail: { from_version: 1, to_version: 2, backup, rows_recovered: 3, conflicts_closed: 2, facility_owned: ['location', 'patient'], shared: [] } });
  t.notRegex(JSON.stringify(log.json), NAMES);
  t.is(ferry(f, 'status').code, 0);
  t.deepEqual(ferry(f, 'conflicts').json.conflicts, []);

  const again = ferry(f, 'migrate');
  t.is(again.code, 0);
  t.like(again.json, { migrated: false, from_version: 2, to_version: 2, backup: null });
  t.is(backups(f).length, 1, 'nothing to do: no second backup');
});

test('after ferry migrate, imports work again: a facility\'s new bundle changes only its own rows', async (t) => {
  const f = copyHubV1(t);
  t.is(ferry(f, 'migrate').code, 0);
  sql(f.sites[1]!.emr, "UPDATE patient SET name = 'Claire Mukamana Uwera' WHERE patient_id = 1");
  sql(f.sites[1]!.emr, "INSERT INTO patient (uuid, name) VALUES ('b2d1a7f3-0021-4000-8000-000000000004', 'Fiona Ishimwe')");
  const r = await round(f, 1);
  t.like(r.bundles[0], { outcome: 'applied', counts: { applied: 2, conflicts: 0, rejected: 0 } });
  t.deepEqual(patients(f.hubDb), [
    { ferry_origin: 'RW-017', patient_id: 1, name: 'Alice Uwase Ingabire' },
    { ferry_origin: 'RW-021', patient_id: 1, name: 'Claire Mukamana Uwera' },
    { ferry_origin: 'RW-021', patient_id: 2, name: 'Denis Nkurunziza' },
    { ferry_origin: 'RW-021', patient_id: 3, name: 'Eric Mugisha' },
    { ferry_origin: 'RW-021', patient_id: 4, name: 'Fiona Ishimwe' },
  ]);
  // The versions the migration re-keyed are the ones the import found: no second version of a row.
  t.deepEqual(sql(f.hubDb, "SELECT key, origin FROM ferry_rows WHERE tbl = 'patient' AND origin = 'RW-021' AND seq > 5 ORDER BY key"), [{ key: '["RW-021",1]', origin: 'RW-021' }, { key: '["RW-021",4]', origin: 'RW-021' }]);
  t.is(sql<{ n: number }>(f.hubDb, "SELECT count(*) AS n FROM ferry_rows WHERE tbl = 'patient'")[0]!.n, 6);
});

test('a backup or a change the disk has no room for is refused before anything is written, saying how much it needs', (t) => {
  const dir = tempDir(t);
  const e = t.throws(() => checkFreeSpace(dir, 2 ** 60, 'a backup of the hub database', 'nothing was changed'));
  t.like(e, { code: 'disk-full', kind: 'io', where: dir });
  t.regex(e!.message, /^not enough free space in .* for a backup of the hub database: it needs about [\d.,]+ MB, [\d.,]+ MB is free$/);
  t.regex((e as { hint?: string }).hint ?? '', /nothing was changed/);
  t.notThrows(() => checkFreeSpace(dir, 1024, 'a backup of the hub database', 'nothing was changed'));
});

test('a lock the old ferry left behind (its process gone) does not stop ferry migrate; clearing it is audited once the log can be reached', (t) => {
  const f = copyHubV1(t);
  const gone = spawnSync('true').pid;
  writeFileSync(join(f.hub.home, 'lock'), JSON.stringify({ pid: gone, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'import' }));
  const r = ferry(f, 'migrate');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.like(ferry(f, 'log').json.entries.find((e: { action: string }) => e.action === 'lock'), { outcome: 'stale-cleared', detail: { pid: gone } });
});

test('ferry migrate --shared keeps a table shared: its rows and its open conflict as they were', (t) => {
  const f = copyHubV1(t);
  const before = dump(f.hubDb);
  const r = ferry(f, 'migrate', '--shared', 'LOCATION');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.like(r.json, { rows_recovered: 2, conflicts_closed: 1 });
  t.deepEqual(r.json.tables[0], { table: 'location', scope: 'shared', key: ['uuid'], rows: [{ origin: null, rows: 2 }] });
  const after = dump(f.hubDb);
  t.deepEqual(after.location, before.location);
  t.deepEqual(sql(f.hubDb, "SELECT key FROM ferry_rows WHERE tbl = 'location' ORDER BY key"), [{ key: '["5e2b3c1a-0000-4000-8000-00000000c001"]' }, { key: '["5e2b3c1a-0000-4000-8000-00000000c002"]' }]);
  t.deepEqual(sql(f.hubDb, 'SELECT tbl FROM ferry_conflicts WHERE resolved_at IS NULL'), [{ tbl: 'location' }]);
  t.deepEqual(sql(f.hubDb, 'SELECT name, scope FROM ferry_tables ORDER BY name'), [{ name: 'location', scope: 'shared' }, { name: 'patient', scope: 'facility' }]);

  const unknown = ferry(f, 'migrate', '--shared', 'location');
  t.is(unknown.code, 2, 'at version 2, --shared is not silently ignored');
  t.regex(unknown.json.error.hint, /ferry rescope/);
});

test('ferry migrate refuses a table whose rows no facility is known for, before any backup, naming it and the count', (t) => {
  const f = copyHubV1(t);
  sql(f.hubDb, "INSERT INTO patient (patient_id, uuid, name) VALUES (9, 'c0ffee00-0000-4000-8000-000000000009', 'Grace Keza'), (10, 'c0ffee00-0000-4000-8000-000000000010', 'Henri Gasana')");
  const before = dump(f.hubDb);
  const r = ferry(f, 'migrate');
  t.is(r.code, 3, r.stdout + r.stderr);
  t.is(r.json.error.code, 'scope-change-refused');
  t.regex(r.json.error.message, /patient \(2 row\(s\)\)/);
  t.regex(r.json.error.hint, /ferry migrate --shared patient/);
  t.notRegex(r.stdout + r.stderr, NAMES);
  t.deepEqual(dump(f.hubDb), before);
  t.deepEqual(backups(f), [], 'refused before the backup');
  const shared = ferry(f, 'migrate', '--shared', 'patient');
  t.is(shared.code, 0, shared.stdout + shared.stderr);
  t.is(sql<{ n: number }>(f.hubDb, 'SELECT count(*) AS n FROM patient')[0]!.n, 4);
});

test('a migration that fails half-way leaves the database as it was and says where the backup is', (t) => {
  const f = copyHubV1(t);
  // A failure at the very end, after every table was rebuilt: closing the conflicts.
  sql(f.hubDb, "CREATE TRIGGER broken_on_purpose BEFORE UPDATE ON ferry_conflicts BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  const before = dump(f.hubDb);
  const r = ferry(f, 'migrate');
  t.is(r.code, 70, r.stdout + r.stderr);
  const [backup] = backups(f);
  t.truthy(backup);
  t.true(r.json.error.message.includes(join(f.hub.home, 'backups', backup!)), r.json.error.message);
  t.regex(r.json.error.message, /left as it was/);
  t.deepEqual(dump(f.hubDb), before);
  t.is(ferry(f, 'status').json.error.code, 'database-outdated');
});

test('ferry rescope: shared to facility-owned keeps the facilities\' rows apart; back to shared is refused while they differ, and merges them once they agree', async (t) => {
  const f = copyHubV1(t);
  t.is(ferry(f, 'migrate', '--shared', 'location').code, 0);
  const unchanged = ferry(f, 'rescope', '--table', 'location', '--scope', 'shared');
  t.like(unchanged.json, { changed: false, backup: null });

  const toFacility = ferry(f, 'rescope', '--table', 'Location', '--scope', 'facility');
  t.is(toFacility.code, 0, toFacility.stdout + toFacility.stderr);
  t.like(toFacility.json, { changed: true, table: 'location', from_scope: 'shared', to_scope: 'facility', rows_recovered: 1, conflicts_closed: 1, rows: [{ origin: 'RW-017', rows: 1 }, { origin: 'RW-021', rows: 2 }] });
  t.is(statSync(toFacility.json.backup.path).mode & 0o777, 0o600);
  t.deepEqual(sql(f.hubDb, 'SELECT ferry_origin, name FROM location ORDER BY ferry_origin, uuid'), [
    { ferry_origin: 'RW-017', name: 'Huye' },
    { ferry_origin: 'RW-021', name: 'Kigali' },
    { ferry_origin: 'RW-021', name: 'Huye Hospital' },
  ]);
  t.deepEqual(sql(f.hubDb, "SELECT count(*) AS n FROM ferry_conflicts WHERE resolved_at IS NULL"), [{ n: 0 }]);

  const before = dump(f.hubDb);
  const refused = ferry(f, 'rescope', '--table', 'location', '--scope', 'shared');
  t.is(refused.code, 3, refused.stdout + refused.stderr);
  t.is(refused.json.error.code, 'scope-change-refused');
  t.regex(refused.json.error.message, /1 key\(s\) are held by two or more facilities with different rows/);
  t.notRegex(refused.stdout + refused.stderr, NAMES);
  t.deepEqual(dump(f.hubDb), before);

  // RW-017 corrects its location's name (as RW-021 spells it), the hub takes it: the rows agree.
  sql(f.sites[0]!.emr, "UPDATE location SET name = 'Huye Hospital' WHERE uuid = '5e2b3c1a-0000-4000-8000-00000000c002'");
  const r = await round(f, 0);
  t.like(r.bundles[0], { outcome: 'applied', counts: { applied: 1, conflicts: 0 } });
  const toShared = ferry(f, 'rescope', '--table', 'location', '--scope', 'shared');
  t.is(toShared.code, 0, toShared.stdout + toShared.stderr);
  t.like(toShared.json, { changed: true, from_scope: 'facility', to_scope: 'shared', rows_merged: 1, rows: [{ origin: null, rows: 2 }] });
  t.deepEqual(sql(f.hubDb, 'SELECT * FROM location ORDER BY uuid'), [
    { uuid: '5e2b3c1a-0000-4000-8000-00000000c001', name: 'Kigali' },
    { uuid: '5e2b3c1a-0000-4000-8000-00000000c002', name: 'Huye Hospital' },
  ]);
  // The merged row keeps the later version: RW-017's correction.
  t.deepEqual(sql(f.hubDb, "SELECT key, origin FROM ferry_rows WHERE tbl = 'location' ORDER BY key"), [
    { key: '["5e2b3c1a-0000-4000-8000-00000000c001"]', origin: 'RW-021' },
    { key: '["5e2b3c1a-0000-4000-8000-00000000c002"]', origin: 'RW-017' },
  ]);
  const actions = ferry(f, 'log').json.entries.filter((e: { action: string }) => e.action === 'rescope').map((e: { outcome: string }) => e.outcome);
  t.deepEqual(actions.sort(), ['changed', 'changed', 'refused']);
});

test('changing a table\'s scope, both sides in the documented order: the facilities drain, the hub rescopes, the facilities track it again, and nothing conflicts', async (t) => {
  const f = copyHubV1(t);
  t.is(ferry(f, 'migrate').code, 0);
  // The rows must agree to become one shared row: RW-017 spells its location as RW-021 does.
  sql(f.sites[0]!.emr, "UPDATE location SET name = 'Huye Hospital' WHERE uuid = '5e2b3c1a-0000-4000-8000-00000000c002'");
  // 1. Each facility stops capturing the table and delivers what it captured.
  for (const [i, site] of f.sites.entries()) {
    await untrack(site.ctx, { tables: ['location'] });
    await round(f, i);
    await importDrive(site.ctx, { from: f.drive });
    t.is(((await status(site.ctx)) as FacilityStatus).pending, 0, `${site.id} has nothing pending`);
  }
  // 2. The hub changes the scope.
  const r = ferry(f, 'rescope', '--table', 'location', '--scope', 'shared');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.like(r.json, { rows_merged: 1, rows: [{ origin: null, rows: 2 }] });
  // 3. Each facility tracks it again as shared: its rows, the same as the hub's, change nothing and conflict with nothing.
  for (const [i, site] of f.sites.entries()) {
    await track(site.ctx, { tables: ['location'], shared: true });
    const imported = await round(f, i);
    t.like(imported.bundles.find((b) => b.sender === site.id && b.outcome === 'applied'), { counts: { conflicts: 0, rejected: 0 } });
  }
  t.deepEqual(sql(f.hubDb, 'SELECT * FROM location ORDER BY uuid'), [
    { uuid: '5e2b3c1a-0000-4000-8000-00000000c001', name: 'Kigali' },
    { uuid: '5e2b3c1a-0000-4000-8000-00000000c002', name: 'Huye Hospital' },
  ]);
  t.deepEqual(sql(f.hubDb, 'SELECT count(*) AS n FROM ferry_rejected'), [{ n: 0 }]);
  // And an edit at one facility of a row both sent applies cleanly.
  sql(f.sites[1]!.emr, "UPDATE location SET name = 'Kigali City' WHERE uuid = '5e2b3c1a-0000-4000-8000-00000000c001'");
  const edit = await round(f, 1);
  t.like(edit.bundles.find((b) => b.sender === 'RW-021' && b.outcome === 'applied'), { counts: { applied: 1, conflicts: 0 } });
});

test('a hub database from before schema version 1 is converted by migrate: the ledger keeps every bundle, keyed by sender and id', async (t) => {
  const path = join(tempDir(t), 'old-hub.db');
  const old = new Database(path);
  // The schema as ferry wrote it before version 1 (ledger keyed by bundle id alone).
  old.exec(`
    CREATE TABLE ferry_tables (name TEXT PRIMARY KEY, key_columns TEXT NOT NULL, columns TEXT NOT NULL);
    CREATE TABLE ferry_bundles (bundle_id TEXT PRIMARY KEY, origin TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
      changes INTEGER NOT NULL, applied INTEGER NOT NULL, already_present INTEGER NOT NULL, conflicts INTEGER NOT NULL,
      rejected INTEGER NOT NULL, created TEXT NOT NULL, applied_at TEXT NOT NULL, file TEXT NOT NULL);
    CREATE TABLE ferry_applied (origin TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY (origin, first_seq)) WITHOUT ROWID;
    CREATE TABLE ferry_rows (tbl TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
      wall INTEGER NOT NULL, counter INTEGER NOT NULL, deleted INTEGER NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
    CREATE TABLE ferry_conflicts (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL, detected_at TEXT NOT NULL, bundle_id TEXT NOT NULL,
      current_origin TEXT NOT NULL, current_seq INTEGER NOT NULL, current_clock TEXT NOT NULL, current_row TEXT,
      other_origin TEXT NOT NULL, other_seq INTEGER NOT NULL, other_clock TEXT NOT NULL, other_row TEXT, resolved_at TEXT, resolution TEXT);
    CREATE TABLE ferry_rejected (id INTEGER PRIMARY KEY, at TEXT NOT NULL, bundle_id TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, tbl TEXT NOT NULL, reason TEXT NOT NULL);
    INSERT INTO ferry_tables VALUES ('p', '["id"]', '[{"name":"id","type":"INTEGER"}]');
    CREATE TABLE p (id, PRIMARY KEY (id));
    INSERT INTO p VALUES (1);
    INSERT INTO ferry_bundles VALUES ('${'a'.repeat(32)}', 'RW-A', 1, 5, 5, 5, 0, 0, 0, '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', 'f');
    INSERT INTO ferry_applied VALUES ('RW-A', 1, 5);
    INSERT INTO ferry_rows VALUES ('p', '[1]', 'RW-A', 1, 1, 0, 0);
    INSERT INTO ferry_rejected VALUES (1, '2026-01-02T00:00:00.000Z', '${'a'.repeat(32)}', 'RW-A', 3, 'p', 'old');
  `);
  old.close();
  t.throws(() => openHubDb(path), { message: /made by an older ferry/ });
  const m = openHubMaintenance(path, { anyVersion: true });
  const r = await m.migrate({ shared: [], at: new Date('2026-02-01T00:00:00Z') });
  await m.close();
  t.like(r, { from_version: 0, to_version: 2, tables: [{ table: 'p', scope: 'facility', rows: [{ origin: 'RW-A', rows: 1 }] }] });
  const db = openHubDb(path);
  t.teardown(() => db.close());
  t.deepEqual(db.prepare('SELECT origin, bundle_id, last_seq FROM ferry_bundles').all(), [{ origin: 'RW-A', bundle_id: 'a'.repeat(32), last_seq: 5 }]);
  t.deepEqual(db.prepare('SELECT key, ahead FROM ferry_rows').all(), [{ key: '["RW-A",1]', ahead: 0 }]);
  t.is((db.prepare('SELECT count(*) AS n FROM ferry_rejected').get() as { n: number }).n, 0, 'old rejections were acknowledged long ago: history, not outstanding');
  t.deepEqual(db.prepare('SELECT * FROM p').all(), [{ ferry_origin: 'RW-A', id: 1 }]);
});
