/**
 * A hub store in a temporary home (SQLite) or a new database on the test file's real PostgreSQL
 * server, and bundles applied to it directly as if verified: for tests of the store's rules
 * without drives, keys or the reader. One suite, two stores: a test written with storeOf(kind)
 * runs against each kind storeKinds() gives (test/helpers/postgres.ts).
 */
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import type { Manifest } from '../../src/format/manifest.js';
import type { PayloadRecord } from '../../src/format/records.js';
import type { EncodedValue } from '../../src/format/values.js';
import { NodeState } from '../../src/store/node-state.js';
import { SqliteHubStore } from '../../src/store/sqlite/sqlite-hub-store.js';
import { tempDir } from './env.js';
import type { HubStore } from '../../src/store/hub-store.js';
import { hubLocation } from '../../src/store/hub-location.js';
import { PostgresHubStore } from '../../src/store/postgres/postgres-hub-store.js';
import { hasPostgres, usePostgres, type StoreKind } from './postgres.js';
import test from 'ava';

export { storeKinds, type StoreKind } from './postgres.js';

// Registered when the file loads (ava takes hooks only before its tests start): the file's server
// is started by its first PostgreSQL test and stopped after its last.
const postgres = hasPostgres() ? usePostgres(test) : undefined;

/** A new hub store whose clock reads `now`; closed when the test ends. */
export function openTestStore(t: ExecutionContext, now: Date): { store: SqliteHubStore; path: string } {
  const home = tempDir(t);
  const state = NodeState.create(home);
  const path = join(home, 'hub.db');
  SqliteHubStore.create(path);
  const store = SqliteHubStore.open({ path, state, stamp: () => ({ at: now.toISOString(), node: 'HUB-1' }) });
  t.teardown(async () => {
    await store.close();
    state.close();
  });
  return { store, path };
}

/**
 * A new, empty hub store of `kind` whose clock reads `now`, closed when the test ends. `path`: the
 * SQLite file (for tests that look inside it), or the PostgreSQL URL.
 */
export async function storeOf(kind: StoreKind, t: ExecutionContext, now: Date, o: { conflictBytesAllowance?: number } = {}): Promise<{ store: HubStore; path: string }> {
  if (kind === 'sqlite') {
    const home = tempDir(t);
    const state = NodeState.create(home);
    const path = join(home, 'hub.db');
    SqliteHubStore.create(path);
    const store = SqliteHubStore.open({ path, state, stamp: () => ({ at: now.toISOString(), node: 'HUB-1' }), ...o });
    t.teardown(async () => {
      await store.close();
      state.close();
    });
    return { store, path };
  }
  const url = (await postgres!()).createDatabase();
  const location = hubLocation(url) as Extract<ReturnType<typeof hubLocation>, { kind: 'postgres' }>;
  await PostgresHubStore.create(location);
  const store = PostgresHubStore.open({ location, stamp: () => ({ at: now.toISOString(), node: 'HUB-1' }), station: 'station-1', ...o });
  t.teardown(() => store.close());
  return { store, path: url };
}

let bundleNo = 0;

/** The verified-bundle envelope of `records` from `origin` (a new bundle id each time). */
export function verifiedBundle(origin: string, records: PayloadRecord[], now: Date) {
  const seqs = records.flatMap((r) => (r.kind === 'change' ? [r.seq] : []));
  bundleNo++;
  const manifest = { sender: origin, bundle_id: bundleNo.toString(16).padStart(32, '0'), seq: { first: Math.min(...seqs), last: Math.max(...seqs) }, changes: seqs.length, created: now.toISOString() } as Manifest;
  return { manifest, origin, file: `${origin}-${bundleNo}.ferry-bundle` };
}

export async function* streamOf(records: PayloadRecord[]): AsyncGenerator<PayloadRecord> {
  yield* records;
}

/** Apply records as a bundle verified to come from `origin` (whatever its records say). */
export function applyAs(store: HubStore, origin: string, records: PayloadRecord[], now: Date) {
  return store.applyVerifiedBundle(verifiedBundle(origin, records, now), streamOf(records), { receivedAt: now });
}

/** A table's rows as the store gives them. */
export async function rowsOf(store: HubStore, tableName: string): Promise<Array<Record<string, EncodedValue>>> {
  const out: Array<Record<string, EncodedValue>> = [];
  for await (const r of store.rows(tableName)) out.push(r);
  return out;
}
