/**
 * A compromised facility (or anyone who can change an EMR's schema) against the hub: hostile
 * declared types and names, names that differ only by case, a clock from the future, a reused
 * bundle id, changes the hub cannot apply, a sender id in another case, and the hub database's
 * file mode. Each case failed before the fix it covers.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { applyRecords, CLOCK_AHEAD_TOLERANCE_MS } from '../src/store/sqlite/apply-bundle.js';
import { openHubDb, type Db } from '../src/store/sqlite/hub-db.js';
import { ErrorCodes } from '../src/core/errors.js';
import { canonicalJson, utf8 } from '../src/format/encoding.js';
import { MAX_ACK_BYTES } from '../src/format/constants.js';
import type { Manifest } from '../src/format/manifest.js';
import type { PayloadRecord } from '../src/format/records.js';
import { encodeValue } from '../src/format/values.js';
import { openBundle } from '../src/format/bundle-reader.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { MAX_ACK_RANGES, rangesForAck, type HubImportResult } from '../src/hub/import-bundles.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import { withSession } from '../src/node/node-session.js';
import { status, type HubStatus } from '../src/roles/status.js';
import { track } from '../src/facility/track.js';
import { makeNetwork, runCli, sql, tempDir, type Network } from './helpers/env.js';
import { sharedChange, table, writeBundle, type TestKeys } from './helpers/bundles.js';
import { mkdirSync } from 'node:fs';

const NOW = new Date('2026-11-22T10:00:00.000Z');
let bundleNo = 0;

function manifestFor(origin: string, first: number, last: number): Manifest {
  bundleNo++;
  return { sender: origin, bundle_id: bundleNo.toString(16).padStart(32, '0'), seq: { first, last }, changes: last - first + 1, created: NOW.toISOString() } as Manifest;
}

async function* from(records: PayloadRecord[]): AsyncGenerator<PayloadRecord> {
  yield* records;
}

const encodeRow = (row: Record<string, unknown> | undefined) => {
  if (!row) return null;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, encodeValue(v)]));
};

/** Apply records from `origin` as a bundle covering exactly their seqs. */
function apply(db: Db, origin: string, records: PayloadRecord[], now = NOW, o: { range?: [number, number]; conflictBytesAllowance?: number } = {}) {
  const seqs = records.flatMap((r) => (r.kind === 'change' ? [r.seq] : []));
  const [first, last] = o.range ?? [Math.min(...seqs), Math.max(...seqs)];
  return applyRecords(db, manifestFor(origin, first, last), from(records), { origin, now: () => now, file: 'test', encodeRow, ...(o.conflictBytesAllowance !== undefined ? { conflictBytesAllowance: o.conflictBytesAllowance } : {}) });
}

const insert = (origin: string, seq: number, tableName: string, row: unknown[], wall = NOW.getTime() - 60_000): PayloadRecord =>
  ({ kind: 'change', origin, seq, clock: [wall, 0], table: tableName, op: 'insert', row }) as PayloadRecord;

function hubDb(t: import('ava').ExecutionContext): Db {
  const db = openHubDb(join(tempDir(t), 'hub.db'), { create: true });
  t.teardown(() => db.close());
  return db;
}

test('a declared type carrying SQL never reaches a statement at the hub: other rows, the ledger and the disk are untouched', async (t) => {
  const db = hubDb(t);
  const dir = tempDir(t);
  const evil = join(dir, 'attached.db');
  await apply(db, 'RW-A', [table('notes', [['id', 'INTEGER'], ['text', 'TEXT']], ['id']), insert('RW-A', 1, 'notes', [1, 'kept']), insert('RW-A', 2, 'notes', [2, 'kept too'])]);
  const r = await apply(db, 'RW-B', [
    table('notes', [['id', 'INTEGER'], ['text', 'TEXT'], ['x', "TEXT); DELETE FROM notes; DELETE FROM ferry_applied; --"]], ['id']),
    table('other', [['id', `INT); COMMIT; ATTACH DATABASE '${evil}' AS evil; CREATE TABLE evil.t(a); BEGIN; --`]], ['id']),
    insert('RW-B', 1, 'notes', [3, 'from B', 'x']),
    insert('RW-B', 2, 'other', [1]),
  ]);
  t.is(r.counts.applied, 2);
  t.deepEqual(db.prepare('SELECT id FROM notes ORDER BY id').all().map((x: any) => x.id), [1, 2, 3], "RW-A's rows are still there");
  t.deepEqual(db.prepare("SELECT first_seq, last_seq FROM ferry_applied WHERE origin = 'RW-A'").raw(true).all(), [[1, 2]]);
  t.false(existsSync(evil), 'nothing was attached or created on disk');
  // The hostile type only picked an affinity: the column exists with a plain type.
  const types = db.prepare("SELECT name, type FROM pragma_table_info('notes')").all() as Array<{ name: string; type: string }>;
  t.deepEqual(types.find((c) => c.name === 'x'), { name: 'x', type: '' }, 'hub columns carry no type: values keep their class');
  t.deepEqual((db.prepare("SELECT name, type FROM pragma_table_info('other')").all() as Array<{ name: string; type: string }>).map((c) => [c.name, c.type]), [['ferry_origin', 'TEXT'], ['id', '']], "the sender's columns carry no type; the facility's id is text");
});

