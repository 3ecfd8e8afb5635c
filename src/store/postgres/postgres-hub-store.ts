/**
 * The hub store on PostgreSQL (issue 15). CONTRACT STUB: the pgstore helper replaces this file.
 * `pg` is imported only dynamically here (import type is fine): see open-hub-store.ts.
 */
import type { HubStore } from '../hub-store.js';
import type { HubLocation } from '../hub-location.js';

export interface PostgresHubStoreOptions {
  location: Extract<HubLocation, { kind: 'postgres' }>;
  /** the time and node id an audit entry is stamped with */
  stamp: () => { at: string; node: string };
  readOnly?: boolean;
  /** tests only: a smaller conflict allowance per bundle */
  conflictBytesAllowance?: number;
}

export class PostgresHubStore {
  static open(_o: PostgresHubStoreOptions): HubStore {
    throw new Error('PostgresHubStore: not built yet');
  }
  static async create(_location: Extract<HubLocation, { kind: 'postgres' }>): Promise<void> {
    throw new Error('PostgresHubStore: not built yet');
  }
}
