/**
 * The facility's change log, inside the EMR database so that a change and its log entry commit
 * or roll back together:
 *   ferry_clock   one row: the last sequence number and the hybrid logical clock (wall ms, counter)
 *   ferry_tables  tracked tables: name, key columns, columns, whether triggers are installed, scope
 *   ferry_log_N   one per tracked table: ferry_seq, ferry_op, ferry_wall, ferry_counter and a
 *                 copy of the row's columns (untyped, so values keep their storage class); a
 *                 shared table's log also holds ferry_old_<column> for each column: the row as
 *                 it was before an update or delete, whose digest the hub compares with its own
 * Triggers are plain SQL so that any program's SQLite library can run them.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ErrorCodes, refusedError, usageError } from '../core/errors.js';
import { TABLE_SCOPES, type ColumnSpec, type TableScope } from '../format/records.js';
import { q } from '../core/sql-identifier.js';
import { nameKey } from '../format/names.js';
import { shownName } from './sendable-columns.js';

export type Db = Database.Database;

export interface TrackedTable {
  id: number;
  name: string;
  key: string[];
  columns: ColumnSpec[];
  active: boolean;
  /** whose rows the table holds at the hub; tables tracked before scopes existed are facility-owned */
  scope: TableScope;
}

const SCOPE_COLUMN = "TEXT NOT NULL DEFAULT 'facility' CHECK (scope IN ('facility', 'shared'))";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_clock (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  wall INTEGER NOT NULL,
  counter INTEGER NOT NULL
);
INSERT OR IGNORE INTO ferry_clock (id, seq, wall, counter) VALUES (1, 0, 0, 0);
CREATE TABLE IF NOT EXISTS ferry_tables (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  key_columns TEXT NOT NULL,
  columns TEXT NOT NULL,
  active INTEGER NOT NULL,
  tracked_at TEXT NOT NULL
);
`;

/**
 * A change log made before scopes existed gets the column with its default: every table it
 * tracked was sent as one facility's own, so that is what they stay. A new one gets it the
 * same way (one definition of the column, and SCHEMA stays plain text for exec).
 */
function addScopeColumn(db: Db): void {
  const has = db.prepare("SELECT 1 FROM pragma_table_info('ferry_tables') WHERE name = 'scope'").get();
  if (!has) db.prepare(`ALTER TABLE ferry_tables ADD COLUMN scope ${SCOPE_COLUMN}`).run();
}

export function openEmrDb(path: string): Db {
  if (!existsSync(path)) {
    throw usageError(ErrorCodes.DB_MISSING, `the database ${path} does not exist`, { where: path, hint: "give the path of the EMR's SQLite file with --db" });
  }
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    throw usageError(ErrorCodes.DB_MISSING, `${path} is not a readable SQLite database (${(err as Error).message})`, { where: path, cause: err });
  }
  db.exec(SCHEMA);
  addScopeColumn(db);
  return db;
}

export const logTable = (t: Pick<TrackedTable, 'id'>) => `ferry_log_${t.id}`;
const META = ['ferry_seq', 'ferry_op', 'ferry_wall', 'ferry_counter'];
/** The log column holding a shared table's column as it was before the change (EMR columns never start with ferry_). */
export const oldImageColumn = (column: string) => `ferry_old_${column}`;

export function trackedTables(db: Db): TrackedTable[] {
  // `*`: an EMR opened for reading may hold a ferry_tables from before scopes (no scope column).
  return (db.prepare('SELECT * FROM ferry_tables ORDER BY id').all() as Array<{ id: number; name: string; key_columns: string; columns: string; active: number; scope?: unknown }>).map((r) => ({
    id: r.id,
    name: r.name,
    key: JSON.parse(r.key_columns) as string[],
    columns: JSON.parse(r.columns) as ColumnSpec[],
    active: r.active === 1,
    scope: storedScope(r.name, r.scope),
  }));
}

function storedScope(table: string, scope: unknown): TableScope {
  if (scope === undefined) return 'facility';
  if (TABLE_SCOPES.includes(scope as TableScope)) return scope as TableScope;
  // The CHECK constraint keeps anything else out; only an edit that bypassed it gets here.
  throw refusedError(ErrorCodes.DB_UNREADABLE, `the EMR's change log gives table ${shownName(table)} a scope that is neither facility nor shared (ferry_tables was edited)`, {
    hint: "set ferry_tables.scope back to 'facility' or 'shared' for that table, as it was tracked",
  });
}