test('a name that fails the name rules is refused at the hub with a reason, never spliced, and nothing else is touched', async (t) => {
  const db = hubDb(t);
  const r = await apply(db, 'RW-A', [
    table('ok', [['id', 'INTEGER']], ['id']),
    table('bad"; DROP TABLE ok; --', [['id', 'INTEGER']], ['id']),
    table('sqlite_stat1', [['id', 'INTEGER']], ['id']),
    insert('RW-A', 1, 'ok', [1]),
    insert('RW-A', 2, 'bad"; DROP TABLE ok; --', [1]),
    insert('RW-A', 3, 'sqlite_stat1', [1]),
  ]);
  t.deepEqual(r.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 2 });
  t.is((db.prepare('SELECT count(*) AS n FROM ok').get() as { n: number }).n, 1);
  const reasons = db.prepare('SELECT seq, reason FROM ferry_rejected ORDER BY seq').all() as Array<{ seq: number; reason: string }>;
  t.deepEqual(reasons.map((x) => x.seq), [2, 3]);
  t.regex(reasons[0]!.reason, /may hold only/);
  t.regex(reasons[1]!.reason, /reserved/);
});

test('tables and columns named in another case are the same table at the hub: no facility can make another\'s bundles fail', async (t) => {
  const db = hubDb(t);
  await apply(db, 'RW-A', [table('visits', [['id', 'INTEGER'], ['city', 'TEXT']], ['id']), insert('RW-A', 1, 'visits', [1, 'Kigali'])]);
  // Before the fix: CREATE TABLE "Visits" failed (SQLite: it exists), the bundle failed as a bug, for ever.
  const r = await apply(db, 'RW-B', [table('Visits', [['ID', 'INTEGER'], ['CITY', 'TEXT'], ['Note', 'TEXT']], ['ID']), insert('RW-B', 1, 'Visits', [2, 'Huye', 'n'])]);
  t.is(r.counts.applied, 1);
  t.deepEqual(db.prepare('SELECT id, city FROM visits ORDER BY id').raw(true).all(), [[1, 'Kigali'], [2, 'Huye']]);
  t.deepEqual((db.prepare('SELECT name FROM ferry_tables').all() as Array<{ name: string }>).map((x) => x.name), ['visits']);
  t.deepEqual((db.prepare("SELECT tbl FROM ferry_rows ORDER BY key").all() as Array<{ tbl: string }>).map((x) => x.tbl), ['visits', 'visits'], 'versions kept under the hub\'s own name');
  // And a later column in yet another case is the column the hub already has.
  const again = await apply(db, 'RW-A', [table('VISITS', [['Id', 'INTEGER'], ['City', 'TEXT'], ['NOTE', 'TEXT']], ['Id']), insert('RW-A', 2, 'VISITS', [1, 'Musanze', null])]);
  t.is(again.counts.applied, 1);
});

