/**
 * `ferry rescope`: one table's scope changed on purpose, in one transaction. The facilities'
 * side (untrack, drain, track again with or without --shared) is theirs: until they send the new
 * scope, the hub refuses their changes to the table and they wait at the facility.
 */
import { ErrorCodes, refusedError, usageError } from '../../core/errors.js';
import type { TableScope } from '../../format/records.js';
import type { RescopeReport } from '../hub-maintenance.js';
import { rowsPerOrigin, type Db } from './hub-db.js';
import { keepConflictsApart, keysHeldDifferently, makeFacilityOwned, makeShared, unownedRows } from './table-scope.js';

export const KEPT_APART_BY_RESCOPE = 'kept apart by ferry rescope: the rows belong to two facilities (facility-owned table)';

/** The table as ferry_tables holds it, or a usage error naming the tables there are. */
export function scopedTable(db: Db, table: string): { name: string; key: string[]; scope: TableScope } {
  const r = db.prepare('SELECT name, key_columns, scope FROM ferry_tables WHERE name = ? COLLATE NOCASE').get(table) as { name: string; key_columns: string; scope: TableScope } | undefined;
  if (!r) {
    const names = (db.prepare('SELECT name FROM ferry_tables ORDER BY name').all() as Array<{ name: string }>).map((x) => x.name);
    throw usageError(ErrorCodes.TABLE_NOT_TRACKED, `this hub holds no table ${table}`, { hint: names.length ? `the hub's tables: ${names.join(', ')}` : 'this hub holds no tables yet' });
  }
  return { name: r.name, key: JSON.parse(r.key_columns) as string[], scope: r.scope };
}

/** Refuse, before anything changes (before the backup too), a scope the table's rows cannot take. */
export function checkRescope(db: Db, table: string, to: TableScope): void {
  const t = scopedTable(db, table);
  if (to === t.scope) return;
  if (to === 'shared') {
    const differing = keysHeldDifferently(db, t);
    if (differing > 0) {
      throw refusedError(ErrorCodes.SCOPE_CHANGE_REFUSED, `cannot make ${t.name} shared: ${differing} key(s) are held by two or more facilities with different rows, which one shared row cannot be`, {
        hint: `a shared table needs a key that means the same row at every site (a uuid, a code): keep ${t.name} facility-owned, or make those rows agree at the facilities first; nothing was changed`,
      });
    }
  } else {
    const unowned = unownedRows(db, t);
    if (unowned > 0) {
      throw refusedError(ErrorCodes.SCOPE_CHANGE_REFUSED, `cannot make ${t.name} facility-owned: no facility is known for ${unowned} of its row(s) (made or filled outside ferry)`, {
        hint: `keep ${t.name} shared; nothing was changed`,
      });
    }
  }
}

/** Change the scope; the caller has backed the database up and checked the scope differs. */
export function rescopeTable(db: Db, table: string, to: TableScope, at: string): Omit<RescopeReport, 'backup'> {
  return db
    .transaction(() => {
      checkRescope(db, table, to);
      const t = scopedTable(db, table);
      let merged = 0;
      let kept = { recovered: 0, closed: 0 };
      if (to === 'shared') merged = makeShared(db, t);
      else {
        makeFacilityOwned(db, t);
        kept = keepConflictsApart(db, t, { at, resolution: KEPT_APART_BY_RESCOPE });
      }
      db.prepare('UPDATE ferry_tables SET scope = ? WHERE name = ?').run(to, t.name);
      return { table: t.name, key: t.key, from_scope: t.scope, to_scope: to, rows: rowsPerOrigin(db, t.name, to), rows_merged: merged, rows_recovered: kept.recovered, conflicts_closed: kept.closed };
    })
    .immediate();
}
