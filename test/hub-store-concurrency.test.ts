/**
 * The hub store is called concurrently (the TUI refreshes beside a running import, an operator
 * resolves a conflict while a drive is read) and each call is atomic: nothing runs inside the
 * transaction of a bundle being applied, whose record stream awaits between records.
 */
import test, { type ExecutionContext } from 'ava';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import { storeKinds, storeOf, streamOf, verifiedBundle, type StoreKind } from './helpers/hub-store.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');

// Shared: two facilities' notes with one id are one row, so they can conflict.
const notes: TableRecord = { kind: 'table', table: 'notes', columns: [{ name: 'id', type: 'INTEGER' }, { name: 'body', type: 'TEXT' }], key: ['id'], scope: 'shared' };
const insert = (origin: string, seq: number, row: unknown[], wall: number): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: 'notes', op: 'insert', row }) as PayloadRecord;

const openStore = async (kind: StoreKind, t: ExecutionContext) => (await storeOf(kind, t, NOW)).store;
const bundle = (origin: string, records: PayloadRecord[]) => verifiedBundle(origin, records, NOW);
const from = streamOf;

/** A slow record stream (a drive being read): it stops after its records until released, then ends or fails. */
function slow(records: PayloadRecord[], end: 'ok' | 'fail') {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const waiting = new Promise<void>((r) => (reached = r));
  async function* stream(): AsyncGenerator<PayloadRecord> {
    yield* records;
    reached();
    await gate;
    if (end === 'fail') throw new Error('the drive went away');
  }
  return { stream: stream(), waiting, release };
}

/** Two facilities wrote the same note: one conflict, which the rule settled for RW-B (the later clock). */
async function withConflict(kind: StoreKind, t: ExecutionContext) {
  const store = await openStore(kind, t);
  await store.applyVerifiedBundle(bundle('RW-A', [notes, insert('RW-A', 1, [1, 'from A'], NOW.getTime() - 120_000)]), from([notes, insert('RW-A', 1, [1, 'from A'], NOW.getTime() - 120_000)]), { receivedAt: NOW });
  await store.applyVerifiedBundle(bundle('RW-B', [notes, insert('RW-B', 1, [1, 'from B'], NOW.getTime() - 60_000)]), from([notes, insert('RW-B', 1, [1, 'from B'], NOW.getTime() - 60_000)]), { receivedAt: NOW });
  const [c] = await store.conflicts({});
  if (!c) throw new Error('the set-up made no conflict');
  return { store, conflict: c };
}

for (const kind of storeKinds()) {
  test(`${kind}: a conflict resolved while a bundle is being applied stays resolved when that bundle then fails and rolls back`, async (t) => {
  const { store, conflict } = await withConflict(kind, t);
  const s = slow([notes, insert('RW-C', 1, [2, 'from C'], NOW.getTime() - 30_000)], 'fail');
  const applying = store.applyVerifiedBundle(bundle('RW-C', [insert('RW-C', 1, [2, 'from C'], 0)]), s.stream, { receivedAt: NOW });
  await s.waiting; // the bundle's transaction is open
  const resolving = store.resolveConflict(conflict.id, 'other', { at: NOW, hubId: 'HUB-1', resolution: 'kept the other version' });
  s.release();
  await t.throwsAsync(applying, { message: 'the drive went away' });
  t.like(await resolving, { resolved: true, changed: true });
  const after = await store.conflict(conflict.id);
  t.truthy(after?.resolved_at, 'a resolution reported as made is never lost with a rolled-back bundle');
  t.is(after?.resolution, 'kept the other version');
  t.is(await store.rowCount('notes'), 1, "the failed bundle's row is not there");
  t.is((await store.conflicts({})).length, 0);
  });
}

for (const kind of storeKinds()) {
  test(`${kind}: a read while a bundle is being applied sees none of its uncommitted rows`, async (t) => {
  const store = await openStore(kind, t);
  const s = slow([notes, insert('RW-A', 1, [1, 'one'], NOW.getTime() - 60_000), insert('RW-A', 2, [2, 'two'], NOW.getTime() - 60_000)], 'fail');
  const applying = store.applyVerifiedBundle(bundle('RW-A', [insert('RW-A', 1, [], 0), insert('RW-A', 2, [], 0)]), s.stream, { receivedAt: NOW });
  await s.waiting;
  const rows = store.rowCount('notes');
  const ranges = store.appliedRanges('RW-A');
  const tables = store.tables();
  s.release();
  await t.throwsAsync(applying);
  t.is(await rows, 0, 'the rows the bundle inserted were never committed');
  t.deepEqual(await ranges, []);
  t.deepEqual(await tables, []);
  });
}

for (const kind of storeKinds()) {
  test(`${kind}: two bundles applied at once are both applied, one after the other`, async (t) => {
  const store = await openStore(kind, t);
  const s = slow([notes, insert('RW-A', 1, [1, 'from A'], NOW.getTime() - 60_000)], 'ok');
  const first = store.applyVerifiedBundle(bundle('RW-A', [insert('RW-A', 1, [], 0)]), s.stream, { receivedAt: NOW });
  await s.waiting;
  const second = store.applyVerifiedBundle(bundle('RW-B', [insert('RW-B', 1, [], 0)]), from([notes, insert('RW-B', 1, [2, 'from B'], NOW.getTime() - 60_000)]), { receivedAt: NOW });
  s.release();
  t.like((await first).counts, { applied: 1 });
  t.like((await second).counts, { applied: 1 });
  t.is(await store.rowCount('notes'), 2);
  t.deepEqual((await store.recentBundles(10)).map((b) => b.origin).sort(), ['RW-A', 'RW-B']);
  });
}