test('a clock more than a day ahead of the hub cannot beat another facility\'s version; the conflict is flagged', async (t) => {
  const db = hubDb(t);
  const future = NOW.getTime() + 10 * 365 * 24 * 3600 * 1000;
  // A shared table, and edits that were concurrent (each based on a row the other never held).
  const p = table('p', [['id', 'INTEGER'], ['name', 'TEXT']], ['id'], 'shared');
  await apply(db, 'RW-A', [p, insert('RW-A', 1, 'p', [1, 'from the future'], future)]);
  await apply(db, 'RW-B', [p, sharedChange(p, 'RW-B', 1, [1, 'as B had it'], [1, 'honest edit'], NOW.getTime() - 1000)]);
  t.deepEqual(db.prepare('SELECT name FROM p').raw(true).all(), [['honest edit']]);
  // The other order: the honest version is held, the one from the future arrives and loses.
  await apply(db, 'RW-B', [p, insert('RW-B', 2, 'p', [2, 'honest'], NOW.getTime() - 1000)]);
  await apply(db, 'RW-A', [p, sharedChange(p, 'RW-A', 2, [2, 'as A had it'], [2, 'from the future'], future)]);
  t.deepEqual(db.prepare('SELECT name FROM p WHERE id = 2').raw(true).all(), [['honest']]);
  const conflicts = db.prepare('SELECT current_origin, other_origin, flag FROM ferry_conflicts ORDER BY id').all();
  t.deepEqual(conflicts, [
    { current_origin: 'RW-B', other_origin: 'RW-A', flag: 'clock-ahead' },
    { current_origin: 'RW-B', other_origin: 'RW-A', flag: 'clock-ahead' },
  ]);
  // Within the tolerance a later clock still wins as the rule says.
  const soon = NOW.getTime() + CLOCK_AHEAD_TOLERANCE_MS - 60_000;
  await apply(db, 'RW-A', [p, sharedChange(p, 'RW-A', 3, [2, 'from the future'], [2, 'a bit ahead'], soon)]);
  t.deepEqual(db.prepare('SELECT name FROM p WHERE id = 2').raw(true).all(), [['a bit ahead']]);
  t.is((db.prepare('SELECT flag FROM ferry_conflicts ORDER BY id DESC LIMIT 1').get() as { flag: string | null }).flag, null);
});

test('changes the hub rejects are left out of the ranges it holds; a re-send counts again, and applies once the cause is fixed', async (t) => {
  const db = hubDb(t);
  await apply(db, 'RW-A', [table('t', [['a', 'INTEGER'], ['b', 'INTEGER']], ['a']), insert('RW-A', 1, 't', [1, 10])]);
  const records = [table('t', [['a', 'INTEGER'], ['b', 'INTEGER']], ['b']), insert('RW-B', 1, 't', [2, 20]), insert('RW-B', 2, 't', [3, 30])];
  const first = await apply(db, 'RW-B', [...records, table('u', [['id', 'INTEGER']], ['id']), insert('RW-B', 3, 'u', [1])]);
  t.deepEqual(first.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 2 });
  t.deepEqual(first.appliedRanges, [[3, 3]], 'seqs 1 and 2 are not held: an ack will not confirm them');
  const again = await apply(db, 'RW-B', records);
  t.is(again.counts.rejected, 2, 'sent again, not taken as already present');
  t.deepEqual(db.prepare("SELECT seq, attempts, tbl FROM ferry_rejected WHERE origin = 'RW-B' ORDER BY seq").all(), [
    { seq: 1, attempts: 2, tbl: 't' },
    { seq: 2, attempts: 2, tbl: 't' },
  ]);
  // An operator fixes the cause (here: the table registered with another key is retired).
  db.prepare("DELETE FROM ferry_tables WHERE name = 't'").run();
  db.prepare('DROP TABLE t').run();
  const fixed = await apply(db, 'RW-B', records);
  t.is(fixed.counts.applied, 2);
  t.deepEqual(fixed.appliedRanges, [[1, 3]]);
  t.is((db.prepare("SELECT count(*) AS n FROM ferry_rejected WHERE origin = 'RW-B'").get() as { n: number }).n, 0);
});

const hubImport = async (n: Network, drive = n.drive) => (await importDrive(n.hub, { from: drive })) as HubImportResult;
const facImport = async (n: Network, i: number, drive = n.drive) => (await importDrive(n.sites[i]!.ctx, { from: drive })) as FacilityImportResult;

function emrTable(dbPath: string, ddl: string, inserts: string[]): void {
  const db = new Database(dbPath);
  db.exec(ddl);
  for (const i of inserts) db.prepare(i).run();
  db.close();
}

