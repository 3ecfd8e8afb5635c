/** The hub database's deliberate changes (src/store/hub-maintenance.ts) in SQLite. */
import { dirname } from 'node:path';
import { ErrorCodes, FerryError, ioError } from '../../core/errors.js';
import type { TableScope } from '../../format/records.js';
import type { HubBackup, HubMaintenance, MigrationReport, RescopeReport } from '../hub-maintenance.js';
import { backupHubDb, checkFreeSpace, usedBytes } from './backup.js';
import { openHubDb, SCHEMA_VERSION, schemaVersion, type Db } from './hub-db.js';
import { checkMigration, migrateToV2 } from './migrate-v2.js';
import { checkRescope, rescopeTable, scopedTable } from './rescope.js';
import { registerScopeFunctions } from './table-scope.js';

export class SqliteHubMaintenance implements HubMaintenance {
  private constructor(
    private readonly db: Db,
    private readonly path: string,
  ) {
    registerScopeFunctions(db);
  }

  static open(path: string, o: { anyVersion?: boolean }): SqliteHubMaintenance {
    return new SqliteHubMaintenance(openHubDb(path, { anyVersion: o.anyVersion === true }), path);
  }

  async versions() {
    return { version: schemaVersion(this.db), current: SCHEMA_VERSION };
  }

  async table(name: string) {
    return scopedTable(this.db, name);
  }

  async backup(folder: string, name: string): Promise<HubBackup> {
    return backupHubDb(this.db, this.path, folder, name);
  }

  async checkMigration(o: { shared: string[] }): Promise<void> {
    checkMigration(this.db, o.shared);
  }

  async checkRescope(o: { table: string; scope: TableScope }): Promise<void> {
    checkRescope(this.db, o.table, o.scope);
  }

  async migrate(o: { shared: string[]; at: Date }): Promise<Omit<MigrationReport, 'backup'>> {
    return this.rebuilding('converting the hub database', () => migrateToV2(this.db, { shared: o.shared, at: o.at.toISOString() }));
  }

  async rescope(o: { table: string; scope: TableScope; at: Date }): Promise<Omit<RescopeReport, 'backup'>> {
    return this.rebuilding(`changing the scope of ${o.table}`, () => rescopeTable(this.db, o.table, o.scope, o.at.toISOString()));
  }

  /** A change that rebuilds tables needs about the database's size again, in its WAL, until it commits. */
  private rebuilding<T>(what: string, change: () => T): T {
    checkFreeSpace(dirname(this.path), usedBytes(this.db), what, 'nothing was changed');
    try {
      return change();
    } catch (err) {
      if (err instanceof FerryError || (err as { code?: string }).code !== 'SQLITE_FULL') throw err;
      throw ioError(ErrorCodes.DISK_FULL, `the disk holding ${this.path} filled up while ${what}`, { where: this.path, cause: err, hint: 'free some space on that disk, then run it again; nothing was changed' });
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
