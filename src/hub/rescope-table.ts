/**
 * `ferry rescope` (hub): one table's scope changed on purpose, after a checked backup, under the
 * node's lock, in one transaction, and audited. The facilities change theirs with `track`
 * (docs/OPERATIONS.md "Changing a table's scope"); until then the hub refuses their changes to
 * the table, which wait at the facility.
 */
import type { TableScope } from '../format/records.js';
import { asFerryError } from '../core/errors.js';
import type { OpContext } from '../node/context.js';
import { withLockedSession } from '../node/node-session.js';
import { openHubMaintenance, type RescopeReport } from '../store/hub-maintenance.js';
import { backupName, backupsFolder, unchangedSince } from './hub-database-change.js';

export type { RescopeReport } from '../store/hub-maintenance.js';

export interface RescopeResult extends RescopeReport {
  /** false: the table had that scope already, and nothing was done */
  changed: boolean;
}

export function rescopeHubTable(ctx: OpContext, o: { table: string; scope: TableScope }): Promise<RescopeResult> {
  return withLockedSession(ctx, 'hub', 'rescope', async (s) => {
    const db = openHubMaintenance(s.config.db!, { passwordFile: s.config.db_password_file });
    let result: RescopeResult;
    try {
      const t = await db.table(o.table);
      if (t.scope === o.scope) return { changed: false, table: t.name, key: t.key, from_scope: t.scope, to_scope: t.scope, backup: null, rows: [], rows_merged: 0, rows_recovered: 0, conflicts_closed: 0 };
      try {
        await db.checkRescope({ table: t.name, scope: o.scope });
      } catch (err) {
        await s.audit({ action: 'rescope', outcome: 'refused', detail: { table: t.name, to_scope: o.scope, code: asFerryError(err).code } });
        throw err;
      }
      ctx.progress({ phase: 'backup' });
      const backup = await db.backup(backupsFolder(ctx), backupName('rescope', ctx.now()));
      ctx.progress({ phase: 'rescope' });
      try {
        result = { changed: true, backup, ...(await db.rescope({ table: t.name, scope: o.scope, at: ctx.now() })) };
      } catch (err) {
        const e = asFerryError(err);
        await s.audit({ action: 'rescope', outcome: e.kind === 'refused' ? 'refused' : 'failed', detail: { table: t.name, to_scope: o.scope, code: e.code, backup: backup.path } });
        throw unchangedSince(err, backup.path);
      }
    } finally {
      await db.close();
    }
    await s.audit({
      action: 'rescope',
      outcome: 'changed',
      detail: { table: result.table, from_scope: result.from_scope, to_scope: result.to_scope, backup: result.backup!.path, rows_merged: result.rows_merged, rows_recovered: result.rows_recovered, conflicts_closed: result.conflicts_closed },
    });
    return result;
  });
}