test('end to end: a change the hub rejected is never acknowledged, stays pending at its facility and is sent again', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  emrTable(n.sites[0]!.db, 'CREATE TABLE visits (a INTEGER PRIMARY KEY, b INTEGER UNIQUE)', ['INSERT INTO visits VALUES (1, 10)']);
  emrTable(n.sites[1]!.db, 'CREATE TABLE visits (a INTEGER, b INTEGER PRIMARY KEY)', ['INSERT INTO visits VALUES (2, 20)', 'INSERT INTO visits VALUES (3, 30)']);
  emrTable(n.sites[1]!.db, 'CREATE TABLE notes (id INTEGER PRIMARY KEY)', ['INSERT INTO notes VALUES (1)']);
  await track(n.sites[0]!.ctx, { tables: ['visits'] });
  await track(n.sites[1]!.ctx, { tables: ['visits', 'notes'] });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const r = await hubImport(n);
  t.deepEqual(r.bundles.map((b) => [b.sender, b.outcome, b.counts?.rejected]), [
    ['RW-001', 'applied', 0],
    ['RW-002', 'applied', 2],
  ]);
  const back = await facImport(n, 1);
  t.is(back.pending, 2, "RW-002's two rejected changes are still pending: nothing was lost");
  t.is(back.pruned, 1, 'the change the hub applied (notes) was confirmed');
  // The next export sends them again; the hub counts a second attempt.
  const drive2 = join(n.root, 'drive2');
  mkdirSync(drive2);
  const again = await exportChanges(n.sites[1]!.ctx, { to: drive2 });
  t.is(again.written.reduce((s, b) => s + b.changes, 0), 2);
  const r2 = await hubImport(n, drive2);
  t.is(r2.bundles[0]!.counts?.rejected, 2);
  t.deepEqual(sql(n.hubDb, "SELECT attempts FROM ferry_rejected WHERE origin = 'RW-002'"), [{ attempts: 2 }, { attempts: 2 }]);
  const st = (await status(n.hub)) as HubStatus;
  t.deepEqual(st.gaps, [], 'rejected changes are not reported as missing');
  t.is(st.rejected_changes, 2);
});

test('a bundle id already used by another facility is refused with its own code; the facility is never told its changes arrived', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  for (const s of n.sites) emrTable(s.db, 'CREATE TABLE notes (id TEXT PRIMARY KEY)', [`INSERT INTO notes VALUES ('${s.id}')`]);
  for (const s of n.sites) await track(s.ctx, { tables: ['notes'] });
  const genuine = await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const id = Buffer.from((await openBundle(genuine.written[0]!.file)).manifest.bundle_id, 'hex');
  // RW-002 read the id off the shared drive and reuses it for its own bundle, imported first.
  const squatDrive = join(n.root, 'squat');
  mkdirSync(squatDrive);
  const b = n.sites[1]!.ctx;
  let reused = false;
  await exportChanges({ ...b, random: (k) => (k === 16 && !reused ? ((reused = true), new Uint8Array(id)) : b.random(k)) }, { to: squatDrive });
  t.true(reused);
  t.is((await hubImport(n, squatDrive)).bundles[0]!.outcome, 'applied');
  const r = await hubImport(n);
  t.is(r.bundles[0]!.outcome, 'refused');
  t.is(r.bundles[0]!.reason?.code, ErrorCodes.BUNDLE_ID_REUSED);
  t.regex(r.bundles[0]!.reason!.message, /RW-002 already used/);
  t.deepEqual(r.acks_written, [], 'no ack: RW-001 keeps its changes');
  t.deepEqual(sql(n.hubDb, "SELECT count(*) AS n FROM ferry_applied WHERE origin = 'RW-001'"), [{ n: 0 }]);
  const back = await facImport(n, 0);
  t.is(back.pending, 1);
  // Having read the drive, RW-001 no longer counts on the refused bundle: its next export sends
  // the change under a new id and takes the old bundle off the drive; the hub applies it.
  const again = await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  t.is(again.written.length, 1);
  t.not(again.written[0]!.bundle_id, id.toString('hex'));
  t.deepEqual(again.removed_superseded, [genuine.written[0]!.file]);
  const r2 = await hubImport(n);
  t.deepEqual(r2.bundles.map((b) => b.outcome), ['applied']);
  t.is((await facImport(n, 0)).pending, 0);
});

