/**
 * Applying bundles at a hub that several stations share (issue 15): a bundle another station
 * applied is not applied twice (appliedBefore, on both stores alike), one facility's bundles apply
 * one at a time whichever station imports them while other facilities' apply meanwhile (the
 * facility's advisory lock), and names PostgreSQL would truncate are refused.
 */
import test, { type ExecutionContext } from 'ava';
import pg from 'pg';
import { ErrorCodes, FerryError } from '../src/core/errors.js';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import type { ApplyResult, HubStore } from '../src/store/hub-store.js';
import { hubLocation } from '../src/store/hub-location.js';
import { PostgresHubStore } from '../src/store/postgres/postgres-hub-store.js';
import { table } from './helpers/bundles.js';
import { applyAs, rowsOf, storeKinds, storeOf, streamOf, verifiedBundle } from './helpers/hub-store.js';
import { hasPostgres } from './helpers/postgres.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const visits = table('visits', [['id', 'INTEGER'], ['note', 'TEXT']], ['id']);
const insert = (t: TableRecord, origin: string, seq: number, row: EncodedValue[]): PayloadRecord => ({ kind: 'change', origin, seq, clock: [NOW.getTime() - 1000, 0], table: t.table, op: 'insert', row });
const inserts = (origin: string, first: number, n: number): PayloadRecord[] => Array.from({ length: n }, (_, i) => insert(visits, origin, first + i, [first + i, `${origin} visit ${first + i}`]));

/** The records, noting how many the applier read and whether it closed them (a drive's file it may hold open). */
function tracked(records: PayloadRecord[], gate?: Promise<void>) {
  const state = { closed: false, read: 0 };
  const stream: AsyncIterable<PayloadRecord> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        // Halfway through: the bundle's transaction is open, its facility's lock held.
        if (gate && state.read === Math.floor(records.length / 2)) await gate;
        const r = records[state.read];
        if (r === undefined) return { done: true, value: undefined };
        state.read++;
        return { done: false, value: r };
      },
      async return() {
        state.closed = true;
        return { done: true, value: undefined };
      },
    }),
  };
  return { stream, state };
}

/** Another station of the same hub: its own connections to the same database. */
async function secondStation(t: ExecutionContext, url: string, station = 'station-2'): Promise<HubStore> {
  const location = hubLocation(url) as Extract<ReturnType<typeof hubLocation>, { kind: 'postgres' }>;
  const store = PostgresHubStore.open({ location, stamp: () => ({ at: NOW.toISOString(), node: 'HUB-1' }), station });
  t.teardown(() => store.close());
  return store;
}

const settledWithin = async <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

