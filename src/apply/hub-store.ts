/**
 * The hub database: one table per tracked table (same name, same columns, current version of
 * every row) and ferry's bookkeeping in ferry_* tables:
 *   ferry_tables     schema of each table as received (columns, key)
 *   ferry_bundles    every bundle applied: the ledger that makes a re-import a no-op
 *   ferry_applied    per origin, the ranges of seqs applied (changes re-sent are skipped)
 *   ferry_rows       per row: the version (origin, seq, clock) now in the table; tombstones for deletes
 *   ferry_conflicts  rows changed at two facilities: both versions, the rule's choice, any override
 *   ferry_rejected   changes that could not be applied, with the reason
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ErrorCodes, usageError } from '../errors.js';
import type { ColumnSpec, TableRecord } from '../format/records.js';
import { q } from '../capture/sql.js';
import { RangeSet, type Range } from './ranges.js';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_tables (name TEXT PRIMARY KEY, key_columns TEXT NOT NULL, columns TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ferry_bundles (
  bundle_id TEXT PRIMARY KEY, origin TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  changes INTEGER NOT NULL, applied INTEGER NOT NULL, already_present INTEGER NOT NULL, conflicts INTEGER NOT NULL,
  rejected INTEGER NOT NULL, created TEXT NOT NULL, applied_at TEXT NOT NULL, file TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ferry_applied (origin TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY (origin, first_seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
  wall INTEGER NOT NULL, counter INTEGER NOT NULL, deleted INTEGER NOT NULL,
  PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_conflicts (
  id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL, detected_at TEXT NOT NULL, bundle_id TEXT NOT NULL,
  current_origin TEXT NOT NULL, current_seq INTEGER NOT NULL, current_clock TEXT NOT NULL, current_row TEXT,
  other_origin TEXT NOT NULL, other_seq INTEGER NOT NULL, other_clock TEXT NOT NULL, other_row TEXT,
  resolved_at TEXT, resolution TEXT
);
CREATE TABLE IF NOT EXISTS ferry_rejected (
  id INTEGER PRIMARY KEY, at TEXT NOT NULL, bundle_id TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, tbl TEXT NOT NULL, reason TEXT NOT NULL
);
`;

/** Open the hub database; `create` only at init: later, a missing file is a configuration error. */
export function openHubDb(path: string, o: { create?: boolean } = {}): Db {
  if (!o.create && !existsSync(path)) {
    throw usageError(ErrorCodes.DB_MISSING, `the hub database ${path} does not exist`, {
      where: path,
      hint: 'is the disk holding it mounted? restore it from a backup, or fix "db" in node.json; ferry will not start an empty one (its ledger would be lost)',
    });
  }
  let db: Db;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    // 48 MiB of page cache: a large import touches the table and ferry_rows at random keys
    // (docs/PERFORMANCE.md: 7% faster than 32 MiB at a million changes, 64 MiB would pass 200 MB RSS).
    db.pragma('cache_size = -49152');
    db.exec(SCHEMA);
  } catch (err) {
    throw usageError(ErrorCodes.DB_MISSING, `cannot open the hub database ${path} (${(err as Error).message})`, { where: path, cause: err, hint: 'check the path in node.json and the folder permissions' });
  }
  return db;
}

export interface HubTable {
  name: string;
  key: string[];
  columns: ColumnSpec[];
}

export function hubTables(db: Db): HubTable[] {
  return (db.prepare('SELECT name, key_columns, columns FROM ferry_tables ORDER BY name').all() as Array<{ name: string; key_columns: string; columns: string }>).map((r) => ({
    name: r.name,
    key: JSON.parse(r.key_columns) as string[],
    columns: JSON.parse(r.columns) as ColumnSpec[],
  }));
}

/**
 * Make the hub table match a table record: create it, or add the columns it lacks. Returns a
 * reason string when the record cannot be applied here (a different key, a reserved name).
 */