test('a manifest naming its sender in another case is the same facility: same origin, same ranges', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001'], emptyDb: true });
  const site = n.sites[0]!;
  const keys = await withSession(site.ctx, 'facility', 'test', (s) => s.nodeKeys());
  const hubKeys = await withSession(n.hub, 'hub', 'test', (s) => s.nodeKeys());
  const asTestKeys = (k: typeof keys, id: string): TestKeys => ({
    id,
    sign: { publicKey: k.identity.signingKey, secretKey: k.signingSecretKey },
    box: { publicKey: k.identity.encryptionKey, secretKey: k.encryptionSecretKey },
    fingerprint: k.identity.fingerprint,
  });
  const bundles = join(n.drive, 'FERRY', 'bundles');
  mkdirSync(bundles, { recursive: true });
  const records = (origin: string, seq: number): PayloadRecord[] => [table('notes', [['id', 'INTEGER']], ['id']), insert(origin, seq, 'notes', [seq])];
  await writeBundle(join(bundles, 'a.ferry-bundle'), records('RW-001', 1), { sender: asTestKeys(keys, 'RW-001'), recipient: asTestKeys(hubKeys, 'HUB-1'), seed: 1 });
  await writeBundle(join(bundles, 'b.ferry-bundle'), records('rw-001', 2), { sender: asTestKeys(keys, 'rw-001'), recipient: asTestKeys(hubKeys, 'HUB-1'), seed: 2 });
  const r = await hubImport(n);
  t.deepEqual(r.bundles.map((b) => b.outcome), ['applied', 'applied']);
  t.deepEqual(sql(n.hubDb, 'SELECT origin, first_seq, last_seq FROM ferry_applied'), [{ origin: 'RW-001', first_seq: 1, last_seq: 2 }]);
  t.deepEqual(sql(n.hubDb, 'SELECT DISTINCT origin FROM ferry_bundles'), [{ origin: 'RW-001' }]);
});

test('the hub database is created readable by its owner only, wherever it is and whatever the umask', async (t) => {
  const old = process.umask(0o022);
  try {
    const dir = tempDir(t);
    const db = openHubDb(join(dir, 'elsewhere.db'), { create: true });
    db.prepare('CREATE TABLE x (a)').run();
    t.is(statSync(join(dir, 'elsewhere.db')).mode & 0o777, 0o600);
    t.true(readdirSync(dir).includes('elsewhere.db-wal'));
    t.is(statSync(join(dir, 'elsewhere.db-wal')).mode & 0o777, 0o600, 'SQLite gives the WAL the database file\'s mode');
    db.close();
  } finally {
    process.umask(old);
  }
});

test('an ack never outgrows its size limit: past 1,500 held ranges it confirms what the bundle carried, so each round prunes something new', (t) => {
  const held: Array<[number, number]> = Array.from({ length: 5000 }, (_, i) => [2 * i + 2, 2 * i + 2]);
  t.is(rangesForAck(held.slice(0, 10), undefined, { first: 1, last: 100 }).length, 10, 'few ranges: all of them');
  // Rejected odd seqs cut the held set into 5,000 pieces; the facility already pruned the first 2,000.
  const carried = held.slice(2000, 4900);
  const listed = rangesForAck(held, carried, { first: 1, last: 10_000 });
  t.is(listed.length, MAX_ACK_RANGES);
  t.deepEqual(listed[0], carried[0], 'starts at what this bundle carried, not at ranges confirmed before');
  const reack = rangesForAck(held, undefined, { first: 9001, last: 10_000 });
  t.true(reack.every(([a, b]) => b >= 9001 && a <= 10_000), 'a re-ack lists the ranges of its own bundle');
  // The largest ack ferry can write, with the largest seqs, still fits the limit readers apply.
  const top = Number.MAX_SAFE_INTEGER;
  const widest: Array<[number, number]> = Array.from({ length: 5000 }, (_, i) => [top - 2 * (5000 - i), top - 2 * (5000 - i)]);
  const ack = {
    format: 'ferry-ack', version: 1, ack_id: 'a'.repeat(32), hub: 'H'.repeat(64), hub_fingerprint: 'AAAA-AAAA-AAAA-AAAA', facility: 'F'.repeat(64), bundle_id: 'b'.repeat(32),
    seq: { first: top - 10_000, last: top }, applied_ranges: rangesForAck(widest, undefined, { first: top - 10_000, last: top }), outcome: 'already-applied',
    counts: { applied: top, already_present: top, conflicts: top, rejected: top }, created: '2026-11-22T10:00:00.000Z',
  };
  t.true(utf8(canonicalJson(ack)).length <= MAX_ACK_BYTES, 'the ack fits in 64 KiB');
});

