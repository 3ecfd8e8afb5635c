/**
 * `ferry migrate`: a hub database an older ferry made (schema version 0 or 1) brought to version
 * 2 in one transaction, so a failure anywhere leaves it exactly as it was.
 *
 * Version 1 merged every facility's rows by the source key: two health centres' patient 1 were
 * one row, the later one kept and the other only inside a conflict record. Version 2 gives every
 * table a scope. A table becomes facility-owned (each row its sender's, keyed by ferry_origin and
 * the key) unless the operator names it shared; its hidden rows come back from the conflict
 * records, which are closed: they were never conflicts.
 */
import { ErrorCodes, refusedError, usageError } from '../../core/errors.js';
import type { TableScope } from '../../format/records.js';
import { nameKey } from '../../format/names.js';
import type { MigrationReport, TableReport } from '../hub-maintenance.js';
import { createMissingTables, rowsPerOrigin, SCHEMA_VERSION, schemaVersion, type Db } from './hub-db.js';
import { keepConflictsApart, makeFacilityOwned, unownedRows, type ScopedTable } from './table-scope.js';

export const KEPT_APART_BY_MIGRATE = 'kept apart by ferry migrate: the rows belong to two facilities (facility-owned table)';

export interface MigrateOptions {
  /** tables that keep merging every facility's rows by their key (named as the operator typed them) */
  shared: string[];
  /** when, for the conflicts it closes */
  at: string;
}

/** Convert the database; the caller has backed it up and checked that it is older than version 2. */
export function migrateToV2(db: Db, o: MigrateOptions): Omit<MigrationReport, 'backup'> {
  const from = schemaVersion(db);
  return db
    .transaction(() => {
      if (from < 1) toV1(db);
      const r = toV2(db, o);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return { from_version: from, to_version: SCHEMA_VERSION, ...r };
    })
    .immediate();
}

const columnsOf = (db: Db, table: string) => (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>).map((r) => r.name);

/**
 * Version 0 to 1 (what opening a database did before version 2): the ledger had been keyed by
 * bundle id alone (one sender could squat another's id), rejected changes were kept as a history
 * (they had been acknowledged and were gone at the facility), and there were no clock-ahead marks.
 */
