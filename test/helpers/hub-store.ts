/**
 * A SQLite hub store in a temporary home, and bundles applied to it directly as if verified:
 * for tests of the store's rules without drives, keys or the reader.
 */
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import type { Manifest } from '../../src/format/manifest.js';
import type { PayloadRecord } from '../../src/format/records.js';
import type { EncodedValue } from '../../src/format/values.js';
import { NodeState } from '../../src/store/node-state.js';
import { SqliteHubStore } from '../../src/store/sqlite/sqlite-hub-store.js';
import { tempDir } from './env.js';

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
export function applyAs(store: SqliteHubStore, origin: string, records: PayloadRecord[], now: Date) {
  return store.applyVerifiedBundle(verifiedBundle(origin, records, now), streamOf(records), { receivedAt: now });
}

/** A table's rows as the store gives them. */
export async function rowsOf(store: SqliteHubStore, tableName: string): Promise<Array<Record<string, EncodedValue>>> {
  const out: Array<Record<string, EncodedValue>> = [];
  for await (const r of store.rows(tableName)) out.push(r);
  return out;
}
