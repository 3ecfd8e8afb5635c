/**
 * The facility's change log, inside the EMR database so that a change and its log entry commit
 * or roll back together:
 *   ferry_clock   one row: the last sequence number and the hybrid logical clock (wall ms, counter)
 *   ferry_tables  tracked tables: name, key columns, columns, whether triggers are installed
 *   ferry_log_N   one per tracked table: ferry_seq, ferry_op, ferry_wall, ferry_counter and a
 *                 copy of the row's columns (untyped, so values keep their storage class)
 * Triggers are plain SQL so that any program's SQLite library can run them.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ErrorCodes, usageError } from '../core/errors.js';
import type { ColumnSpec } from '../format/records.js';
import { q } from '../core/sql-identifier.js';

export type Db = Database.Database;

export interface TrackedTable {
  id: number;
  name: string;
  key: string[];
  columns: ColumnSpec[];
  active: boolean;
}

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
  return db;
}

export const logTable = (t: Pick<TrackedTable, 'id'>) => `ferry_log_${t.id}`;
const META = ['ferry_seq', 'ferry_op', 'ferry_wall', 'ferry_counter'];

export function trackedTables(db: Db): TrackedTable[] {
  return (db.prepare('SELECT id, name, key_columns, columns, active FROM ferry_tables ORDER BY id').all() as Array<{ id: number; name: string; key_columns: string; columns: string; active: number }>).map(
    (r) => ({ id: r.id, name: r.name, key: JSON.parse(r.key_columns) as string[], columns: JSON.parse(r.columns) as ColumnSpec[], active: r.active === 1 }),
  );
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

function logInsert(t: TrackedTable, op: 'insert' | 'update' | 'delete', image: 'NEW' | 'OLD', cols: string[]): string {
  const names = [...META, ...cols].map(q).join(', ');
  const values = cols.map((c) => `${image}.${q(c)}`).join(', ');
  return `INSERT INTO ${q(logTable(t))} (${names}) SELECT seq, '${op}', wall, counter${values ? `, ${values}` : ''} FROM ferry_clock WHERE id = 1;`;
}

export function triggerSql(t: TrackedTable): string[] {
  const all = t.columns.map((c) => c.name);
  const sameKey = t.key.map((k) => `NEW.${q(k)} IS OLD.${q(k)}`).join(' AND ');
  const name = (suffix: string) => q(`ferry_${t.id}_${suffix}`);
  const on = q(t.name);
  return [
    `CREATE TRIGGER ${name('insert')} AFTER INSERT ON ${on} BEGIN ${TICK} ${logInsert(t, 'insert', 'NEW', all)} END`,
    `CREATE TRIGGER ${name('update')} AFTER UPDATE ON ${on} WHEN ${sameKey} BEGIN ${TICK} ${logInsert(t, 'update', 'NEW', all)} END`,
    // A key change is a delete of the old key plus an insert of the new one.
    `CREATE TRIGGER ${name('rekey')} AFTER UPDATE ON ${on} WHEN NOT (${sameKey}) BEGIN ${TICK} ${logInsert(t, 'delete', 'OLD', t.key)} ${TICK} ${logInsert(t, 'insert', 'NEW', all)} END`,
    `CREATE TRIGGER ${name('delete')} AFTER DELETE ON ${on} BEGIN ${TICK} ${logInsert(t, 'delete', 'OLD', t.key)} END`,
  ];
}

export function dropTriggers(db: Db, t: Pick<TrackedTable, 'id'>): void {
  for (const s of ['insert', 'update', 'rekey', 'delete']) db.prepare(`DROP TRIGGER IF EXISTS ${q(`ferry_${t.id}_${s}`)}`).run();
}

/** Queue every current row of the table as a change (initial snapshot, or after a schema change). */
export function snapshotRows(db: Db, t: TrackedTable, op: 'insert' | 'update', nowMs: number): number {
  const n = Number((db.prepare(`SELECT count(*) AS n FROM ${q(t.name)}`).get() as { n: number }).n);
  if (n === 0) return 0;
  const clock = db.prepare('SELECT seq, wall, counter FROM ferry_clock WHERE id = 1').get() as { seq: number; wall: number; counter: number };
  const wall = Math.max(clock.wall, nowMs);
  const counter0 = nowMs > clock.wall ? -1 : clock.counter;
  const cols = t.columns.map((c) => q(c.name)).join(', ');
  const order = t.key.map(q).join(', ');
  // The row number's alias must not be a name the EMR can give a column that travels (an `rn`
  // column would be read instead of it, or it instead of the column): ferry_ names are reserved.
  db.prepare(
    `INSERT INTO ${q(logTable(t))} (${META.map(q).join(', ')}, ${cols})
     SELECT @seq0 + ferry_rn, @op, @wall, @counter0 + ferry_rn, ${cols} FROM (SELECT ROW_NUMBER() OVER (ORDER BY ${order}) AS ferry_rn, ${cols} FROM ${q(t.name)})`,
  ).run({ seq0: clock.seq, op, wall, counter0 });
  db.prepare('UPDATE ferry_clock SET seq = seq + ?, wall = ?, counter = ? WHERE id = 1').run(n, wall, counter0 + n);
  return n;
}

export function createLogTable(db: Db, t: TrackedTable): void {
  const cols = t.columns.map((c) => q(c.name)).join(', ');
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

export function pendingByTable(db: Db): Array<{ table: string; pending: number; active: boolean }> {
  return trackedTables(db).map((t) => ({ table: t.name, active: t.active, pending: Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))}`).get() as { n: number }).n) }));
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