test('`ferry conflicts` and --json flag a conflict in which a clock from the future took part', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001'], emptyDb: true });
  const db = openHubDb(n.hubDb);
  const future = Date.now() + 30 * 24 * 3600 * 1000;
  const p = table('p', [['id', 'INTEGER'], ['name', 'TEXT']], ['id'], 'shared');
  await apply(db, 'RW-A', [p, insert('RW-A', 1, 'p', [1, 'a'], future)], new Date());
  await apply(db, 'RW-B', [p, sharedChange(p, 'RW-B', 1, [1, 'as B had it'], [1, 'b'], Date.now())], new Date());
  db.close();
  const human = runCli(['--home', n.hub.home, 'conflicts']);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /FLAG clock-ahead/);
  const json = runCli(['--home', n.hub.home, 'conflicts', '--json']);
  t.is(json.json.conflicts[0].flag, 'clock-ahead');
  t.is(json.json.conflicts[0].current.origin, 'RW-B');
});

test('the hub holds only the seqs a bundle carried, never the rest of its range (another bundle on the drive may carry them)', async (t) => {
  const db = hubDb(t);
  const notes = table('notes', [['id', 'INTEGER']], ['id']);
  // Export wrote 11..20 in a bundle still on the drive, and 10 + 21..30 in one covering 10..30.
  const wide = [notes, insert('RW-A', 10, 'notes', [10]), ...Array.from({ length: 10 }, (_, i) => insert('RW-A', 21 + i, 'notes', [21 + i]))];
  const first = await apply(db, 'RW-A', wide, NOW, { range: [10, 30] });
  t.deepEqual(first.appliedRanges, [[10, 10], [21, 30]], 'seqs 11..20 are not held: the ack must not confirm them');
  const second = await apply(db, 'RW-A', [notes, ...Array.from({ length: 10 }, (_, i) => insert('RW-A', 11 + i, 'notes', [11 + i]))]);
  t.is(second.counts.applied, 10, 'the other bundle applies; before the fix all 10 were "already present" and lost');
  t.is((db.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n, 21);
});

test('conflict records are bounded: one open record per row and sender, and a byte budget per bundle; nothing over it is lost', async (t) => {
  const db = hubDb(t);
  const notes = table('notes', [['id', 'INTEGER'], ['body', 'TEXT']], ['id'], 'shared');
  const big = 'x'.repeat(100_000);
  await apply(db, 'RW-B', [notes, insert('RW-B', 1, 'notes', [1, big], NOW.getTime() - 1000), insert('RW-B', 2, 'notes', [2, big], NOW.getTime() - 1000), insert('RW-B', 3, 'notes', [3, big], NOW.getTime() - 1000)]);
  // RW-A edits its own copies, never B's: each change is based on A's previous one.
  const editAtA = (seq: number, id: number, body: string, was: string) => sharedChange(notes, 'RW-A', seq, [id, was], [id, body], 1);
  // 300 losing updates (clock 1970) to one row: one record, seen 300 times.
  const losing = await apply(db, 'RW-A', [notes, ...Array.from({ length: 300 }, (_, i) => editAtA(i + 1, 1, `v${i}`, i === 0 ? 'as A had it' : `v${i - 1}`))]);
  t.is(losing.counts.conflicts, 300);
  t.deepEqual(db.prepare('SELECT count(*) AS n, max(repeats) AS repeats FROM ferry_conflicts').get(), { n: 1, repeats: 299 });
  t.deepEqual(db.prepare('SELECT body FROM notes WHERE id = 1').raw(true).get(), [big], 'the rule still keeps the later clock');
  // A budget of about two row copies: the third conflicting row waits for the next bundle.
  const budget = await apply(db, 'RW-A', [notes, editAtA(301, 1, 'a', 'v299'), editAtA(302, 2, 'b', 'as A had it'), editAtA(303, 3, 'c', 'as A had it')], NOW, { conflictBytesAllowance: 250_000 });
  t.deepEqual(budget.counts, { applied: 0, already_present: 0, conflicts: 2, rejected: 1 });
  t.deepEqual(budget.appliedRanges, [[1, 302]], 'seq 303 is not held: the facility sends it again');
  const next = await apply(db, 'RW-A', [notes, editAtA(303, 3, 'c', 'as A had it')], NOW, { conflictBytesAllowance: 250_000 });
  t.is(next.counts.conflicts, 1);
  t.is((db.prepare('SELECT count(*) AS n FROM ferry_rejected').get() as { n: number }).n, 0);
});

test('a sender cannot "agree" with a row by sending fewer columns, and columns in another case agree with the hub\'s', async (t) => {
  const db = hubDb(t);
  await apply(db, 'RW-B', [table('patients', [['Id', 'TEXT'], ['name', 'TEXT'], ['allergy', 'TEXT']], ['Id'], 'shared'), insert('RW-B', 1, 'patients', ['p-1', 'Alice', 'penicillin'])]);
  // Only the key column, and a base over that column alone (all it takes is knowing the key). An
  // update writes only the columns it describes, so this one changes nothing; but it makes RW-A
  // the row's version, and a later full update from RW-A with a 1970 clock must not then follow
  // "its own" version and erase the allergy unrecorded: RW-A never saw the allergy.
  const keyOnly = table('patients', [['Id', 'TEXT']], ['Id'], 'shared');
  const r = await apply(db, 'RW-A', [keyOnly, sharedChange(keyOnly, 'RW-A', 1, ['p-1'], ['p-1'], NOW.getTime() - 10)]);
  t.deepEqual(r.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
  const full = table('patients', [['Id', 'TEXT'], ['name', 'TEXT'], ['allergy', 'TEXT']], ['Id'], 'shared');
  const erase = await apply(db, 'RW-A', [full, sharedChange(full, 'RW-A', 2, ['p-1', 'Alice', null], ['p-1', 'Alice', null], 1)]);
  t.is(erase.counts.conflicts, 1, 'recorded, not taken as its own later change');
  t.deepEqual(db.prepare("SELECT allergy FROM patients WHERE Id = 'p-1'").raw(true).all(), [['penicillin']], 'the earlier clock loses: the allergy stays');
  // A delete must have seen the whole row: a key-only delete is a conflict, never clean.
  const del = await apply(db, 'RW-D', [keyOnly, sharedChange(keyOnly, 'RW-D', 1, ['p-1'], null, 1)]);
  t.is(del.counts.conflicts, 1);
  // Identical values under other spellings of the same columns: agreement, not a conflict.
  const same = await apply(db, 'RW-C', [table('PATIENTS', [['ID', 'TEXT'], ['NAME', 'TEXT'], ['ALLERGY', 'TEXT']], ['ID'], 'shared'), insert('RW-C', 1, 'PATIENTS', ['p-1', 'Alice', 'penicillin'], NOW.getTime() - 20)]);
  t.deepEqual(same.counts, { applied: 0, already_present: 1, conflicts: 0, rejected: 0 });
});

test('two encodings of one key never reach one row: hub columns keep values as they came, and typed key columns refuse what they would convert', async (t) => {
  const db = hubDb(t);
  // Shared tables: rows from every facility meet by key, so one encoding must not reach another's row.
  const visits = table('visits', [['id', 'INTEGER'], ['note', 'TEXT']], ['id'], 'shared');
  await apply(db, 'RW-B', [visits, insert('RW-B', 1, 'visits', [2, 'kept']), insert('RW-B', 2, 'visits', [3, 'kept too'])]);
  const r = await apply(db, 'RW-A', [visits, sharedChange(visits, 'RW-A', 1, ['2', 'before'], ['2', 'other row'], 1), sharedChange(visits, 'RW-A', 2, [{ real: 3 }, 'kept too'], null, 1)]);
  t.deepEqual(r.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 1 }, "'2' is another row; 3.0 would be the row 3, and is refused");
  t.deepEqual(db.prepare('SELECT typeof(id), id, note FROM visits ORDER BY 1, 2').raw(true).all(), [['integer', 2, 'kept'], ['integer', 3, 'kept too'], ['text', '2', 'other row']], "RW-B's rows untouched");
  // A table from an older hub keeps its declared types: a key its column would convert is rejected.
  db.prepare('CREATE TABLE legacy (id INTEGER PRIMARY KEY, note TEXT)').run();
  db.prepare('INSERT INTO legacy VALUES (2, ?)').run('kept');
  const legacy = table('legacy', [['id', 'INTEGER'], ['note', 'TEXT']], ['id'], 'shared');
  const l = await apply(db, 'RW-A', [legacy, sharedChange(legacy, 'RW-A', 3, ['2', 'kept'], ['2', 'x'], 1), sharedChange(legacy, 'RW-A', 4, [{ real: 2 }, 'kept'], [{ real: 2 }, 'x'], 1), insert('RW-A', 5, 'legacy', [7, 'fits'])]);
  t.deepEqual(l.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 2 });
  t.deepEqual(db.prepare('SELECT id, note FROM legacy ORDER BY id').raw(true).all(), [[2, 'kept'], [7, 'fits']]);
});

