/**
 * `ferry migrate` (hub): a hub database an older ferry made, converted to the current version
 * after a checked backup, under the node's lock, in one transaction (docs/OPERATIONS.md
 * "Upgrading a hub database"). Every other command refuses such a database until then.
 */
import { ErrorCodes, usageError } from '../core/errors.js';
import type { OpContext } from '../node/context.js';
import { withLockedSession } from '../node/node-session.js';
import { openHubMaintenance, type MigrationReport } from '../store/hub-maintenance.js';
import { backupName, backupsFolder, unchangedSince } from './hub-database-change.js';

export type { MigrationReport, TableReport, OriginRows, HubBackup } from '../store/hub-maintenance.js';

export interface MigrateResult extends MigrationReport {
  /** false: the database was at the current version already, and nothing was done */
  migrated: boolean;
}

export function migrateHubDatabase(ctx: OpContext, o: { shared?: string[] } = {}): Promise<MigrateResult> {
  const shared = o.shared ?? [];
  return withLockedSession(ctx, 'hub', 'migrate', async (s) => {
    const db = openHubMaintenance(s.config.db!, { anyVersion: true, passwordFile: s.config.db_password_file });
    let result: MigrateResult;
    try {
      const { version, current } = await db.versions();
      if (version >= current) {
        if (shared.length > 0) {
          throw usageError(ErrorCodes.USAGE, `the hub database is at version ${version} already: --shared applies only while migrating`, {
            hint: 'to change a table\'s scope now, run `ferry rescope --table T --scope shared` (docs/OPERATIONS.md "Changing a table\'s scope")',
          });
        }
        return { migrated: false, from_version: version, to_version: version, backup: null, tables: [], rows_recovered: 0, conflicts_closed: 0 };
      }
      await db.checkMigration({ shared });
      ctx.progress({ phase: 'backup' });
      const backup = await db.backup(backupsFolder(ctx), backupName('migrate', ctx.now()));
      ctx.progress({ phase: 'migrate' });
      try {
        result = { migrated: true, backup, ...(await db.migrate({ shared, at: ctx.now() })) };
      } catch (err) {
        // Not audited: the audit log is reached through the hub store, which opens no outdated database.
        throw unchangedSince(err, backup.path);
      }
    } finally {
      await db.close();
    }
    // Table names and counts only: never a row's values.
    await s.audit({
      action: 'migrate',
      outcome: 'migrated',
      detail: {
        from_version: result.from_version,
        to_version: result.to_version,
        backup: result.backup!.path,
        facility_owned: result.tables.filter((t) => t.scope === 'facility').map((t) => t.table),
        shared: result.tables.filter((t) => t.scope === 'shared').map((t) => t.table),
        rows_recovered: result.rows_recovered,
        conflicts_closed: result.conflicts_closed,
      },
    });
    return result;
  }, { auditLockAfter: true });
}
