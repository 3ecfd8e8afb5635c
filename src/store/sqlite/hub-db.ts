/**
 * The hub database: one table per tracked table (same name, same columns, current version of
 * every row) and ferry's bookkeeping in ferry_* tables:
 *   ferry_tables     schema of each table as received (columns, key) and its scope: a facility-owned
 *                    table has "ferry_origin" first and is keyed by (ferry_origin, key…), so two
 *                    facilities' rows with the same local key are two rows; a shared one is keyed by key
 *   ferry_bundles    every bundle applied: the ledger that makes a re-import a no-op
 *   ferry_applied    per origin, the ranges of seqs applied (changes re-sent are skipped)
 *   ferry_rows       per row: the version (origin, seq, clock) now in the table; tombstones for deletes
 *   ferry_shared_rows per shared row and origin: the origin's latest change held for it and the columns it described
 *   ferry_conflicts  rows changed at two facilities: both versions, the rule's choice, any override
 *   ferry_rejected   changes that could not be applied, with the reason
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { createPrivateFile, keepPrivate } from '../home.js';
import { openFailure } from '../state-db.js';
import { ErrorCodes, usageError } from '../../core/errors.js';
import { scopeName, type ColumnSpec, type TableRecord, type TableScope } from '../../format/records.js';
import { q } from '../../core/sql-identifier.js';
import { duplicateName, isReservedColumnName, isReservedName, nameKey, nameProblem, typeAffinity, type Affinity } from '../../format/names.js';
import type { EncodedValue } from '../../format/values.js';
import { RangeSet, type Range } from '../ranges.js';
import type { Gap, HubTable, LedgerEntry, TableRows } from '../hub-store.js';
import { createOutgoingTables } from './outgoing.js';

export type { Gap, HubTable, LedgerEntry } from '../hub-store.js';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_tables (
  name TEXT PRIMARY KEY COLLATE NOCASE, key_columns TEXT NOT NULL, columns TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('facility', 'shared'))
);
CREATE TABLE IF NOT EXISTS ferry_bundles (
  origin TEXT NOT NULL, bundle_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  changes INTEGER NOT NULL, applied INTEGER NOT NULL, already_present INTEGER NOT NULL, conflicts INTEGER NOT NULL,
  rejected INTEGER NOT NULL, created TEXT NOT NULL, applied_at TEXT NOT NULL, file TEXT NOT NULL,
  PRIMARY KEY (origin, bundle_id)
);
CREATE INDEX IF NOT EXISTS ferry_bundles_by_id ON ferry_bundles (bundle_id);
CREATE TABLE IF NOT EXISTS ferry_applied (origin TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY (origin, first_seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
  wall INTEGER NOT NULL, counter INTEGER NOT NULL, deleted INTEGER NOT NULL, ahead INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_shared_rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, columns TEXT NOT NULL,
  PRIMARY KEY (tbl, key, origin)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_conflicts (
  id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL, detected_at TEXT NOT NULL, bundle_id TEXT NOT NULL,
  current_origin TEXT NOT NULL, current_seq INTEGER NOT NULL, current_clock TEXT NOT NULL, current_row TEXT,
  other_origin TEXT NOT NULL, other_seq INTEGER NOT NULL, other_clock TEXT NOT NULL, other_row TEXT,
  resolved_at TEXT, resolution TEXT, flag TEXT, repeats INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ferry_conflicts_by_row ON ferry_conflicts (tbl, key);
CREATE TABLE IF NOT EXISTS ferry_rejected (
  origin TEXT NOT NULL, seq INTEGER NOT NULL, tbl TEXT NOT NULL, reason TEXT NOT NULL,
  first_at TEXT NOT NULL, at TEXT NOT NULL, bundle_id TEXT NOT NULL, attempts INTEGER NOT NULL,
  PRIMARY KEY (origin, seq)
) WITHOUT ROWID;
`;

/**
 * The hub database's schema version (PRAGMA user_version). Version 2 gave every table a scope:
 * facility-owned tables have ferry_origin first and are keyed by (ferry_origin, key…). A
 * database an older ferry made is never opened as if it were current (its tables merge every
 * facility's rows by the source key): `ferry migrate` converts it (migrate-v2.ts), after a backup.
 */
export const SCHEMA_VERSION = 2;

