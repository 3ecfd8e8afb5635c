/**
 * A hostile review of issue 14 ("Whose row is it"): bundles built by hand as an enrolled but
 * compromised facility, EMR schemas in odd states, and operators running migrate/rescope on odd
 * hub databases. Each test names the finding it shows, each fixed (the one left open, a first
 * facility deciding a table's scope, is in docs/SECURITY.md's limitations).
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { lastSeq, openEmrDb } from '../src/capture/change-log.js';
import { pendingChanges } from '../src/capture/pending-changes.js';
import { refreshTracking, trackTable } from '../src/capture/track.js';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import { NodeState } from '../src/store/node-state.js';
import { SqliteHubStore } from '../src/store/sqlite/sqlite-hub-store.js';
import { rescopeTable } from '../src/store/sqlite/rescope.js';
import { registerScopeFunctions } from '../src/store/sqlite/table-scope.js';
import { sharedChange, table } from './helpers/bundles.js';
import { sql, tempDir } from './helpers/env.js';
import { applyAs, openTestStore, rowsOf, storeKinds, storeOf, type StoreKind } from './helpers/hub-store.js';
import type { HubStore } from '../src/store/hub-store.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const EARLIER = NOW.getTime() - 3_600_000;
const openStore = async (kind: StoreKind, t: ExecutionContext) => storeOf(kind, t, NOW);
const openSqlite = (t: ExecutionContext) => openTestStore(t, NOW);
const send = (store: HubStore, origin: string, records: PayloadRecord[]) => applyAs(store, origin, records, NOW);

const insert = (t: TableRecord, origin: string, seq: number, row: EncodedValue[], wall = EARLIER): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'insert', row });


const location = table('location', [['uuid', 'TEXT'], ['name', 'TEXT']], ['uuid'], 'shared');
/** The same shared table at a facility whose EMR has one column more (upgraded first, or a local column). */
const locationPlus = table('location', [['uuid', 'TEXT'], ['name', 'TEXT'], ['retired', 'INTEGER']], ['uuid'], 'shared');

// Finding (fixed): a column one facility sends and another does not track makes every honest edit of
// the other facility to rows holding it a conflict, forever (basedOn requires such a column to be
// NULL at the hub). A staggered EMR upgrade (ALTER TABLE location ADD COLUMN retired DEFAULT 0 at
// one site first), or a column dropped everywhere (its old values stay at the hub), turns "A edits
// a row B sent unchanged applies cleanly" into a conflict per edit.
for (const kind of storeKinds()) {
  test(`${kind}: a facility that does not track a column another one sends still edits a shared row cleanly when based on it`, async (t) => {
  const { store } = await openStore(kind, t);
  // B upgraded first: its re-snapshot fills retired.
  await send(store, 'RW-B', [locationPlus, insert(locationPlus, 'RW-B', 1, ['loc-1', 'Ward 1', 0], EARLIER)]);
  // A (not upgraded yet) renames the ward, based on the row exactly as the hub holds it over A's columns.
  const a = await send(store, 'RW-A', [location, sharedChange(location, 'RW-A', 1, ['loc-1', 'Ward 1'], ['loc-1', 'Maternity'], EARLIER + 1000)]);
  t.deepEqual(a.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 }, 'based on the held row: clean');
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Maternity', retired: 0 }], "B's column kept, A's edit applied");
  });
}

// Finding (fixed): a facility's own older change arriving late (its bundle was on another drive; the
// hub's own tests show this happens) after another facility built cleanly on the facility's
// NEWER change is taken as a conflict against that facility, and wins when its clock is later:
// the shared row goes back to a state its own writer had already left, and the other
// facility's edit is only in a conflict record.
for (const kind of storeKinds()) {
  test(`${kind}: a facility's stale change arriving late never replaces another facility's edit that was based on the facility's newer change`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-C', [location, insert(location, 'RW-C', 1, ['loc-1', 'Kigali'], EARLIER - 10_000)]);
  const edit = (seq: number, was: string, now: string, wall: number) => sharedChange(location, 'RW-A', seq, ['loc-1', was], ['loc-1', now], wall);
  // A: seq 1 and seq 3 arrive; seq 2's bundle is still on another drive.
  await send(store, 'RW-A', [location, edit(1, 'Kigali', 'Kigali 1', EARLIER)]);
  await send(store, 'RW-A', [location, edit(3, 'Kigali 2', 'Kigali 3', EARLIER + 2000)]);
  // B edits A's newest version, based on it: clean. B's clock is a minute behind A's.
  const b = await send(store, 'RW-B', [location, sharedChange(location, 'RW-B', 1, ['loc-1', 'Kigali 3'], ['loc-1', 'Kigali B'], EARLIER - 60_000)]);
  t.is(b.counts.applied, 1);
  // A's seq 2 finally arrives: older than seq 3, which B's edit already built on.
  const late = await send(store, 'RW-A', [location, edit(2, 'Kigali 1', 'Kigali 2', EARLIER + 1000)]);
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Kigali B' }], "B's edit, based on A's latest, stays");
  t.is(late.counts.conflicts, 0, 'a change its own writer had superseded is no conflict');
  });
}

