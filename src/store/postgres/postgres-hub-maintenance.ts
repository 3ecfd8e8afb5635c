/**
 * `ferry migrate` and `ferry rescope` on a PostgreSQL hub. A PostgreSQL hub is born at the current
 * schema version, so there is nothing to migrate. Changing a table's scope is not built for
 * PostgreSQL yet: it is refused before anything is backed up or changed (docs/OPERATIONS.md
 * "PostgreSQL hub" says what to do meanwhile).
 */
import { ErrorCodes, usageError } from '../../core/errors.js';
import type { HubBackup, HubMaintenance, MigrationReport, RescopeReport } from '../hub-maintenance.js';
import type { TableScope } from '../../format/records.js';
import { openPool, withClient, type PgLocation } from './connection.js';
import { PG_SCHEMA_VERSION } from './schema.js';
import { hubTable } from './tables.js';
import type { Pool } from 'pg';

export class PostgresHubMaintenance implements HubMaintenance {
  private pool: Promise<Pool> | undefined;

  constructor(private readonly location: PgLocation) {}

  private async run<T>(fn: Parameters<typeof withClient<T>>[2]): Promise<T> {
    this.pool ??= openPool(this.location, { max: 1 });
    return withClient(await this.pool, this.location, fn);
  }

  async versions(): Promise<{ version: number; current: number }> {
    const v = await this.run(async (c) => (await c.query("SELECT value FROM ferry_meta WHERE name = 'schema_version'")).rows[0]?.value as string | undefined);
    if (v === undefined) throw usageError(ErrorCodes.DB_NOT_FERRY, `the ${this.location.display} is not a ferry hub's database`, { hint: 'fix "db" in node.json' });
    return { version: Number(v), current: PG_SCHEMA_VERSION };
  }

  async table(name: string): Promise<{ name: string; key: string[]; scope: TableScope }> {
    const t = await this.run((c) => hubTable(c, name));
    if (!t) throw usageError(ErrorCodes.USAGE, `the hub has no table ${name}`, { hint: '`ferry status` lists the tables the hub holds' });
    return { name: t.name, key: t.key, scope: t.scope };
  }

  async backup(): Promise<HubBackup> {
    throw notOnPostgres('a backup by ferry');
  }

  async checkMigration(): Promise<void> {}

  async checkRescope(o: { table: string; scope: TableScope }): Promise<void> {
    throw notOnPostgres(`changing the scope of table ${o.table}`);
  }

  async migrate(): Promise<Omit<MigrationReport, 'backup'>> {
    throw notOnPostgres('migrating');
  }

  async rescope(o: { table: string; scope: TableScope }): Promise<Omit<RescopeReport, 'backup'>> {
    throw notOnPostgres(`changing the scope of table ${o.table}`);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool).end();
  }
}

const notOnPostgres = (what: string) =>
  usageError(ErrorCodes.USAGE, `${what} is not available on a PostgreSQL hub yet; nothing was changed`, {
    hint: 'the table keeps its scope: its changes wait at the facilities whose scope differs (docs/OPERATIONS.md "PostgreSQL hub")',
  });
