/** The one place that picks a hub store implementation (SQLite today; PostgreSQL is issue 15). */
import type { HubStore } from './hub-store.js';
import type { NodeState } from './node-state.js';
import { SqliteHubStore } from './sqlite/sqlite-hub-store.js';

export interface OpenHubStoreOptions {
  /** the hub database, as node.json names it */
  db: string;
  state: NodeState;
  stamp: () => { at: string; node: string };
  /** status, the log: nothing is written */
  readOnly?: boolean;
}

export function openHubStore(o: OpenHubStoreOptions): HubStore {
  return SqliteHubStore.open({ path: o.db, state: o.state, stamp: o.stamp, ...(o.readOnly ? { readOnly: true } : {}) });
}

/** `ferry init` at a hub: its database, created empty (later a missing one is an error, never made anew). */
export async function createHubDatabase(db: string): Promise<void> {
  SqliteHubStore.create(db);
}
