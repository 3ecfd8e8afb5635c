/**
 * Whose row it is (issue 14). A facility-owned table keeps each facility's rows apart, keyed by
 * the verified sender, so two health centres' patient 1 are two rows and one facility's changes
 * never reach another's; a shared table merges rows by key, and a change conflicts only when it
 * was not based on the row the hub holds (its base digest). A table record whose scope differs
 * from the hub's is refused. Bundles here are built by hand, so they can say what ferry's own
 * export never would.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type nacl from 'tweetnacl';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import { exportChanges } from '../src/facility/export.js';
import { track } from '../src/facility/track.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { makeContext, type OpContext } from '../src/node/context.js';
import { withSession } from '../src/node/node-session.js';
import { fixedPassphrase } from '../src/node/passphrase.js';
import { importDrive } from '../src/roles/import.js';
import type { SqliteHubStore } from '../src/store/sqlite/sqlite-hub-store.js';
import { jsonLine, rawBundle, sharedChange, table, writeBundle, type TestKeys } from './helpers/bundles.js';
import { makeNetwork, sql, tempDir, TEST_PASSPHRASE, type Network } from './helpers/env.js';
import { applyAs, openTestStore, rowsOf, storeKinds, storeOf, type StoreKind } from './helpers/hub-store.js';
import type { HubStore } from '../src/store/hub-store.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const EARLIER = NOW.getTime() - 3_600_000;
const openStore = async (kind: StoreKind, t: ExecutionContext) => storeOf(kind, t, NOW);
const openSqlite = (t: ExecutionContext) => openTestStore(t, NOW);
const send = (store: HubStore, origin: string, records: PayloadRecord[]) => applyAs(store, origin, records, NOW);

const insert = (t: TableRecord, origin: string, seq: number, row: EncodedValue[], wall = EARLIER): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'insert', row });
const update = (t: TableRecord, origin: string, seq: number, row: EncodedValue[], wall = EARLIER): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'update', row });
const remove = (t: TableRecord, origin: string, seq: number, key: EncodedValue[], wall = EARLIER): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'delete', key, row: null });


const patient = table('patient', [['patient_id', 'INTEGER'], ['name', 'TEXT']], ['patient_id']);
const location = table('location', [['uuid', 'TEXT'], ['name', 'TEXT']], ['uuid'], 'shared');

test('a facility-owned table keeps both facilities\' rows with the same integer keys, each with its ferry_origin, and no conflict', async (t) => {
  const { store, path } = openSqlite(t);
  const a = await send(store, 'RW-A', [patient, insert(patient, 'RW-A', 1, [1, 'Alice']), insert(patient, 'RW-A', 2, [2, 'Bob'])]);
  const b = await send(store, 'RW-B', [patient, insert(patient, 'RW-B', 1, [1, 'Claire']), insert(patient, 'RW-B', 2, [2, 'Dan'])]);
  t.deepEqual(a.counts, { applied: 2, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(b.counts, { applied: 2, already_present: 0, conflicts: 0, rejected: 0 });
  const rows = await rowsOf(store, 'patient');
  t.deepEqual(rows, [
    { ferry_origin: 'RW-A', patient_id: 1, name: 'Alice' },
    { ferry_origin: 'RW-A', patient_id: 2, name: 'Bob' },
    { ferry_origin: 'RW-B', patient_id: 1, name: 'Claire' },
    { ferry_origin: 'RW-B', patient_id: 2, name: 'Dan' },
  ]);
  t.deepEqual(Object.keys(rows[0]!), ['ferry_origin', 'patient_id', 'name'], 'ferry_origin first');
  t.is(await store.openConflictCount(), 0);
  t.deepEqual(await store.rowsByFacility(), [
    { table: 'patient', scope: 'facility', origin: 'RW-A', rows: 2 },
    { table: 'patient', scope: 'facility', origin: 'RW-B', rows: 2 },
  ]);
  t.deepEqual((await store.tables()).map((x) => [x.name, x.scope, x.key]), [['patient', 'facility', ['patient_id']]]);
  t.deepEqual(sql(path, "SELECT name, pk FROM pragma_table_info('patient')"), [
    { name: 'ferry_origin', pk: 1 },
    { name: 'patient_id', pk: 2 },
    { name: 'name', pk: 0 },
  ], 'keyed by (ferry_origin, key) in the hub database itself');
  t.deepEqual(sql(path, 'SELECT key, origin FROM ferry_rows ORDER BY key'), [
    { key: '["RW-A",1]', origin: 'RW-A' },
    { key: '["RW-A",2]', origin: 'RW-A' },
    { key: '["RW-B",1]', origin: 'RW-B' },
    { key: '["RW-B",2]', origin: 'RW-B' },
  ]);
});

for (const kind of storeKinds()) {
  test(`${kind}: updates and deletes from one facility touch only its own rows, and a late older change of its own is not written`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-A', [patient, insert(patient, 'RW-A', 1, [1, 'Alice']), insert(patient, 'RW-A', 2, [2, 'Bob'])]);
  await send(store, 'RW-B', [patient, insert(patient, 'RW-B', 1, [1, 'Claire']), insert(patient, 'RW-B', 2, [2, 'Dan'])]);
  // A's later clock and larger seqs would have won any conflict: there is none to win.
  const r = await send(store, 'RW-A', [patient, update(patient, 'RW-A', 5, [1, 'Alice K'], NOW.getTime()), remove(patient, 'RW-A', 6, [2], NOW.getTime())]);
  t.deepEqual(r.counts, { applied: 2, already_present: 0, conflicts: 0, rejected: 0 });
  // Seqs 3 and 4 were in a bundle that arrives after 5 and 6: older, counted, not written.
  const late = await send(store, 'RW-A', [patient, update(patient, 'RW-A', 3, [1, 'stale'], EARLIER), insert(patient, 'RW-A', 4, [2, 'Bob again'], EARLIER)]);
  t.deepEqual(late.counts, { applied: 2, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(await rowsOf(store, 'patient'), [
    { ferry_origin: 'RW-A', patient_id: 1, name: 'Alice K' },
    { ferry_origin: 'RW-B', patient_id: 1, name: 'Claire' },
    { ferry_origin: 'RW-B', patient_id: 2, name: 'Dan' },
  ]);
  t.is(await store.openConflictCount(), 0);
  });
}

test('a bundle cannot name another facility: whatever its records say, a row is always its verified sender\'s', async (t) => {
  const { store, path } = openSqlite(t);
  await send(store, 'RW-B', [patient, insert(patient, 'RW-B', 1, [1, 'Claire']), insert(patient, 'RW-B', 2, [2, 'Dan'])]);
  // Verified as RW-A; its records say RW-B, spell the table in another case, and one declares ferry_origin itself.
  const upper = table('PATIENT', [['PATIENT_ID', 'INTEGER'], ['NAME', 'TEXT']], ['PATIENT_ID']);
  const withOrigin = table('patient', [['ferry_origin', 'TEXT'], ['patient_id', 'INTEGER'], ['name', 'TEXT']], ['ferry_origin', 'patient_id']);
  const r = await send(store, 'RW-A', [
    upper,
    update(upper, 'RW-B', 1, [1, 'Mallory']),
    remove(upper, 'RW-B', 2, [2]),
    withOrigin,
    update(withOrigin, 'RW-B', 3, ['RW-B', 1, 'Mallory']),
  ]);
  t.deepEqual(r.counts, { applied: 2, already_present: 0, conflicts: 0, rejected: 1 });
  t.regex(sql<{ reason: string }>(path, 'SELECT reason FROM ferry_rejected')[0]!.reason, /column name ferry_origin is reserved/);
  t.deepEqual(await rowsOf(store, 'patient'), [
    { ferry_origin: 'RW-A', patient_id: 1, name: 'Mallory' },
    { ferry_origin: 'RW-B', patient_id: 1, name: 'Claire' },
    { ferry_origin: 'RW-B', patient_id: 2, name: 'Dan' },
  ], "RW-B's rows as RW-B sent them; the update made RW-A's own row and the delete found none of RW-A's");
  t.deepEqual(await store.appliedRanges('RW-B'), [[1, 2]], "nothing counted as RW-B's");
});

for (const kind of storeKinds()) {
  test(`${kind}: identical inserts of a shared row from two facilities are agreement: one row, no conflict`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-A', [location, insert(location, 'RW-A', 1, ['loc-1', 'Kigali'])]);
  const b = await send(store, 'RW-B', [location, insert(location, 'RW-B', 1, ['loc-1', 'Kigali'], NOW.getTime())]);
  t.deepEqual(b.counts, { applied: 0, already_present: 1, conflicts: 0, rejected: 0 });
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Kigali' }], 'no ferry_origin: the row is everyone\'s');
  t.deepEqual(await store.rowsByFacility(), [{ table: 'location', scope: 'shared', origin: null, rows: 1 }]);
  t.deepEqual((await store.tables()).map((x) => x.scope), ['shared']);
  });
}

for (const kind of storeKinds()) {
  test(`${kind}: a facility editing a shared row another facility sent, based on that row, applies cleanly whatever the clocks`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-B', [location, insert(location, 'RW-B', 1, ['loc-1', 'Kigali'], NOW.getTime())]);
  // A's clock is an hour behind B's: under a rule by origin and clock this lost as a conflict.
  const a = await send(store, 'RW-A', [location, sharedChange(location, 'RW-A', 1, ['loc-1', 'Kigali'], ['loc-1', 'Kigali City'], EARLIER)]);
  t.deepEqual(a.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
  // And B edits A's version, based on it: clean again.
  const b = await send(store, 'RW-B', [location, sharedChange(location, 'RW-B', 2, ['loc-1', 'Kigali City'], ['loc-1', 'Kigali City Centre'], EARLIER - 1000)]);
  t.deepEqual(b.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Kigali City Centre' }]);
  t.is(await store.openConflictCount(), 0);
  });
}

for (const kind of storeKinds()) for (const first of ['RW-A', 'RW-B']) {
  test(`${kind}: two facilities editing a shared row from the same base are exactly one conflict (${first}'s edit arrives first)`, async (t) => {
    const { store } = await openStore(kind, t);
    // A row a third facility sent, which A and B both hold as it was sent.
    await send(store, 'RW-C', [location, insert(location, 'RW-C', 1, ['loc-1', 'Kigali'])]);
    const edits: Record<string, PayloadRecord[]> = {
      'RW-A': [location, sharedChange(location, 'RW-A', 1, ['loc-1', 'Kigali'], ['loc-1', 'Kigali (A)'], NOW.getTime() - 2000)],
      'RW-B': [location, sharedChange(location, 'RW-B', 1, ['loc-1', 'Kigali'], ['loc-1', 'Kigali (B)'], NOW.getTime() - 1000)],
    };
    const second = first === 'RW-A' ? 'RW-B' : 'RW-A';
    const r1 = await send(store, first, edits[first]!);
    const r2 = await send(store, second, edits[second]!);
    t.deepEqual([r1.counts.conflicts, r2.counts.conflicts], [0, 1], 'the first edit was based on the row held; the second was not');
    const conflicts = await store.conflicts({});
    t.is(conflicts.length, 1);
    t.deepEqual([conflicts[0]!.current.origin, conflicts[0]!.current.row], ['RW-B', { uuid: 'loc-1', name: 'Kigali (B)' }], 'the later clock is kept, whichever came first');
    t.deepEqual([conflicts[0]!.other.origin, conflicts[0]!.other.row], ['RW-A', { uuid: 'loc-1', name: 'Kigali (A)' }]);
    t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Kigali (B)' }]);
  });
}

for (const kind of storeKinds()) {
  test(`${kind}: a facility's own later edit of a shared row applies even when its earlier edit arrives after it: a facility never conflicts with itself`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-C', [location, insert(location, 'RW-C', 1, ['loc-1', 'Kigali'])]);
  const edit = (seq: number, was: string, now: string) => sharedChange(location, 'RW-A', seq, ['loc-1', was], ['loc-1', now], EARLIER + seq);
  await send(store, 'RW-A', [location, edit(1, 'Kigali', 'Kigali 1')]);
  // Seq 3 was based on seq 2, whose bundle is still on another drive.
  const ahead = await send(store, 'RW-A', [location, edit(3, 'Kigali 2', 'Kigali 3')]);
  const behind = await send(store, 'RW-A', [location, edit(2, 'Kigali 1', 'Kigali 2')]);
  t.deepEqual([ahead.counts, behind.counts], [
    { applied: 1, already_present: 0, conflicts: 0, rejected: 0 },
    { applied: 1, already_present: 0, conflicts: 0, rejected: 0 },
  ]);
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Kigali 3' }]);
  t.is(await store.openConflictCount(), 0);
  });
}

for (const kind of storeKinds()) {
  test(`${kind}: a delete of a shared row based on a version the hub no longer holds is a conflict; one based on the held row applies`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-B', [location, insert(location, 'RW-B', 1, ['loc-1', 'Kigali']), insert(location, 'RW-B', 2, ['loc-2', 'Huye'])]);
  await send(store, 'RW-A', [location, sharedChange(location, 'RW-A', 1, ['loc-1', 'Kigali'], ['loc-1', 'Kigali City'], EARLIER + 1000)]);
  // B deletes loc-1 as it last had it, unaware of A's edit: both are kept on record.
  const stale = await send(store, 'RW-B', [location, sharedChange(location, 'RW-B', 3, ['loc-1', 'Kigali'], null, NOW.getTime())]);
  t.deepEqual(stale.counts, { applied: 0, already_present: 0, conflicts: 1, rejected: 0 });
  const [c] = await store.conflicts({});
  t.deepEqual([c!.current.origin, c!.current.row, c!.other.origin, c!.other.row], ['RW-B', null, 'RW-A', { uuid: 'loc-1', name: 'Kigali City' }]);
  // A deletes loc-2 as B sent it: clean.
  const clean = await send(store, 'RW-A', [location, sharedChange(location, 'RW-A', 2, ['loc-2', 'Huye'], null, EARLIER)]);
  t.deepEqual(clean.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(await rowsOf(store, 'location'), []);
  t.is(await store.openConflictCount(), 1);
  });
}

test('a table whose scope differs from the hub\'s is refused for the bundle: its changes are rejected and wait, the bundle\'s other tables apply', async (t) => {
  const { store, path } = openSqlite(t);
  await send(store, 'RW-A', [location, insert(location, 'RW-A', 1, ['loc-1', 'Kigali']), patient, insert(patient, 'RW-A', 2, [1, 'Alice'])]);
  const locationAsOwned = table('location', [['uuid', 'TEXT'], ['name', 'TEXT']], ['uuid'], 'facility');
  const patientAsShared = table('patient', [['patient_id', 'INTEGER'], ['name', 'TEXT']], ['patient_id'], 'shared');
  const visit = table('visit', [['visit_id', 'INTEGER'], ['patient_id', 'INTEGER']], ['visit_id']);
  const r = await send(store, 'RW-B', [
    locationAsOwned,
    insert(locationAsOwned, 'RW-B', 1, ['loc-1', 'Kigali (B)']),
    patientAsShared,
    insert(patientAsShared, 'RW-B', 2, [1, 'Claire']),
    visit,
    insert(visit, 'RW-B', 3, [1, 1]),
  ]);
  t.deepEqual(r.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 2 });
  t.deepEqual(r.appliedRanges, [[3, 3]], 'the refused changes are not held: the ack leaves them pending at the facility');
  const reasons = sql<{ seq: number; reason: string }>(path, 'SELECT seq, reason FROM ferry_rejected ORDER BY seq');
  t.regex(reasons[0]!.reason, /^table location is shared at this hub but facility-owned at the sender/);
  t.regex(reasons[1]!.reason, /^table patient is facility-owned at this hub but shared at the sender/);
  for (const { reason } of reasons) t.regex(reason, /docs\/OPERATIONS\.md "Changing a table's scope"/);
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Kigali' }]);
  t.deepEqual(await rowsOf(store, 'patient'), [{ ferry_origin: 'RW-A', patient_id: 1, name: 'Alice' }]);
  t.deepEqual((await store.tables()).map((x) => [x.name, x.scope]), [['location', 'shared'], ['patient', 'facility'], ['visit', 'facility']], 'scopes unchanged');
});

test('a table someone else made in the hub database is adopted as facility-owned only when empty and no unique key leaves out ferry_origin', async (t) => {
  const { store, path } = openSqlite(t);
  sql(path, 'CREATE TABLE clinic (id INTEGER, name TEXT)');
  sql(path, 'CREATE TABLE keyed (id INTEGER PRIMARY KEY, name TEXT)');
  sql(path, 'CREATE TABLE named (id INTEGER, name TEXT UNIQUE)');
  sql(path, 'CREATE TABLE filled (id INTEGER, name TEXT)');
  sql(path, "INSERT INTO filled VALUES (1, 'from elsewhere')");
  sql(path, 'CREATE TABLE owned (id TEXT, name TEXT, ferry_origin TEXT)');
  const [clinic, keyed, named, filled] = ['clinic', 'keyed', 'named', 'filled'].map((name) => table(name, [['id', 'INTEGER'], ['name', 'TEXT']], ['id']));
  const owned = table('owned', [['id', 'TEXT'], ['name', 'TEXT']], ['id'], 'shared');
  const a = await send(store, 'RW-A', [clinic, insert(clinic, 'RW-A', 1, [1, 'A']), keyed, insert(keyed, 'RW-A', 2, [1, 'A']), named, insert(named, 'RW-A', 3, [1, 'same name']), filled, insert(filled, 'RW-A', 4, [1, 'A']), owned, insert(owned, 'RW-A', 5, ['o-1', 'A'])]);
  t.deepEqual(a.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 4 });
  const b = await send(store, 'RW-B', [clinic, insert(clinic, 'RW-B', 1, [1, 'B'])]);
  t.deepEqual(b.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(await rowsOf(store, 'clinic'), [{ ferry_origin: 'RW-A', id: 1, name: 'A' }, { ferry_origin: 'RW-B', id: 1, name: 'B' }]);
  const reasons = sql<{ tbl: string; reason: string }>(path, 'SELECT tbl, reason FROM ferry_rejected ORDER BY seq').map((r) => `${r.tbl}: ${r.reason}`);
  t.regex(reasons[0]!, /^keyed: .*unique key \(id\) without ferry_origin/);
  t.regex(reasons[1]!, /^named: .*unique key \(name\) without ferry_origin/);
  t.regex(reasons[2]!, /^filled: .*already holds rows/);
  t.regex(reasons[3]!, /^owned: .*ferry_origin column.*shared/);
  for (const name of ['keyed', 'named', 'filled']) {
    t.false(sql<{ name: string }>(path, 'SELECT name FROM pragma_table_info(?)', name).some((c) => c.name === 'ferry_origin'), `${name} is left as it was`);
  }
  t.deepEqual((await store.tables()).map((x) => [x.name, x.scope]), [['clinic', 'facility']]);
});

async function realKeys(ctx: OpContext): Promise<TestKeys> {
  const k = await withSession(makeContext(ctx.home, { passphrase: fixedPassphrase(TEST_PASSPHRASE) }), undefined, 'test', (s) => s.nodeKeys());
  const sign: nacl.SignKeyPair = { publicKey: k.identity.signingKey, secretKey: k.signingSecretKey };
  const box: nacl.BoxKeyPair = { publicKey: k.identity.encryptionKey, secretKey: k.encryptionSecretKey };
  return { id: k.identity.id, sign, box, fingerprint: k.identity.fingerprint };
}

function bundlesDir(n: Network): string {
  const dir = join(n.drive, 'FERRY', 'bundles');
  mkdirSync(dir, { recursive: true });
  return dir;
}

const hubImport = async (n: Network) => (await importDrive(n.hub, { from: n.drive })) as HubImportResult;

test('a version 1 bundle (no scope) is facility-owned: two facilities\' rows with the same key are both kept', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  const hub = await realKeys(n.hub);
  for (const [i, s] of n.sites.entries()) {
    const keys = await realKeys(s.ctx);
    const v1Table = { kind: 'table', table: 'patient', columns: [{ name: 'patient_id', type: 'INTEGER' }, { name: 'name', type: 'TEXT' }], key: ['patient_id'] };
    const change = { kind: 'change', origin: s.id, seq: 1, clock: [EARLIER, 0], table: 'patient', op: 'insert', row: [1, `patient 1 of ${s.id}`] };
    const m = rawBundle(join(n.root, `v1-${i}.tmp`), jsonLine(v1Table) + jsonLine(change), { sender: keys, recipient: hub, manifest: (x) => ({ ...x, bundle_id: `${i + 1}`.repeat(32), created: new Date().toISOString() }) });
    t.is(m.version, 1);
    renameSync(join(n.root, `v1-${i}.tmp`), join(bundlesDir(n), `${s.id}.v1.ferry-bundle`));
  }
  const r = await hubImport(n);
  t.deepEqual(r.bundles.map((b) => [b.outcome, b.counts?.applied, b.counts?.conflicts]), [['applied', 1, 0], ['applied', 1, 0]]);
  t.deepEqual(sql(n.hubDb, 'SELECT scope FROM ferry_tables'), [{ scope: 'facility' }]);
  t.deepEqual(sql(n.hubDb, 'SELECT ferry_origin, patient_id, name FROM patient ORDER BY 1'), [
    { ferry_origin: 'RW-001', patient_id: 1, name: 'patient 1 of RW-001' },
    { ferry_origin: 'RW-002', patient_id: 1, name: 'patient 1 of RW-002' },
  ]);
});

test('end to end: two health centres\' patient 1 are two rows at the hub, and a crafted bundle from one cannot touch the other\'s', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  const names = [['Alice', 'Bob'], ['Claire', 'Dan']];
  for (const [i, s] of n.sites.entries()) {
    sql(s.db, 'CREATE TABLE patient (patient_id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT, name TEXT)');
    for (const name of names[i]!) sql(s.db, 'INSERT INTO patient (uuid, name) VALUES (?, ?)', `${s.id}-${name}`, name);
    await track(s.ctx, { tables: ['patient'] });
    await exportChanges(s.ctx, { to: n.drive });
  }
  const first = await hubImport(n);
  t.deepEqual(first.bundles.map((b) => [b.outcome, b.counts?.conflicts]), [['applied', 0], ['applied', 0]]);
  const theirs = () => sql(n.hubDb, "SELECT patient_id, uuid, name FROM patient WHERE ferry_origin = 'RW-002' ORDER BY patient_id");
  const before = theirs();
  t.deepEqual(before, sql(n.sites[1]!.db, 'SELECT patient_id, uuid, name FROM patient ORDER BY patient_id'));
  // What an operator sees with sqlite3 on the hub: both patient 1s, each with its facility.
  t.deepEqual(sql<{ row: string }>(n.hubDb, "SELECT ferry_origin || ':' || patient_id || ':' || name AS row FROM patient ORDER BY ferry_origin, patient_id").map((r) => r.row), ['RW-001:1:Alice', 'RW-001:2:Bob', 'RW-002:1:Claire', 'RW-002:2:Dan']);

  // RW-001's own keys sign every crafted bundle; RW-001 sent seqs 1-2 so far.
  const mallory = await realKeys(n.sites[0]!.ctx);
  const hub = await realKeys(n.hub);
  const cols: Array<[string, string]> = [['patient_id', 'INTEGER'], ['uuid', 'TEXT'], ['name', 'TEXT']];
  const p = table('patient', cols, ['patient_id']);
  const crafted: Array<{ name: string; records: PayloadRecord[]; sender?: TestKeys }> = [
    // the change says it is RW-002's
    { name: 'origin-member', records: [p, update(p, 'RW-002', 3, [1, 'RW-002-Claire', 'Mallory'])] },
    // the manifest says RW-002 sent it, signed with RW-001's key
    { name: 'sender-claimed', records: [p, update(p, 'RW-002', 3, [1, 'RW-002-Claire', 'Mallory'])], sender: { ...mallory, id: 'RW-002' } },
    // the record declares ferry_origin as one of its columns
    { name: 'origin-column', records: [table('patient', [['ferry_origin', 'TEXT'], ...cols], ['ferry_origin', 'patient_id']), update(p, 'RW-001', 3, ['RW-002', 1, 'x', 'Mallory'] as EncodedValue[])] },
    // the table claimed as shared, so that keys would meet
    { name: 'claimed-shared', records: [table('patient', cols, ['patient_id'], 'shared'), sharedChange(table('patient', cols, ['patient_id'], 'shared'), 'RW-001', 3, [1, 'RW-002-Claire', 'Claire'], [1, 'RW-002-Claire', 'Mallory'], Date.now())] },
    // plain changes of its own, with colliding ids and a later clock
    { name: 'own-ids', records: [p, update(p, 'RW-001', 4, [1, 'RW-001-Alice', 'Mallory'], Date.now()), remove(p, 'RW-001', 5, [2], Date.now())] },
  ];
  for (const [i, c] of crafted.entries()) {
    const tmp = join(n.root, `${c.name}.tmp`);
    await writeBundle(tmp, c.records, { sender: c.sender ?? mallory, recipient: hub, seed: 500 + i, created: new Date() });
    renameSync(tmp, join(bundlesDir(n), `RW-001.${c.name}.ferry-bundle`));
  }
  const r = await hubImport(n);
  const byFile = Object.fromEntries(r.bundles.map((b) => [b.file.split('.').at(-2), b]));
  t.is(byFile['origin-member']!.outcome, 'refused');
  t.is(byFile['sender-claimed']!.outcome, 'refused');
  t.is(byFile['origin-column']!.outcome, 'refused');
  t.like(byFile['claimed-shared'], { outcome: 'applied', counts: { applied: 0, already_present: 0, conflicts: 0, rejected: 1 } });
  t.like(byFile['own-ids'], { outcome: 'applied', counts: { applied: 2, already_present: 0, conflicts: 0, rejected: 0 } });
  t.deepEqual(theirs(), before, "RW-002's rows are as RW-002 sent them");
  t.deepEqual(sql(n.hubDb, "SELECT patient_id, name FROM patient WHERE ferry_origin = 'RW-001'"), [{ patient_id: 1, name: 'Mallory' }], 'RW-001 changed its own rows only');
  t.deepEqual(sql(n.hubDb, 'SELECT count(*) AS n FROM ferry_conflicts'), [{ n: 0 }]);
  t.deepEqual(sql(n.hubDb, "SELECT first_seq, last_seq FROM ferry_applied WHERE origin = 'RW-002'"), [{ first_seq: 1, last_seq: 2 }]);
});
