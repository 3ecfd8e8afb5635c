/**
 * Two import stations whose bundles change the hub's tables at the same moment can deadlock in
 * PostgreSQL (one holds the hub-wide lock and waits to alter a table the other is writing; the
 * other then waits for the hub-wide lock). PostgreSQL stops one: that bundle is rolled back whole
 * and reported as database-busy (exit 3, retried at the next import), never as a bug.
 */
import test from 'ava';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import { hubLocation } from '../src/store/hub-location.js';
import { PostgresHubStore } from '../src/store/postgres/postgres-hub-store.js';
import { FerryError } from '../src/core/errors.js';
import { table } from './helpers/bundles.js';
import { applyAs, storeOf, streamOf, verifiedBundle } from './helpers/hub-store.js';
import { hasPostgres } from './helpers/postgres.js';

const pgTest = hasPostgres() ? test : test.skip;
const NOW = new Date('2026-11-22T10:00:00.000Z');
const change = (t: TableRecord, origin: string, seq: number, row: unknown[]): PayloadRecord => ({ kind: 'change', origin, seq, clock: [NOW.getTime() - 1000, 0], table: t.table, op: 'insert', row }) as PayloadRecord;
const visits = table('visits', [['id', 'INTEGER'], ['note', 'TEXT']], ['id']);
const visitsPlus = table('visits', [['id', 'INTEGER'], ['note', 'TEXT'], ['ward', 'TEXT']], ['id']);
const other = table('other', [['id', 'INTEGER']], ['id']);
const fresh = table('fresh', [['id', 'INTEGER']], ['id']);

pgTest('two stations deadlocking on the hub\'s tables: one bundle is stopped as database-busy, rolled back whole, and applies when imported again', async (t) => {
  const { store: station1, path } = await storeOf('postgres', t, NOW);
  const station2 = PostgresHubStore.open({ location: hubLocation(path) as never, stamp: () => ({ at: NOW.toISOString(), node: 'HUB-1' }), station: 'station-2' });
  t.teardown(() => station2.close());
  // The tables exist, so that only the later steps change the schema.
  await applyAs(station1, 'RW-0', [visits, change(visits, 'RW-0', 1, [1, 'a']), other, change(other, 'RW-0', 2, [1])], NOW);

  // Station 2 (RW-B) writes visits (its batch is sent when the next table record comes), then waits.
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const waiting = new Promise<void>((r) => (reached = r));
  const b = [visits, change(visits, 'RW-B', 1, [1, 'b']), other, change(other, 'RW-B', 2, [1]), fresh, change(fresh, 'RW-B', 3, [1])];
  async function* slowB(): AsyncGenerator<PayloadRecord> {
    yield* b.slice(0, 4);
    reached();
    await gate;
    yield* b.slice(4); // a new table: the hub-wide lock
  }
  const applyingB = station2.applyVerifiedBundle(verifiedBundle('RW-B', b, NOW), slowB(), { receivedAt: NOW });
  await waiting;
  await new Promise((r) => setTimeout(r, 300)); // its rows of visits are written (the batch went at `other`)
  // Station 1 (RW-A) adds a column to visits: the hub-wide lock, then it waits for station 2's rows.
  const a = [visitsPlus, change(visitsPlus, 'RW-A', 1, [1, 'a', 'maternity'])];
  const applyingA = station1.applyVerifiedBundle(verifiedBundle('RW-A', a, NOW), streamOf(a), { receivedAt: NOW });
  await new Promise((r) => setTimeout(r, 300));
  release();
  const results = await Promise.allSettled([applyingA, applyingB]);
  const failed = results.filter((r) => r.status === 'rejected');
  t.is(failed.length, 1, 'PostgreSQL stopped one of the two');
  const err = (failed[0] as PromiseRejectedResult).reason;
  t.true(err instanceof FerryError);
  t.like(err, { code: 'database-busy', kind: 'io' });
  // The stopped one applies when imported again.
  const again = results[0]!.status === 'rejected' ? await applyAs(station1, 'RW-A', a, NOW) : await applyAs(station2, 'RW-B', b, NOW);
  t.is(again.counts.rejected, 0);
  t.true(again.counts.applied > 0);
});