/** A facility's EMR, tracked through the capture layer itself: what its export would send, as records (through JSON, as a bundle carries them). */
function emr(t: ExecutionContext, origin: string, schema: string) {
  const path = join(tempDir(t), `${origin}.db`);
  const raw = new Database(path);
  raw.exec(schema);
  raw.close();
  const db = openEmrDb(path);
  t.teardown(() => db.close());
  let sent = 0;
  return {
    db,
    /** every change captured since the last call, as one bundle's records */
    take(): PayloadRecord[] {
      const out: PayloadRecord[] = [];
      const described = new Set<string>();
      for (const p of pendingChanges(db, origin, lastSeq(db), () => false, sent)) {
        if (!described.has(p.table.table)) {
          described.add(p.table.table);
          out.push(p.table);
        }
        out.push(JSON.parse(JSON.stringify(p.change)) as PayloadRecord);
      }
      sent = lastSeq(db);
      return out;
    },
  };
}

const ITEM = `CREATE TABLE item (uuid TEXT PRIMARY KEY, price REAL, big INTEGER, data BLOB, code NUMERIC, note TEXT, qty);
INSERT INTO item VALUES ('i-1', 3.0, 1152921504606846976, x'', '007', 'first', 2.5), ('i-2', -0.0, -9007199254740993, x'00ff', 1.5, NULL, 'text');`;