/** Every ferry_ table the current version has, made where missing (ferry_tables as version 2 defines it, for ferry migrate too). */
export function createMissingTables(db: Db): void {
  db.exec(SCHEMA);
}

/** A version 2 database, new: only `ferry init` makes one. */
function createSchema(db: Db): void {
  db.transaction(() => {
    createMissingTables(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** The hub database's schema version (0 for a file SQLite has never written a version to). */
export const schemaVersion = (db: Db): number => Number(db.pragma('user_version', { simple: true }));

/**
 * Open the hub database; `create` only at init: later, a missing file is a configuration error.
 * `readOnly` (status, the log, the conflict list): nothing is written. A database an older ferry
 * made is refused by every open, to read or to write, until `ferry migrate` converts it; only
 * that command opens it with `anyVersion`.
 */
export function openHubDb(path: string, o: { create?: boolean; readOnly?: boolean; anyVersion?: boolean } = {}): Db {
  if (!o.create && !existsSync(path)) {
    throw usageError(ErrorCodes.DB_MISSING, `the hub database ${path} does not exist`, {
      where: path,
      hint: 'is the disk holding it mounted? restore it from a backup, or fix "db" in node.json; ferry will not start an empty one (its ledger would be lost)',
    });
  }
  let db: Db | undefined;
  try {
    // Patient data in clear: never readable by others, wherever --db points. SQLite gives new
    // -wal and -shm files the database file's mode; ones left by an older ferry are tightened
    // (a change of mode, not of content: a read may do it too).
    if (o.create) createPrivateFile(path);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) keepPrivate(file);
    if (o.readOnly) {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } else {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 10000');
    }
    // 48 MiB of page cache: a large import touches the table and ferry_rows at random keys
    // (docs/PERFORMANCE.md: 7% faster than 32 MiB at a million changes, 64 MiB would pass 200 MB RSS).
    db.pragma('cache_size = -49152');
    // Temporary tables and sorts on disk, in SQLite's small temp cache: queueing a million rows for
    // a facility (its want list, the numbering sort) would otherwise hold them all in memory.
    db.pragma('temp_store = FILE');
  } catch (err) {
    db?.close();
    throw openFailure(err, path, 'the hub database', 'check the path in node.json and the permissions of the file and its folder');
  }
  // Outside the catch: failing to write the schema of a new database is a bug (exit 70), not a wrong path.
  try {
    // Only an empty file gets the schema: a database an older ferry left at that path (--db at
    // init) is refused below like any other, never stamped as current.
    if (o.create && (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0) createSchema(db);
  } catch (err) {
    db.close();
    throw err;
  }
  if (!o.anyVersion && schemaVersion(db) < SCHEMA_VERSION) {
    db.close();
    throw outdated(path);
  }
  // Additive tables of what the hub sends back out: a database made before them gets them here.
  if (!o.readOnly && !o.anyVersion) createOutgoingTables(db);
  return db;
}

/** A hub database an older ferry made: refused, whatever the command, until `ferry migrate` converts it. */
function outdated(path: string) {
  return usageError(ErrorCodes.DB_OUTDATED, `the hub database ${path} was made by an older ferry and is not migrated yet`, {
    where: path,
    hint: 'run `ferry migrate` at this hub (it backs the database up first, then converts it: docs/OPERATIONS.md "Upgrading a hub database"); nothing was changed',
  });
}

export function hubTables(db: Db): HubTable[] {
  return (db.prepare('SELECT name, key_columns, columns, scope FROM ferry_tables ORDER BY name').all() as Array<{ name: string; key_columns: string; columns: string; scope: TableScope }>).map((r) => ({
    name: r.name,
    key: JSON.parse(r.key_columns) as string[],
    columns: JSON.parse(r.columns) as ColumnSpec[],
    scope: r.scope,
  }));
}

/**
 * Whose row it is, in a facility-owned hub table: the sender as the hub verified its signature,
 * never a value a bundle carries (the reader refuses ferry_ column names in a table record).
 */
export const ORIGIN_COLUMN = 'ferry_origin';

/** The columns a hub table is keyed by: the facility's id first in a facility-owned table. */
export const hubKey = (scope: TableScope, key: string[]): string[] => (scope === 'facility' ? [ORIGIN_COLUMN, ...key] : key);

/**
 * Rows of every table: per facility in a facility-owned table (a facility with no rows there has
 * no line, nor has a table with no rows: tables() lists every table), one line for a shared one.
 */
export function rowsByFacility(db: Db): TableRows[] {
  return hubTables(db).flatMap((t) => rowsPerOrigin(db, t.name, t.scope).map((r) => ({ table: t.name, scope: t.scope, ...r })));
}

export const rowCount = (db: Db, table: string): number => Number((db.prepare(`SELECT count(*) AS n FROM ${q(table)}`).get() as { n: number }).n);

/** One table's rows per facility (a facility-owned table: none when it is empty) or in all (shared: origin null). */
export function rowsPerOrigin(db: Db, table: string, scope: TableScope): Array<{ origin: string | null; rows: number }> {
  if (scope === 'shared') return [{ origin: null, rows: rowCount(db, table) }];
  return (db.prepare(`SELECT ${q(ORIGIN_COLUMN)} AS origin, count(*) AS n FROM ${q(table)} GROUP BY 1 ORDER BY 1`).all() as Array<{ origin: string; n: number }>).map((r) => ({ origin: r.origin, rows: Number(r.n) }));
}

/**
 * A table's scope decides whose rows its changes may touch, so it never changes because a bundle
 * says otherwise: the facility keeps the changes pending until the operator changes it on purpose.
 */
const scopeMismatch = (table: string, held: TableScope, sent: TableScope): string =>
  `table ${table} is ${scopeName(held)} at this hub but ${scopeName(sent)} at the sender; its changes wait at the facility until the scope is the same at both (docs/OPERATIONS.md "Changing a table's scope")`;

/**
 * Make the hub table match a table record: create it, or add the columns it lacks. Returns the
 * hub's own name for the table (which may differ in case from the record's), or a reason when
 * the record cannot be applied here (a different key or scope, a reserved or unusable name).
 *
 * Only checked names reach SQL, always quoted, and a declared type only ever picks one of
 * SQLite's affinities: the record's type text is never part of a statement. Names are matched
 * case-insensitively, as SQLite itself matches them.
 */
export function ensureTable(db: Db, t: TableRecord): { name: string; columns: string[]; keyAffinities: Affinity[] } | { refused: string } {
  const badName = [t.table, ...t.columns.map((c) => c.name)].find((n) => nameProblem(n) !== undefined);
  if (badName !== undefined) return { refused: `table ${t.table}: the name ${badName} ${nameProblem(badName)}` };
  if (isReservedName(t.table)) return { refused: `table name ${t.table} is reserved` };
  const reservedColumn = t.columns.find((c) => isReservedColumnName(c.name));
  if (reservedColumn) return { refused: `table ${t.table}: the column name ${reservedColumn.name} is reserved` };
  const duplicate = duplicateName(t.columns.map((c) => c.name));
  if (duplicate) return { refused: `table ${t.table}: the column ${duplicate} is named twice (names are compared without case)` };
  const known = db.prepare('SELECT name, key_columns, columns, scope FROM ferry_tables WHERE name = ? COLLATE NOCASE').get(t.table) as { name: string; key_columns: string; columns: string; scope: TableScope } | undefined;
  if (known) {
    if (known.scope !== t.scope) return { refused: scopeMismatch(known.name, known.scope, t.scope) };
    const key = JSON.parse(known.key_columns) as string[];
    if (key.map(nameKey).join('\u0000') !== t.key.map(nameKey).join('\u0000')) {
      return { refused: `table ${known.name} is keyed by ${key.join(',')} at the hub, but by ${t.key.join(',')} at the sender; its changes wait at the facility until the key is the same at both (docs/OPERATIONS.md Troubleshooting, "A facility's pending count never reaches 0")` };
    }
    const columns = JSON.parse(known.columns) as ColumnSpec[];
    const have = new Set(columns.map((c) => nameKey(c.name)));
    const added = t.columns.filter((c) => !have.has(nameKey(c.name)));
    if (columns.length + added.length > MAX_HUB_COLUMNS) {
      return { refused: `table ${known.name} would have ${columns.length + added.length} columns at the hub, more than ${MAX_HUB_COLUMNS}` };
    }
    for (const c of added) db.prepare(`ALTER TABLE ${q(known.name)} ADD COLUMN ${columnDefinition(c)}`).run();
    if (added.length) db.prepare('UPDATE ferry_tables SET columns = ? WHERE name = ?').run(JSON.stringify([...columns, ...added]), known.name);
    return { name: known.name, columns: hubSpelling(t, columns), keyAffinities: keyAffinities(db, known.name, t.key) };
  }
  const existing = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE").get(t.table) as { name: string } | undefined;
  const name = existing?.name ?? t.table;
  if (t.columns.length > MAX_HUB_COLUMNS) return { refused: `table ${t.table} has ${t.columns.length} columns, more than ${MAX_HUB_COLUMNS}` };
  if (existing) {
    const refused = adoptionProblem(db, name, t.scope);
    if (refused) return { refused };
    // A table made by someone else: adopt it, adding what it lacks and a unique key index for upserts.
    const have = new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as Array<{ name: string }>).map((r) => nameKey(r.name)));
    if (have.size + t.columns.filter((c) => !have.has(nameKey(c.name))).length > MAX_HUB_COLUMNS) return { refused: `table ${name} would have more than ${MAX_HUB_COLUMNS} columns at the hub` };
    if (t.scope === 'facility' && !have.has(ORIGIN_COLUMN)) db.prepare(`ALTER TABLE ${q(name)} ADD COLUMN ${q(ORIGIN_COLUMN)} TEXT`).run();
    for (const c of t.columns) if (!have.has(nameKey(c.name))) db.prepare(`ALTER TABLE ${q(name)} ADD COLUMN ${columnDefinition(c)}`).run();
    db.prepare(`CREATE UNIQUE INDEX IF NOT EXISTS ${q(`ferry_key_${name}`)} ON ${q(name)} (${hubKey(t.scope, t.key).map(q).join(', ')})`).run();
  } else {
    const origin = t.scope === 'facility' ? [`${q(ORIGIN_COLUMN)} TEXT NOT NULL`] : [];
    db.prepare(`CREATE TABLE ${q(name)} (${[...origin, ...t.columns.map(columnDefinition)].join(', ')}, PRIMARY KEY (${hubKey(t.scope, t.key).map(q).join(', ')}))`).run();
  }
  const held = (db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as Array<{ name: string }>).map((r) => ({ name: r.name, type: '' }));
  db.prepare('INSERT INTO ferry_tables (name, key_columns, columns, scope) VALUES (?, ?, ?, ?)').run(name, JSON.stringify(t.key), JSON.stringify(t.columns), t.scope);
  return { name, columns: hubSpelling(t, held), keyAffinities: keyAffinities(db, name, t.key) };
}

/**
 * Why a table someone else made cannot hold this scope's rows, or undefined. A facility-owned
 * table holds each facility's rows apart, so it must start empty (rows already there belong to
 * no facility) and no unique constraint may leave out ferry_origin (two facilities' patient 1
 * would collide). A shared table has no ferry_origin (a table that was facility-owned changes
 * scope through `ferry rescope`, not by a bundle).
 */
function adoptionProblem(db: Db, name: string, scope: TableScope): string | undefined {
  const info = db.prepare('SELECT name, pk FROM pragma_table_info(?)').all(name) as Array<{ name: string; pk: number }>;
  const hasOrigin = info.some((c) => nameKey(c.name) === ORIGIN_COLUMN);
  if (scope === 'shared') return hasOrigin ? `table ${name} at the hub has a ${ORIGIN_COLUMN} column, as a facility-owned table does, but the sender's table is shared (docs/OPERATIONS.md "Changing a table's scope")` : undefined;
  if (db.prepare(`SELECT 1 FROM ${q(name)} LIMIT 1`).get()) return `table ${name} already holds rows at the hub that no facility sent; a facility-owned table starts empty`;
  const pk = info.filter((c) => c.pk > 0).map((c) => nameKey(c.name));
  const unique = (db.prepare("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin <> 'pk'").all(name) as Array<{ name: string }>).map((i) =>
    (db.prepare('SELECT name FROM pragma_index_info(?)').all(i.name) as Array<{ name: string | null }>).map((c) => (c.name === null ? '' : nameKey(c.name))),
  );
  const without = [pk, ...unique].find((cols) => cols.length > 0 && !cols.includes(ORIGIN_COLUMN));
  if (without) return `table ${name} at the hub has a unique key (${without.join(',')}) without ${ORIGIN_COLUMN}: two facilities' rows with the same key could not both be kept`;
  return undefined;
}

/** Each of the record's columns, spelled as the hub spells it (names match without case). */
function hubSpelling(t: TableRecord, hub: ColumnSpec[]): string[] {
  const byKey = new Map(hub.map((c) => [nameKey(c.name), c.name]));
  return t.columns.map((c) => byKey.get(nameKey(c.name)) ?? c.name);
}

/**
 * A column's definition at the hub: its checked, quoted name and no type. A column without
 * affinity keeps every value in the storage class it arrived in, so facilities that declared a
 * column differently never change each other's values ('007' stays text) and two encodings of a
 * key ('2' and 2) can never name one row. The declared types are kept in ferry_tables.
 */
const columnDefinition = (c: ColumnSpec): string => q(c.name);

/**
 * A table keeps at most this many columns at the hub (SQLite's own limit is 2,000, past which
 * every statement on the table fails): columns added by one facility cannot lock others out.
 */
export const MAX_HUB_COLUMNS = 1000;

/**
 * The affinity of each key column of a hub table as it is now. Tables made by ferry have none;
 * tables made by an older ferry, or adopted from someone else, may: key values must then be of
 * the class the affinity keeps unchanged (see keyValueFits).
 */
function keyAffinities(db: Db, table: string, key: string[]): Affinity[] {
  const types = new Map((db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as Array<{ name: string; type: string }>).map((r) => [nameKey(r.name), r.type]));
  return key.map((k) => typeAffinity(types.get(nameKey(k)) ?? ''));
}

/**
 * Can this key value reach only the row its encoding names? A typed column converts values
 * ('2' to 2, 3.0 to 3, 2 to '2'), and SQLite compares integers and reals by value, so a row
 * could otherwise be reached by two encodings of its key, around the versions ferry keeps by
 * encoded key (and so without a conflict).
 */
export function keyValueFits(affinity: Affinity, v: EncodedValue): boolean {
  if (v === null || (typeof v === 'object' && 'blob' in v)) return true;
  const real = typeof v === 'object' && 'real' in v ? v.real : undefined;
  switch (affinity) {
    case 'BLOB':
      // SQLite compares integers and reals by value: 3.0 is the key 3, whatever the column.
      return !(typeof real === 'number' && Number.isInteger(real));
    case 'TEXT':
      return typeof v === 'string';
    case 'REAL':
      return real !== undefined;
    default: // INTEGER, NUMERIC: integers, and reals that are not whole numbers
      return typeof v === 'number' || (typeof v === 'object' && 'int' in v) || (real !== undefined && (typeof real === 'string' || !Number.isInteger(real)));
  }
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


/**
 * Per origin, the seqs that have not arrived although later ones have. Changes the hub refused
 * did arrive: they are reported as rejected, not as missing.
 */
export function gaps(db: Db): Gap[] {
  const origins = (db.prepare('SELECT DISTINCT origin FROM ferry_applied ORDER BY origin').all() as Array<{ origin: string }>).map((r) => r.origin);
  return origins.flatMap((o) => {
    const held = appliedRanges(db, o);
    const rejected = outstandingRejected(db, o);
    for (const seq of rejected) held.add(seq, seq);
    return held.gaps().map(([first, last]) => ({ origin: o, first, last }));
  });
}


/** The ledger row of a bundle of this origin. */
export function ledgerEntry(db: Db, origin: string, bundleId: string): LedgerEntry | undefined {
  return db.prepare('SELECT * FROM ferry_bundles WHERE origin = ? AND bundle_id = ?').get(origin, bundleId) as LedgerEntry | undefined;
}

/** Another origin that already used this bundle id, if any: ids are in the clear on a drive, so one facility could copy another's. */
export function bundleIdOwner(db: Db, origin: string, bundleId: string): string | undefined {
  const r = db.prepare('SELECT origin FROM ferry_bundles WHERE bundle_id = ? AND origin <> ? LIMIT 1').get(bundleId, origin) as { origin: string } | undefined;
  return r?.origin;
}

/** Seqs of this origin the hub refused to apply and still waits for again (the facility keeps them pending). */
export function outstandingRejected(db: Db, origin: string): Set<number> {
  return new Set((db.prepare('SELECT seq FROM ferry_rejected WHERE origin = ?').raw(true).all(origin) as Array<[number]>).map((r) => r[0]));
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