for (const kind of storeKinds()) {
  test(`${kind}: a bundle the ledger holds already is not applied again: appliedBefore says what was, and the bundle's records are closed unread`, async (t) => {
    const { store } = await storeOf(kind, t, NOW);
    const records = [visits, ...inserts('RW-A', 1, 5)];
    const bundle = verifiedBundle('RW-A', records, NOW);
    const first = await store.applyVerifiedBundle(bundle, streamOf(records), { receivedAt: NOW });
    t.is(first.appliedBefore, undefined);
    t.deepEqual(first.counts, { applied: 5, already_present: 0, conflicts: 0, rejected: 0 });

    const again = tracked(records);
    const second = await store.applyVerifiedBundle(bundle, again.stream, { receivedAt: NOW });
    t.truthy(second.appliedBefore);
    t.is(second.appliedBefore!.bundle_id, bundle.manifest.bundle_id);
    t.is(second.appliedBefore!.applied, 5);
    t.deepEqual(second.counts, { applied: 0, already_present: 5, conflicts: 0, rejected: 0 });
    t.deepEqual(second.appliedRanges, [[1, 5]]);
    t.true(again.state.closed, 'the records stream is closed');
    t.is(again.state.read, 0, 'nothing of the second copy is read');
    t.is((await store.recentBundles(100)).filter((x) => x.bundle_id === bundle.manifest.bundle_id).length, 1, 'the ledger holds the bundle once');
    t.is((await rowsOf(store, 'visits')).length, 5);
  });

  test(`${kind}: a table or column name longer than 63 characters (PostgreSQL would cut it) is a rejected change with the reason; 63 is kept`, async (t) => {
    const { store } = await storeOf(kind, t, NOW);
    const longest = `t${'x'.repeat(62)}`;
    const tooLong = `t${'x'.repeat(63)}`;
    const keep = table(longest, [['id', 'INTEGER'], [`c${'y'.repeat(62)}`, 'TEXT']], ['id']);
    const refuse = table(tooLong, [['id', 'INTEGER']], ['id']);
    const refuseColumn = table('wide', [['id', 'INTEGER'], [`c${'y'.repeat(63)}`, 'TEXT']], ['id']);
    const r = await applyAs(
      store,
      'RW-A',
      [keep, insert(keep, 'RW-A', 1, [1, 'kept']), refuse, insert(refuse, 'RW-A', 2, [2]), refuseColumn, insert(refuseColumn, 'RW-A', 3, [3, 'x'])],
      NOW,
    );
    t.deepEqual(r.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 2 });
    t.deepEqual(
      r.rejections.map((x) => [x.first_seq, x.reason]),
      [
        [2, `table ${tooLong}: the name ${tooLong} is longer than 63 characters`],
        [3, `table wide: the name c${'y'.repeat(63)} is longer than 63 characters`],
      ],
    );
    t.deepEqual((await rowsOf(store, longest)).map((x) => x[`c${'y'.repeat(62)}`]), ['kept']);
    t.deepEqual((await store.tables()).map((x) => x.name), [longest]);
  });
}

const pgTest = hasPostgres() ? test : test.skip;

pgTest('postgres: two stations importing the same bundle at once (a courier\'s two copies of a drive) apply it once; the second learns it was applied before', async (t) => {
  const { store: one, path: url } = await storeOf('postgres', t, NOW);
  const two = await secondStation(t, url);
  await applyAs(one, 'RW-A', [visits, ...inserts('RW-A', 1, 1)], NOW); // the table exists: no hub-wide lock below
  const records = [visits, ...inserts('RW-A', 2, 20)];
  const bundle = verifiedBundle('RW-A', records, NOW);

  let open!: () => void;
  const first = tracked(records, new Promise<void>((r) => (open = r)));
  const applying = one.applyVerifiedBundle(bundle, first.stream, { receivedAt: NOW });
  while (first.state.read === 0) await new Promise((r) => setTimeout(r, 10));
  const copy = tracked(records);
  const waiting = two.applyVerifiedBundle(bundle, copy.stream, { receivedAt: NOW });
  t.false(await settledWithin(waiting, 400), 'the second copy waits for the facility\'s lock');
  open();
  const [a, b] = await Promise.all([applying, waiting]);
  t.is(a.appliedBefore, undefined);
  t.deepEqual(a.counts, { applied: 20, already_present: 0, conflicts: 0, rejected: 0 });
  t.is(b.appliedBefore?.bundle_id, bundle.manifest.bundle_id);
  t.deepEqual(b.counts, { applied: 0, already_present: 20, conflicts: 0, rejected: 0 });
  t.is(copy.state.read, 0);
  t.true(copy.state.closed);
  t.deepEqual((await two.recentBundles(100)).map((x) => x.bundle_id).filter((id) => id === bundle.manifest.bundle_id), [bundle.manifest.bundle_id]);
  t.is((await rowsOf(two, 'visits')).length, 21);
});