function toV1(db: Db): void {
  if (columnsOf(db, 'ferry_bundles').length > 0 && !(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'ferry_bundles'").get() as { sql: string }).sql.includes('PRIMARY KEY (origin, bundle_id)')) {
    db.prepare('ALTER TABLE ferry_bundles RENAME TO ferry_bundles_v0').run();
  }
  if (columnsOf(db, 'ferry_rejected').includes('id')) db.prepare('ALTER TABLE ferry_rejected RENAME TO ferry_rejected_v0').run();
  if (columnsOf(db, 'ferry_rows').length > 0 && !columnsOf(db, 'ferry_rows').includes('ahead')) db.prepare('ALTER TABLE ferry_rows ADD COLUMN ahead INTEGER NOT NULL DEFAULT 0').run();
  if (columnsOf(db, 'ferry_conflicts').length > 0 && !columnsOf(db, 'ferry_conflicts').includes('flag')) {
    db.prepare('ALTER TABLE ferry_conflicts ADD COLUMN flag TEXT').run();
    db.prepare('ALTER TABLE ferry_conflicts ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0').run();
  }
  createMissingTables(db);
  if (columnsOf(db, 'ferry_bundles_v0').length > 0) {
    db.prepare(
      `INSERT INTO ferry_bundles (origin, bundle_id, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file)
       SELECT origin, bundle_id, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file FROM ferry_bundles_v0`,
    ).run();
    db.prepare('DROP TABLE ferry_bundles_v0').run();
  }
  // The old entries were acknowledged as delivered, so nothing will re-send them: they are
  // history, not outstanding, and are dropped (the audit log keeps the imports' counts).
  if (columnsOf(db, 'ferry_rejected_v0').length > 0) db.prepare('DROP TABLE ferry_rejected_v0').run();
}

/**
 * Refuse, before anything changes (before the backup too), naming every table at once: a table
 * that would become facility-owned while nobody can tell whose some of its rows are. Returns the
 * tables that stay shared, as the hub spells them.
 */
export function checkMigration(db: Db, sharedNames: string[]): Set<string> {
  const tables = heldTables(db);
  const shared = sharedTables(tables, sharedNames);
  const unowned = tables.filter((t) => !shared.has(t.name)).map((t) => ({ table: t.name, rows: unownedRows(db, t) })).filter((x) => x.rows > 0);
  if (unowned.length > 0) {
    const names = unowned.map((x) => x.table);
    throw refusedError(ErrorCodes.SCOPE_CHANGE_REFUSED, `cannot make ${unowned.map((x) => `${x.table} (${x.rows} row(s))`).join(', ')} facility-owned: no facility is known for those rows (made or filled outside ferry)`, {
      hint: `keep ${names.length > 1 ? 'them' : 'it'} shared: run \`ferry migrate --shared ${[...shared, ...names].join(',')}\`; nothing was changed`,
    });
  }
  return shared;
}

function toV2(db: Db, o: MigrateOptions): Pick<MigrationReport, 'tables' | 'rows_recovered' | 'conflicts_closed'> {
  const tables = heldTables(db);
  const shared = checkMigration(db, o.shared);
  const owned = tables.filter((t) => !shared.has(t.name));
  withScopeColumn(db, shared);
  let recovered = 0;
  let closed = 0;
  for (const t of owned) {
    makeFacilityOwned(db, t);
    const r = keepConflictsApart(db, t, { at: o.at, resolution: KEPT_APART_BY_MIGRATE });
    recovered += r.recovered;
    closed += r.closed;
  }
  const report: TableReport[] = tables.map((t) => {
    const scope: TableScope = shared.has(t.name) ? 'shared' : 'facility';
    return { table: t.name, scope, key: t.key, rows: rowsPerOrigin(db, t.name, scope) };
  });
  return { tables: report, rows_recovered: recovered, conflicts_closed: closed };
}

/** The hub's tables whose data table is there (ferry_tables as version 1 has it). */
function heldTables(db: Db): ScopedTable[] {
  if (columnsOf(db, 'ferry_tables').length === 0) return [];
  const rows = db.prepare("SELECT t.name, t.key_columns FROM ferry_tables AS t WHERE EXISTS (SELECT 1 FROM sqlite_master AS m WHERE m.type = 'table' AND m.name = t.name COLLATE NOCASE) ORDER BY t.name").all() as Array<{ name: string; key_columns: string }>;
  return rows.map((r) => ({ name: r.name, key: JSON.parse(r.key_columns) as string[] }));
}

/** The tables --shared names, as the hub spells them; a name the hub holds no table of is a mistake to say. */
function sharedTables(tables: ScopedTable[], names: string[]): Set<string> {
  const byKey = new Map(tables.map((t) => [nameKey(t.name), t.name]));
  const unknown = names.filter((n) => !byKey.has(nameKey(n)));
  if (unknown.length > 0) {
    throw usageError(ErrorCodes.TABLE_NOT_TRACKED, `--shared names ${unknown.join(', ')}, which this hub holds no table of`, {
      hint: tables.length ? `the hub's tables: ${tables.map((t) => t.name).join(', ')}` : 'this hub holds no tables yet: run it without --shared',
    });
  }
  return new Set(names.map((n) => byKey.get(nameKey(n))!));
}

/**
 * ferry_tables as version 2 defines it (with the scope), made from the schema itself so a migrated
 * database and a new one have the same table.
 */
function withScopeColumn(db: Db, shared: Set<string>): void {
  if (columnsOf(db, 'ferry_tables').includes('scope')) return; // a version 0 database with no tables got it from createMissingTables
  db.prepare('ALTER TABLE ferry_tables RENAME TO ferry_tables_v1').run();
  createMissingTables(db);
  db.prepare("INSERT INTO ferry_tables (name, key_columns, columns, scope) SELECT name, key_columns, columns, 'facility' FROM ferry_tables_v1").run();
  const share = db.prepare("UPDATE ferry_tables SET scope = 'shared' WHERE name = ?");
  for (const name of shared) share.run(name);
  db.prepare('DROP TABLE ferry_tables_v1').run();
}
