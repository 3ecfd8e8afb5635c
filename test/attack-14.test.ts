/**
 * A hostile review of issue 14 ("Whose row is it"): bundles built by hand as an enrolled but
 * compromised facility, EMR schemas in odd states, and operators running migrate/rescope on odd
 * hub databases. Each test names the finding it shows. A `test.failing` is a finding left open:
 * it asserts what ferry should do and fails today (ava reports it as "known failure"); flip it to
 * `test` with the fix.
 */
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import type { Manifest } from '../src/format/manifest.js';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import { NodeState } from '../src/store/node-state.js';
import { SqliteHubStore } from '../src/store/sqlite/sqlite-hub-store.js';
import { sharedChange, table } from './helpers/bundles.js';
import { sql, tempDir } from './helpers/env.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const EARLIER = NOW.getTime() - 3_600_000;
let bundleNo = 0;

function openStore(t: ExecutionContext) {
  const home = tempDir(t);
  const state = NodeState.create(home);
  const path = join(home, 'hub.db');
  SqliteHubStore.create(path);
  const store = SqliteHubStore.open({ path, state, stamp: () => ({ at: NOW.toISOString(), node: 'HUB-1' }) });
  t.teardown(async () => {
    await store.close();
    state.close();
  });
  return { store, path };
}

async function* from(records: PayloadRecord[]): AsyncGenerator<PayloadRecord> {
  yield* records;
}

/** Apply records as a bundle verified to come from `origin` (whatever its records say). */
function send(store: SqliteHubStore, origin: string, records: PayloadRecord[]) {
  const seqs = records.flatMap((r) => (r.kind === 'change' ? [r.seq] : []));
  bundleNo++;
  const manifest = { sender: origin, bundle_id: bundleNo.toString(16).padStart(32, '0'), seq: { first: Math.min(...seqs), last: Math.max(...seqs) }, changes: seqs.length, created: NOW.toISOString() } as Manifest;
  return store.applyVerifiedBundle({ manifest, origin, file: `${origin}-${bundleNo}.ferry-bundle` }, from(records), { receivedAt: NOW });
}

const insert = (t: TableRecord, origin: string, seq: number, row: EncodedValue[], wall = EARLIER): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'insert', row });

async function rowsOf(store: SqliteHubStore, tableName: string) {
  const out: Array<Record<string, EncodedValue>> = [];
  for await (const r of store.rows(tableName)) out.push(r);
  return out;
}

const location = table('location', [['uuid', 'TEXT'], ['name', 'TEXT']], ['uuid'], 'shared');
/** The same shared table at a facility whose EMR has one column more (upgraded first, or a local column). */
const locationPlus = table('location', [['uuid', 'TEXT'], ['name', 'TEXT'], ['retired', 'INTEGER']], ['uuid'], 'shared');

// Finding: a column one facility sends and another does not track makes every honest edit of
// the other facility to rows holding it a conflict, forever (basedOn requires such a column to be
// NULL at the hub). A staggered EMR upgrade (ALTER TABLE location ADD COLUMN retired DEFAULT 0 at
// one site first), or a column dropped everywhere (its old values stay at the hub), turns "A edits
// a row B sent unchanged applies cleanly" into a conflict per edit.
test.failing('a facility that does not track a column another one sends still edits a shared row cleanly when based on it', async (t) => {
  const { store } = openStore(t);
  // B upgraded first: its re-snapshot fills retired.
  await send(store, 'RW-B', [locationPlus, insert(locationPlus, 'RW-B', 1, ['loc-1', 'Ward 1', 0], EARLIER)]);
  // A (not upgraded yet) renames the ward, based on the row exactly as the hub holds it over A's columns.
  const a = await send(store, 'RW-A', [location, sharedChange(location, 'RW-A', 1, ['loc-1', 'Ward 1'], ['loc-1', 'Maternity'], EARLIER + 1000)]);
  t.deepEqual(a.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 }, 'based on the held row: clean');
  t.deepEqual(await rowsOf(store, 'location'), [{ uuid: 'loc-1', name: 'Maternity', retired: 0 }], "B's column kept, A's edit applied");
});

// Finding: a facility's own older change arriving late (its bundle was on another drive; the
// hub's own tests show this happens) after another facility built cleanly on the facility's
// NEWER change is taken as a conflict against that facility, and wins when its clock is later:
// the shared row goes back to a state its own writer had already left, and the other
// facility's edit is only in a conflict record.
test.failing("a facility's stale change arriving late never replaces another facility's edit that was based on the facility's newer change", async (t) => {
  const { store } = openStore(t);
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

// Finding: the first bundle to describe a table decides its scope for every facility. A
// compromised (or simply mis-configured) facility that sends `patient` as shared before the others
// send it makes every other facility's facility-owned patient table refused at this hub until an
// operator notices and rescopes: its rows wait, and status shows only rejections.
test.failing("one facility's table record cannot make a table shared for every facility: another facility's facility-owned rows still apply", async (t) => {
  const { store, path } = openStore(t);
  const squat = table('patient', [['patient_id', 'INTEGER'], ['name', 'TEXT']], ['patient_id'], 'shared');
  const patient = table('patient', [['patient_id', 'INTEGER'], ['name', 'TEXT']], ['patient_id']);
  await send(store, 'RW-X', [squat, insert(squat, 'RW-X', 1, [1, 'decoy'])]);
  const b = await send(store, 'RW-B', [patient, insert(patient, 'RW-B', 1, [1, 'Claire'])]);
  t.deepEqual(b.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 }, sql<{ reason: string }>(path, 'SELECT reason FROM ferry_rejected').map((r) => r.reason).join('; '));
});