test('a table is refused past 1,000 columns at the hub, as a rejection with a reason (never a failing bundle)', async (t) => {
  const db = hubDb(t);
  const cols = (from: number, n: number): Array<[string, string]> => Array.from({ length: n }, (_, i) => [`c${from + i}`, 'TEXT']);
  await apply(db, 'RW-A', [table('wide', [['id', 'INTEGER'], ...cols(0, 990)], ['id']), insert('RW-A', 1, 'wide', [1, ...Array(990).fill(null)])]);
  const r = await apply(db, 'RW-B', [table('wide', [['id', 'INTEGER'], ...cols(990, 20)], ['id']), insert('RW-B', 1, 'wide', [2, ...Array(20).fill(null)])]);
  t.is(r.counts.rejected, 1);
  t.regex((db.prepare('SELECT reason FROM ferry_rejected').get() as { reason: string }).reason, /more than 1000/);
});

test('a conflict record that holds a third facility\'s version is never overwritten, and a bundle always records its first conflict', async (t) => {
  const db = hubDb(t);
  const p = table('p', [['id', 'TEXT'], ['allergy', 'TEXT']], ['id'], 'shared');
  const at = (m: number) => NOW.getTime() - 100_000 + m;
  // Every edit below is based on the row as its own facility last had it: each one concurrent with the row the hub holds.
  const edit = (origin: string, seq: number, was: string, now: string, wall: number) => sharedChange(p, origin, seq, ['p-1', was], ['p-1', now], wall);
  await apply(db, 'RW-A', [p, insert('RW-A', 1, 'p', ['p-1', 'none'], at(10))]);
  await apply(db, 'RW-B', [p, edit('RW-B', 1, 'unknown', 'PENICILLIN', at(5))]); // older: loses, kept in the record
  await apply(db, 'RW-C', [p, edit('RW-C', 1, 'unknown', 'sulfa', at(20))]); // later: C against A
  await apply(db, 'RW-A', [p, edit('RW-A', 2, 'none', 'latex', at(30))]); // A against C now
  const open = db.prepare('SELECT current_origin, other_origin, other_row FROM ferry_conflicts WHERE resolved_at IS NULL ORDER BY id').all() as Array<{ current_origin: string; other_origin: string; other_row: string }>;
  t.is(open.length, 2);
  t.deepEqual([open[0]!.current_origin, open[0]!.other_origin], ['RW-A', 'RW-B']);
  t.regex(open[0]!.other_row, /PENICILLIN/, "B's lost version is still there for the operator");
  // A row built up to far more than a bundle's allowance: the newer edit still goes through.
  const big = 'x'.repeat(200_000);
  await apply(db, 'RW-A', [p, edit('RW-A', 3, 'latex', big, at(40))]);
  const r = await apply(db, 'RW-B', [p, edit('RW-B', 2, 'PENICILLIN', 'edited', at(50))], NOW, { conflictBytesAllowance: 1000 });
  t.deepEqual(r.counts, { applied: 0, already_present: 0, conflicts: 1, rejected: 0 });
  t.deepEqual(db.prepare("SELECT allergy FROM p WHERE id = 'p-1'").raw(true).get(), ['edited']);
});