/** Columns of a table as SQLite reports them now (generated and hidden columns excluded). */
export function currentColumns(db: Db, table: string): { columns: ColumnSpec[]; pk: string[] } | undefined {
  const rows = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?)`).all(table) as Array<{ name: string; type: string; pk: number }>;
  if (rows.length === 0) return undefined;
  return {
    columns: rows.map((r) => ({ name: r.name, type: r.type })),
    pk: rows.filter((r) => r.pk > 0).sort((a, b) => a.pk - b.pk).map((r) => r.name),
  };
}

/** Milliseconds since the Unix epoch, in SQL every SQLite version understands (triggers run in the EMR's library). */
const SQL_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

/** One clock tick: next seq, and the HLC moved to max(wall, now) with the counter reset or bumped. */
const TICK = `UPDATE ferry_clock SET seq = seq + 1, counter = CASE WHEN ${SQL_NOW_MS} > wall THEN 0 ELSE counter + 1 END, wall = MAX(wall, ${SQL_NOW_MS}) WHERE id = 1;`;

/** One log row from the trigger's image(s): `values` pairs each log column with the expression it takes. */
function logInsert(t: TrackedTable, op: 'insert' | 'update' | 'delete', values: Array<[string, string]>): string {
  const names = [...META, ...values.map(([c]) => c)].map(q).join(', ');
  const exprs = values.map(([, e]) => e).join(', ');
  return `INSERT INTO ${q(logTable(t))} (${names}) SELECT seq, '${op}', wall, counter${exprs ? `, ${exprs}` : ''} FROM ferry_clock WHERE id = 1;`;
}

const image = (which: 'NEW' | 'OLD', cols: string[]): Array<[string, string]> => cols.map((c) => [c, `${which}.${q(c)}`]);
/** A shared table's update or delete also keeps the row as it was: the hub checks it still holds that row. */
const oldImage = (t: TrackedTable): Array<[string, string]> => (t.scope === 'shared' ? t.columns.map((c) => [oldImageColumn(c.name), `OLD.${q(c.name)}`]) : []);

export function triggerSql(t: TrackedTable): string[] {
  const all = t.columns.map((c) => c.name);
  const sameKey = t.key.map((k) => `NEW.${q(k)} IS OLD.${q(k)}`).join(' AND ');
  const name = (suffix: string) => q(`ferry_${t.id}_${suffix}`);
  const on = q(t.name);
  const inserted = logInsert(t, 'insert', image('NEW', all));
  const deleted = logInsert(t, 'delete', [...image('OLD', t.key), ...oldImage(t)]);
  return [
    `CREATE TRIGGER ${name('insert')} AFTER INSERT ON ${on} BEGIN ${TICK} ${inserted} END`,
    `CREATE TRIGGER ${name('update')} AFTER UPDATE ON ${on} WHEN ${sameKey} BEGIN ${TICK} ${logInsert(t, 'update', [...image('NEW', all), ...oldImage(t)])} END`,
    // A key change is a delete of the old key plus an insert of the new one.
    `CREATE TRIGGER ${name('rekey')} AFTER UPDATE ON ${on} WHEN NOT (${sameKey}) BEGIN ${TICK} ${deleted} ${TICK} ${inserted} END`,
    `CREATE TRIGGER ${name('delete')} AFTER DELETE ON ${on} BEGIN ${TICK} ${deleted} END`,
  ];
}

export function dropTriggers(db: Db, t: Pick<TrackedTable, 'id'>): void {
  for (const s of ['insert', 'update', 'rekey', 'delete']) db.prepare(`DROP TRIGGER IF EXISTS ${q(`ferry_${t.id}_${s}`)}`).run();
}

/**
 * Queue every current row of the table as a change: an initial snapshot (insert), or, after a
 * schema change or a re-track, an update. A shared table's update is based on the row as the
 * hub last received it from here: the current values of the columns tracked before
 * (`trackedBefore`; every change to them was captured and goes first), NULL for columns new to
 * tracking (the hub has not seen them). An insert has no old image.
 */
export function snapshotRows(db: Db, t: TrackedTable, op: 'insert' | 'update', nowMs: number, trackedBefore: readonly ColumnSpec[] = []): number {
  const n = Number((db.prepare(`SELECT count(*) AS n FROM ${q(t.name)}`).get() as { n: number }).n);
  if (n === 0) return 0;
  const clock = db.prepare('SELECT seq, wall, counter FROM ferry_clock WHERE id = 1').get() as { seq: number; wall: number; counter: number };
  const wall = Math.max(clock.wall, nowMs);
  const counter0 = nowMs > clock.wall ? -1 : clock.counter;
  const cols = t.columns.map((c) => q(c.name)).join(', ');
  const order = t.key.map(q).join(', ');
  const before = new Set(trackedBefore.map((c) => nameKey(c.name)));
  const old = t.scope === 'shared' && op === 'update' ? t.columns.filter((c) => before.has(nameKey(c.name))).map((c) => c.name) : [];
  const oldNames = old.map((c) => `, ${q(oldImageColumn(c))}`).join('');
  const oldValues = old.map((c) => `, ${q(c)}`).join('');
  // The row number's alias must not be a name the EMR can give a column that travels (an `rn`
  // column would be read instead of it, or it instead of the column): ferry_ names are reserved.
  db.prepare(
    `INSERT INTO ${q(logTable(t))} (${META.map(q).join(', ')}, ${cols}${oldNames})
     SELECT @seq0 + ferry_rn, @op, @wall, @counter0 + ferry_rn, ${cols}${oldValues} FROM (SELECT ROW_NUMBER() OVER (ORDER BY ${order}) AS ferry_rn, ${cols} FROM ${q(t.name)})`,
  ).run({ seq0: clock.seq, op, wall, counter0 });
  db.prepare('UPDATE ferry_clock SET seq = seq + ?, wall = ?, counter = ? WHERE id = 1').run(n, wall, counter0 + n);
  return n;
}

/** The log's columns for a table: each tracked column, and a shared table's old image of each. */
export function logValueColumns(t: Pick<TrackedTable, 'columns' | 'scope'>): string[] {
  const names = t.columns.map((c) => c.name);
  return t.scope === 'shared' ? [...names, ...names.map(oldImageColumn)] : names;
}

export function createLogTable(db: Db, t: TrackedTable): void {
  const cols = logValueColumns(t).map(q).join(', ');
  db.prepare(`CREATE TABLE IF NOT EXISTS ${q(logTable(t))} (ferry_seq INTEGER PRIMARY KEY, ferry_op TEXT NOT NULL, ferry_wall INTEGER NOT NULL, ferry_counter INTEGER NOT NULL${cols ? `, ${cols}` : ''})`).run();
}

export function logColumns(db: Db, t: TrackedTable): string[] {
  return (db.prepare('SELECT name FROM pragma_table_info(?)').all(logTable(t)) as Array<{ name: string }>).map((r) => r.name);
}

/** Changes captured and not yet acknowledged (all of them are in the log until an ack prunes them). */
export function pendingCount(db: Db): number {
  let n = 0;
  for (const t of trackedTables(db)) n += Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))}`).get() as { n: number }).n);
  return n;
}