for (const kind of storeKinds()) {
  test(`${kind}: values of every storage class digest the same at the facility (its old image) and at the hub (the row it holds): an edit based on the row applies cleanly`, async (t) => {
  const { store } = await openStore(kind, t);
  const a = emr(t, 'RW-A', ITEM);
  const b = emr(t, 'RW-B', ITEM);
  trackTable(a.db, 'item', ['uuid'], EARLIER, NOW.toISOString(), 'shared');
  trackTable(b.db, 'item', ['uuid'], EARLIER + 5000, NOW.toISOString(), 'shared');
  t.is((await send(store, 'RW-A', a.take())).counts.applied, 2);
  // B holds the same rows: agreement, and B's later clock makes B the rows' version.
  t.deepEqual((await send(store, 'RW-B', b.take())).counts, { applied: 0, already_present: 2, conflicts: 0, rejected: 0 });
  // A column added at A (B holds the rows' version, so the base is checked): the re-snapshot is
  // based on the row as the hub last had it from A, the new column NULL.
  a.db.exec('ALTER TABLE item ADD COLUMN ward TEXT');
  a.db.exec("UPDATE item SET ward = 'W1'");
  refreshTracking(a.db, EARLIER + 10_000);
  t.deepEqual((await send(store, 'RW-A', a.take())).counts, { applied: 4, already_present: 0, conflicts: 0, rejected: 0 }, 'the UPDATE (2) and the re-snapshot (2)');
  // B edits, based on its rows, which the hub holds unchanged over B's columns (A changed only the
  // column B does not have): clean, and A's column stays.
  b.db.exec("UPDATE item SET note = 'edited at B' WHERE uuid = 'i-1'");
  t.deepEqual((await send(store, 'RW-B', b.take())).counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
  t.like((await rowsOf(store, 'item')).find((r) => r.uuid === 'i-1'), { note: 'edited at B', ward: 'W1' });
  // B edits again, A edits the same row from the version before B's: A's base is stale, a conflict.
  a.db.exec("UPDATE item SET note = 'edited at A' WHERE uuid = 'i-1'");
  t.is((await send(store, 'RW-A', a.take())).counts.conflicts, 1);
  });
}

// Finding (fixed): `conflicts resolve --keep other` on a record whose other side is the hub's own
// earlier override (origin the hub, seq 0) says "kept other (HUB-1)". When the table became
// facility-owned (rescope, or migrate of an old hub), that record's other_origin was taken as the
// row's facility: the row went to the hub itself, a "facility" HUB-1 that sent nothing, beside the
// facility whose row it is.
test('after two overrides of one shared row, rescope to facility-owned gives every row to a facility, never to the hub itself', async (t) => {
  const { store, path } = openSqlite(t);
  await send(store, 'RW-A', [location, insert(location, 'RW-A', 1, ['loc-1', 'Ward A'], EARLIER)]);
  await send(store, 'RW-B', [location, insert(location, 'RW-B', 1, ['loc-1', 'Ward B'], EARLIER + 1000)]);
  const keep = async (origin: string) => {
    const open = (await store.conflicts({})).at(-1)!;
    const o = await store.resolveConflict(open.id, 'other', { at: NOW, hubId: 'HUB-1', resolution: `kept other (${origin === 'other' ? open.other.origin : origin})` });
    t.true(o.resolved);
  };
  await keep('other'); // the operator keeps A's row over B's: the hub's own version now
  // B edits its row again (not based on the hub's): a conflict with the hub's override, which B's later clock wins.
  await send(store, 'RW-B', [location, sharedChange(location, 'RW-B', 2, ['loc-1', 'Ward B'], ['loc-1', 'Ward B2'], NOW.getTime() + 60_000)]);
  await keep('other'); // and the operator keeps the hub's version (A's row) again
  await store.close();
  const db = new Database(path);
  registerScopeFunctions(db);
  rescopeTable(db, 'location', 'facility', NOW.toISOString());
  const owners = db.prepare('SELECT ferry_origin, name FROM location ORDER BY 1').all();
  db.close();
  t.deepEqual(owners, [
    { ferry_origin: 'RW-A', name: 'Ward A' },
    { ferry_origin: 'RW-B', name: 'Ward B2' },
  ]);
});

// Recheck of "Shared apply" (9dcd311). The table of those three findings: a patient row RW-B
// sent, with a value (the allergy) a compromised RW-M never saw.
const patients = table('patients', [['Id', 'TEXT'], ['name', 'TEXT'], ['allergy', 'TEXT']], ['Id'], 'shared');
const patientsKeyOnly = table('patients', [['Id', 'TEXT']], ['Id'], 'shared');

// Finding (fixed): a facility follows its own version without a base check when its earlier change
// described every column this one does, and a key-only delete describes only the key. A key-only
// update (clean: its base is the digest of the key alone) makes RW-M the row's version with a
// key-only history; its key-only delete then follows that version and removes the whole row,
// RW-B's values with it, with no conflict recorded: knowing a key was enough to delete the row.
for (const kind of storeKinds()) {
  test(`${kind}: a facility that knows only a shared row's key cannot delete it unrecorded by first taking its version with a key-only update`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-B', [patients, insert(patients, 'RW-B', 1, ['p-1', 'Alice', 'penicillin'], EARLIER)]);
  const take = await send(store, 'RW-M', [patientsKeyOnly, sharedChange(patientsKeyOnly, 'RW-M', 1, ['p-1'], ['p-1'], EARLIER + 1000)]);
  t.is(take.counts.applied, 1, 'a key-only update changes nothing and is clean');
  const del = await send(store, 'RW-M', [patientsKeyOnly, sharedChange(patientsKeyOnly, 'RW-M', 2, ['p-1'], null, EARLIER + 2000)]);
  t.is(del.counts.conflicts, 1, 'the delete never saw the allergy: recorded as a conflict');
  t.true((await store.conflicts({})).some((c) => JSON.stringify(c).includes('penicillin')), "RW-B's row is kept in the record");
  });
}