pgTest('postgres: one facility\'s bundles apply one at a time whichever station imports them, while another facility\'s apply meanwhile; a station that dies releases its facility\'s lock and its import ends with a clear error', async (t) => {
  const { store: one, path: url } = await storeOf('postgres', t, NOW);
  const two = await secondStation(t, url);
  await applyAs(one, 'RW-A', [visits, ...inserts('RW-A', 1, 1)], NOW);
  await applyAs(one, 'RW-B', [visits, ...inserts('RW-B', 1, 1)], NOW);

  // Station 1 is halfway through RW-A's bundle 2..41.
  let open!: () => void;
  const recordsA = [visits, ...inserts('RW-A', 2, 40)];
  const slow = tracked(recordsA, new Promise<void>((r) => (open = r)));
  const applyingA = one.applyVerifiedBundle(verifiedBundle('RW-A', recordsA, NOW), slow.stream, { receivedAt: NOW });
  while (slow.state.read === 0) await new Promise((r) => setTimeout(r, 10));

  // Station 2: RW-A's next bundle waits; RW-B's applies meanwhile.
  const nextA = [visits, ...inserts('RW-A', 42, 10)];
  const waitingA = two.applyVerifiedBundle(verifiedBundle('RW-A', nextA, NOW), streamOf(nextA), { receivedAt: NOW });
  const b: ApplyResult = await two.applyVerifiedBundle(verifiedBundle('RW-B', [visits, ...inserts('RW-B', 2, 10)], NOW), streamOf([visits, ...inserts('RW-B', 2, 10)]), { receivedAt: NOW });
  t.deepEqual(b.counts, { applied: 10, already_present: 0, conflicts: 0, rejected: 0 });
  t.false(await settledWithin(waitingA, 400), 'RW-A\'s next bundle waits while its earlier one is being applied');
  t.deepEqual(await two.appliedRanges('RW-A'), [[1, 1]], 'nothing of the half-applied bundle is visible');

  open();
  const [a1, a2] = await Promise.all([applyingA, waitingA]);
  t.deepEqual(a1.counts, { applied: 40, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(a2.counts, { applied: 10, already_present: 0, conflicts: 0, rejected: 0 });
  t.deepEqual(await one.appliedRanges('RW-A'), [[1, 51]]);
  t.deepEqual(await one.appliedRanges('RW-B'), [[1, 11]]);

  // A station that dies halfway through a bundle (its connection ends): the server rolls its
  // transaction back and releases RW-A's lock, and the other station applies RW-A's next bundle.
  let release!: () => void;
  const doomedRecords = [visits, ...inserts('RW-A', 52, 20)];
  const doomed = tracked(doomedRecords, new Promise<void>((r) => (release = r)));
  const dying = one.applyVerifiedBundle(verifiedBundle('RW-A', doomedRecords, NOW), doomed.stream, { receivedAt: NOW });
  dying.catch(() => {});
  while (doomed.state.read === 0) await new Promise((r) => setTimeout(r, 10));
  const lastA = [visits, ...inserts('RW-A', 52, 3)];
  const afterKill = two.applyVerifiedBundle(verifiedBundle('RW-A', lastA, NOW), streamOf(lastA), { receivedAt: NOW });
  t.false(await settledWithin(afterKill, 400));
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.teardown(() => admin.end());
  // The backend holding the advisory lock another backend waits for: station 1's.
  const holder = await admin.query<{ pid: number }>(
    `SELECT held.pid FROM pg_locks held JOIN pg_locks wanted ON wanted.locktype = 'advisory' AND NOT wanted.granted
       AND (wanted.classid, wanted.objid, wanted.objsubid) = (held.classid, held.objid, held.objsubid)
     WHERE held.locktype = 'advisory' AND held.granted`,
  );
  t.is(holder.rowCount, 1);
  await admin.query('SELECT pg_terminate_backend($1)', [holder.rows[0]!.pid]);
  t.deepEqual((await afterKill).counts, { applied: 3, already_present: 0, conflicts: 0, rejected: 0 });
  release();
  // The dead station's import ends with a clear error (exit 3), not a crash with a stack trace.
  const lost = await t.throwsAsync(dying);
  t.true(lost instanceof FerryError);
  t.is((lost as FerryError).code, ErrorCodes.DB_UNREACHABLE);
  t.deepEqual(await two.appliedRanges('RW-A'), [[1, 54]]);
  t.deepEqual((await rowsOf(two, 'visits')).filter((x) => x.ferry_origin === 'RW-A').length, 54);
});
