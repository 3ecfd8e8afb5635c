/**
 * The hub database's deliberate changes, beside the everyday HubStore: `ferry migrate` converts a
 * database an older ferry made (which no HubStore opens), `ferry rescope` changes a table's scope.
 * Each backs the database up first and changes it in one transaction. Asynchronous, and with no
 * driver type in it, as the HubStore is, so a store in another database can provide it.
 */
import type { TableScope } from '../format/records.js';
import { SqliteHubMaintenance } from './sqlite/sqlite-hub-maintenance.js';
import { PostgresHubMaintenance } from './postgres/postgres-hub-maintenance.js';
import { hubLocation } from './hub-location.js';

/** A copy of the database taken before a change. */
export interface HubBackup {
  path: string;
  bytes: number;
}

/** Rows a table holds, per facility (facility-owned) or in all (shared: origin null). */
export interface OriginRows {
  origin: string | null;
  rows: number;
}

export interface TableReport {
  table: string;
  scope: TableScope;
  /** the source's key (a facility-owned table is keyed at the hub by ferry_origin and this) */
  key: string[];
  rows: OriginRows[];
}

export interface MigrationReport {
  from_version: number;
  to_version: number;
  backup: HubBackup | null;
  tables: TableReport[];
  /** rows the merge by source key had kept only in conflict records, given back to their facilities */
  rows_recovered: number;
  /** open conflicts of tables that became facility-owned: they were never conflicts */
  conflicts_closed: number;
}

export interface RescopeReport {
  table: string;
  key: string[];
  from_scope: TableScope;
  to_scope: TableScope;
  backup: HubBackup | null;
  rows: OriginRows[];
  /** rows several facilities held alike that became one shared row */
  rows_merged: number;
  rows_recovered: number;
  conflicts_closed: number;
}

export interface HubMaintenance {
  /** the database's schema version, and the one this ferry writes */
  versions(): Promise<{ version: number; current: number }>;
  /** a table's name as the hub spells it, its key and scope (a usage error when the hub has no such table) */
  table(name: string): Promise<{ name: string; key: string[]; scope: TableScope }>;
  /** a checked, private copy of the database in `folder`, named `name` (or with a number when taken) */
  backup(folder: string, name: string): Promise<HubBackup>;
  /** the refusal migrate would meet (a table that cannot become facility-owned), said before any backup */
  checkMigration(o: { shared: string[] }): Promise<void>;
  /** the refusal rescope would meet, said before any backup */
  checkRescope(o: { table: string; scope: TableScope }): Promise<void>;
  /** convert to the current version in one transaction; tables named in `shared` stay shared */
  migrate(o: { shared: string[]; at: Date }): Promise<Omit<MigrationReport, 'backup'>>;
  /** change one table's scope in one transaction */
  rescope(o: { table: string; scope: TableScope; at: Date }): Promise<Omit<RescopeReport, 'backup'>>;
  close(): Promise<void>;
}

/**
 * `anyVersion`: `ferry migrate` only, which opens a database an older ferry made; everything else
 * (rescope included) refuses one with database-outdated.
 */
export function openHubMaintenance(db: string, o: { anyVersion?: boolean; passwordFile?: string | undefined } = {}): HubMaintenance {
  const where = hubLocation(db, { passwordFile: o.passwordFile });
  if (where.kind === 'postgres') return new PostgresHubMaintenance(where);
  return SqliteHubMaintenance.open(where.path, o);
}