export interface TablePending {
  table: string;
  pending: number;
  active: boolean;
  scope: TableScope;
}

export function pendingByTable(db: Db): TablePending[] {
  return trackedTables(db).map((t) => ({ table: t.name, active: t.active, scope: t.scope, pending: Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))}`).get() as { n: number }).n) }));
}

export interface OldestPending {
  seq: number;
  wallMs: number;
}

export function oldestPending(db: Db): OldestPending | undefined {
  let best: OldestPending | undefined;
  for (const t of trackedTables(db)) {
    const r = db.prepare(`SELECT ferry_seq AS seq, ferry_wall AS wall FROM ${q(logTable(t))} ORDER BY ferry_seq LIMIT 1`).get() as { seq: number; wall: number } | undefined;
    if (r && (!best || r.seq < best.seq)) best = { seq: r.seq, wallMs: r.wall };
  }
  return best;
}

export function lastSeq(db: Db): number {
  return Number((db.prepare('SELECT seq FROM ferry_clock WHERE id = 1').get() as { seq: number }).seq);
}

/** Is every seq from first to last still in the change log (captured, not yet pruned)? */
export function allPending(db: Db, first: number, last: number): boolean {
  let n = 0;
  for (const t of trackedTables(db)) n += Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))} WHERE ferry_seq BETWEEN ? AND ?`).get(first, last) as { n: number }).n);
  return n === last - first + 1;
}

/** Remove acknowledged changes from the log. Returns how many were removed. */
export function pruneRange(db: Db, first: number, last: number): number {
  let n = 0;
  const run = db.transaction(() => {
    for (const t of trackedTables(db)) n += db.prepare(`DELETE FROM ${q(logTable(t))} WHERE ferry_seq BETWEEN ? AND ?`).run(first, last).changes;
  });
  run.immediate();
  return n;
}

/** The table's name as the EMR's schema spells it (SQLite matches table names in any case). */
export function requireTable(db: Db, name: string): { name: string; columns: ColumnSpec[]; pk: string[] } {
  const row = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE").get(name) as { name: string } | undefined;
  const cur = row && currentColumns(db, row.name);
  if (!row || !cur) throw usageError(ErrorCodes.TABLE_MISSING, `there is no table ${name} in the database`, { hint: 'check the spelling, and that --db is the EMR database' });
  return { name: row.name, ...cur };
}