export function ensureTable(db: Db, t: TableRecord): string | undefined {
  if (/^ferry_/i.test(t.table) || /^sqlite_/i.test(t.table)) return `table name ${t.table} is reserved`;
  const known = db.prepare('SELECT key_columns, columns FROM ferry_tables WHERE name = ?').get(t.table) as { key_columns: string; columns: string } | undefined;
  if (known) {
    const key = JSON.parse(known.key_columns) as string[];
    if (key.join('\u0000') !== t.key.join('\u0000')) return `table ${t.table} is keyed by ${key.join(',')} at the hub, but by ${t.key.join(',')} at the sender`;
    const columns = JSON.parse(known.columns) as ColumnSpec[];
    const have = new Set(columns.map((c) => c.name));
    const added = t.columns.filter((c) => !have.has(c.name));
    for (const c of added) db.exec(`ALTER TABLE ${q(t.table)} ADD COLUMN ${q(c.name)} ${c.type}`);
    if (added.length) db.prepare('UPDATE ferry_tables SET columns = ? WHERE name = ?').run(JSON.stringify([...columns, ...added]), t.table);
    return undefined;
  }
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t.table);
  if (exists) {
    // A table made by someone else: adopt it, adding what it lacks and a unique key index for upserts.
    const have = new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(t.table) as Array<{ name: string }>).map((r) => r.name));
    for (const c of t.columns) if (!have.has(c.name)) db.exec(`ALTER TABLE ${q(t.table)} ADD COLUMN ${q(c.name)} ${c.type}`);
    db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${q(`ferry_key_${t.table}`)} ON ${q(t.table)} (${t.key.map(q).join(', ')})`);
  } else {
    const defs = t.columns.map((c) => `${q(c.name)}${c.type ? ` ${c.type}` : ''}`);
    db.exec(`CREATE TABLE ${q(t.table)} (${defs.join(', ')}, PRIMARY KEY (${t.key.map(q).join(', ')}))`);
  }
  db.prepare('INSERT INTO ferry_tables (name, key_columns, columns) VALUES (?, ?, ?)').run(t.table, JSON.stringify(t.key), JSON.stringify(t.columns));
  return undefined;
}

export function appliedRanges(db: Db, origin: string): RangeSet {
  const rows = db.prepare('SELECT first_seq, last_seq FROM ferry_applied WHERE origin = ? ORDER BY first_seq').raw(true).all(origin) as Range[];
  return new RangeSet(rows);
}

export function saveAppliedRanges(db: Db, origin: string, set: RangeSet): void {
  db.prepare('DELETE FROM ferry_applied WHERE origin = ?').run(origin);
  const ins = db.prepare('INSERT INTO ferry_applied (origin, first_seq, last_seq) VALUES (?, ?, ?)');
  for (const [a, b] of set.toArray()) ins.run(origin, a, b);
}

export interface Gap {
  origin: string;
  first: number;
  last: number;
}

/** Per origin, the seqs that have not arrived although later ones have. */
export function gaps(db: Db): Gap[] {
  const origins = (db.prepare('SELECT DISTINCT origin FROM ferry_applied ORDER BY origin').all() as Array<{ origin: string }>).map((r) => r.origin);
  return origins.flatMap((o) => appliedRanges(db, o).gaps().map(([first, last]) => ({ origin: o, first, last })));
}

export interface LedgerEntry {
  bundle_id: string;
  origin: string;
  first_seq: number;
  last_seq: number;
  changes: number;
  applied: number;
  already_present: number;
  conflicts: number;
  rejected: number;
  created: string;
  applied_at: string;
  file: string;
}

export function ledgerEntry(db: Db, bundleId: string): LedgerEntry | undefined {
  return db.prepare('SELECT * FROM ferry_bundles WHERE bundle_id = ?').get(bundleId) as LedgerEntry | undefined;
}

export function recentBundles(db: Db, limit = 20): LedgerEntry[] {
  return db.prepare('SELECT * FROM ferry_bundles ORDER BY applied_at DESC, rowid DESC LIMIT ?').all(limit) as LedgerEntry[];
}

/** INSERT … ON CONFLICT (key) DO UPDATE for the given columns of a hub table. */
export function upsertSql(table: string, key: string[], columns: string[]): string {
  const rest = columns.filter((c) => !key.includes(c));
  const action = rest.length ? `DO UPDATE SET ${rest.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}` : 'DO NOTHING';
  return `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (${key.map(q).join(', ')}) ${action}`;
}

/** A WHERE clause matching one row by its key. */
export const keyWhere = (key: string[]): string => key.map((k) => `${q(k)} = ?`).join(' AND ');
