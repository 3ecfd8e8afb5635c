/**
 * The one place that picks a hub store implementation: SQLite for a file path (the embedded
 * default), PostgreSQL for a postgresql:// URL (src/store/postgres/). The PostgreSQL client is
 * loaded only when a hub uses it: a SQLite hub or a facility never pays for it at start-up.
 */
import type { HubStore } from './hub-store.js';
import { hubLocation } from './hub-location.js';
import type { NodeState } from './node-state.js';
import { PostgresHubStore } from './postgres/postgres-hub-store.js';
import { SqliteHubStore } from './sqlite/sqlite-hub-store.js';

export interface OpenHubStoreOptions {
  /** the hub database, as node.json names it: a SQLite file or a PostgreSQL URL */
  db: string;
  /** node.json's db_password_file: a 0600 file holding the PostgreSQL password */
  passwordFile?: string | undefined;
  state: NodeState;
  stamp: () => { at: string; node: string };
  /** status, the log: nothing is written */
  readOnly?: boolean;
}

export function openHubStore(o: OpenHubStoreOptions): HubStore {
  const where = hubLocation(o.db, { passwordFile: o.passwordFile });
  if (where.kind === 'postgres') return PostgresHubStore.open({ location: where, stamp: o.stamp, ...(o.readOnly ? { readOnly: true } : {}) });
  return SqliteHubStore.open({ path: where.path, state: o.state, stamp: o.stamp, ...(o.readOnly ? { readOnly: true } : {}) });
}

/** `ferry init` at a hub: its database, created empty (later a missing one is an error, never made anew). */
export async function createHubDatabase(db: string, o: { passwordFile?: string | undefined } = {}): Promise<void> {
  const where = hubLocation(db, o);
  if (where.kind === 'postgres') await PostgresHubStore.create(where);
  else SqliteHubStore.create(where.path);
}