// Finding (fixed): a change of a facility that may not follow its own version (its earlier change
// described fewer columns) meets that version as a conflict with itself, and conflict records are
// updated in place per row and pair of origins: the pair (RW-M, RW-M). Alternating key-only
// updates and full updates with any base, RW-M overwrites RW-B's values, and its second such
// conflict replaces the record that held them: the values are gone from the hub altogether.
for (const kind of storeKinds()) {
  test(`${kind}: a facility's conflicts with its own version never replace the record that holds another facility's values`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-B', [patients, insert(patients, 'RW-B', 1, ['p-1', 'Alice', 'penicillin'], EARLIER)]);
  const keyOnly = (seq: number) => sharedChange(patientsKeyOnly, 'RW-M', seq, ['p-1'], ['p-1'], EARLIER + seq * 1000);
  const overwrite = (seq: number, allergy: string) => sharedChange(patients, 'RW-M', seq, ['p-1', 'never', 'seen'], ['p-1', 'Alice', allergy], EARLIER + seq * 1000);
  await send(store, 'RW-M', [patientsKeyOnly, keyOnly(1)]);
  t.is((await send(store, 'RW-M', [patients, overwrite(2, 'none')])).counts.conflicts, 1);
  await send(store, 'RW-M', [patientsKeyOnly, keyOnly(3)]);
  t.is((await send(store, 'RW-M', [patients, overwrite(4, 'none at all')])).counts.conflicts, 1);
  t.true((await store.conflicts({})).some((c) => JSON.stringify(c).includes('penicillin')), "RW-B's allergy is still in a conflict record");
  });
}

// Finding (fixed): a facility's own change arriving before its earlier one that first described a
// new column (the re-snapshot after ALTER TABLE ADD COLUMN, on another drive) cannot follow its own
// version, whose change described fewer columns, and is based on the re-snapshot the hub has not
// seen: a conflict of the facility with itself, for an operator to resolve, though nobody else
// ever wrote the row and the column was empty at the hub.
for (const kind of storeKinds()) {
  test(`${kind}: a facility's own changes arriving out of order after it added a column are no conflict`, async (t) => {
  const { store } = await openStore(kind, t);
  await send(store, 'RW-A', [location, insert(location, 'RW-A', 1, ['loc-1', 'Ward 1'], EARLIER)]);
  // seq 2: the re-snapshot after the upgrade (old image: the new column NULL); seq 3: an edit after it.
  const resnapshot = sharedChange(locationPlus, 'RW-A', 2, ['loc-1', 'Ward 1', null], ['loc-1', 'Ward 1', 0], EARLIER + 1000);
  const edit = sharedChange(locationPlus, 'RW-A', 3, ['loc-1', 'Ward 1', 0], ['loc-1', 'Maternity', 1], EARLIER + 2000);
  const first = await send(store, 'RW-A', [locationPlus, edit]);
  const late = await send(store, 'RW-A', [locationPlus, resnapshot]);
  t.is(first.counts.conflicts + late.counts.conflicts, 0);
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Maternity', retired: 1 }]);
  });
}

// Finding (fixed): `ferry rescope` to shared (and so a table a facility owned) left
// ferry_shared_rows empty: no facility could follow its own version of any row, so its own changes
// arriving out of order (the later bundle first, from another drive) were a conflict of the
// facility with itself, for every row it had, though each row was its own.
test("after rescope to shared, a facility's own changes to its rows arriving out of order are no conflict", async (t) => {
  const { store, path } = openSqlite(t);
  const owned = table('location', [['uuid', 'TEXT'], ['name', 'TEXT']], ['uuid'], 'facility');
  await send(store, 'RW-A', [owned, insert(owned, 'RW-A', 1, ['loc-1', 'Ward 1'], EARLIER)]);
  await store.close();
  const db = new Database(path);
  registerScopeFunctions(db);
  rescopeTable(db, 'location', 'shared', NOW.toISOString());
  db.close();
  const state = NodeState.create(tempDir(t));
  const again = SqliteHubStore.open({ path, state, stamp: () => ({ at: NOW.toISOString(), node: 'HUB-1' }) });
  t.teardown(async () => {
    await again.close();
    state.close();
  });
  const later = await applyAs(again, 'RW-A', [location, sharedChange(location, 'RW-A', 3, ['loc-1', 'Ward 2'], ['loc-1', 'Ward 3'], EARLIER + 2000)], NOW);
  const late = await applyAs(again, 'RW-A', [location, sharedChange(location, 'RW-A', 2, ['loc-1', 'Ward 1'], ['loc-1', 'Ward 2'], EARLIER + 1000)], NOW);
  t.is(later.counts.conflicts + late.counts.conflicts, 0);
  t.deepEqual(await rowsOf(again, 'location'), [{ uuid: 'loc-1', name: 'Ward 3' }]);
});
