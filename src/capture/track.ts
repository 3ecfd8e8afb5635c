/** Installing, refreshing and removing capture on tables. */
import { ErrorCodes, usageError } from '../core/errors.js';
import type { ColumnSpec } from '../format/records.js';
import {
  createLogTable,
  currentColumns,
  dropTriggers,
  logColumns,
  logTable,
  requireTable,
  snapshotRows,
  trackedTables,
  triggerSql,
  type Db,
  type TrackedTable,
} from './change-log.js';
import { q } from '../core/sql-identifier.js';
import { columnWarnings, sendableColumns, shownName, tableNameProblem, type SendableColumns } from './sendable-columns.js';
import { isReservedName, nameKey, nameProblem, sameName } from '../format/names.js';

export interface TrackOutcome {
  table: string;
  key: string[];
  outcome: 'tracked' | 'already-tracked' | 're-tracked' | 'columns-updated';
  /** rows queued by the initial snapshot (or the re-snapshot after a column change) */
  snapshot: number;
  new_columns?: string[];
  /** columns not sent, or sent without their declared type, each said in a sentence */
  warnings: string[];
}

const nameInvalid = (message: string, hint: string) => usageError(ErrorCodes.NAME_INVALID, message, { hint });

/** The key as the table spells its columns; a key column that cannot travel refuses the table. */
function resolveKey(table: string, key: string[], all: ColumnSpec[], sendable: SendableColumns): string[] {
  return key.map((k) => {
    const col = all.find((c) => sameName(c.name, k));
    if (!col) throw usageError(ErrorCodes.TABLE_NO_KEY, `table ${table} has no column ${shownName(k)}`, { hint: `its columns are: ${all.map((c) => shownName(c.name)).join(', ')}` });
    const left = sendable.leftOut.find((c) => c.name === col.name);
    if (left) {
      throw nameInvalid(`table ${table} cannot be tracked: its key column ${shownName(col.name)} cannot travel: ${left.problem}`, 'rename that column in the EMR, or name other identifying columns with --key COL,COL');
    }
    return sendable.columns.find((c) => sameName(c.name, k))!.name;
  });
}

function checkKey(db: Db, table: string, key: string[]): void {
  const cols = key.map(q).join(', ');
  const nullRow = db.prepare(`SELECT 1 FROM ${q(table)} WHERE ${key.map((k) => `${q(k)} IS NULL`).join(' OR ')} LIMIT 1`).get();
  if (nullRow) {
    throw usageError(ErrorCodes.KEY_NOT_UNIQUE, `some rows of ${table} have an empty (NULL) value in the key ${key.join(', ')}`, {
      hint: 'choose identifying columns that are always filled with --key COL,COL',
    });
  }
  // No alias here: a key column may be called anything but ferry_…, `n` included.
  const dup = db.prepare(`SELECT 1 FROM ${q(table)} GROUP BY ${cols} HAVING count(*) > 1 LIMIT 1`).get();
  if (dup) {
    throw usageError(ErrorCodes.KEY_NOT_UNIQUE, `the key ${key.join(', ')} does not identify the rows of ${table}: some rows share it`, {
      hint: 'add columns to --key until each row is unique (e.g. --key DATE,PATIENT,ENCOUNTER,CODE)',
    });
  }
}

/**
 * Track one table: log table, triggers and initial snapshot, all in one transaction. `requested`
 * may spell the table in another case: SQLite takes it as the same table, and so does ferry.
 */
export function trackTable(db: Db, requested: string, keyOption: string[] | undefined, nowMs: number, trackedAt: string): TrackOutcome {
  const problem = tableNameProblem(requested);
  if (problem) {
    throw nameInvalid(`table ${shownName(requested)} cannot be tracked: ${problem}`, isReservedName(requested) && !nameProblem(requested)
      ? "track the EMR's own tables only"
      : 'ferry carries tables named with 1–63 letters, digits and _ (not starting with a digit); rename the table in the EMR, or leave it untracked');
  }
  const existing = trackedTables(db).find((t) => sameName(t.name, requested));
  const cur = requireTable(db, existing?.name ?? requested);
  // A table tracked before keeps the name it travels under, whatever case it is asked for in.
  const name = existing?.name ?? cur.name;
  const logCols = existing ? logColumns(db, existing) : [];
  const sendable = sendableColumns(cur.columns, logCols);
  const warnings = columnWarnings(name, sendable);
  if (existing?.active) {
    if (keyOption && (keyOption.length !== existing.key.length || keyOption.some((k, i) => !sameName(k, existing.key[i]!)))) {
      throw usageError(ErrorCodes.USAGE, `${name} is already tracked with the key ${existing.key.join(',')}`, { hint: 'untrack it first to change its key (its pending changes stay queued)' });
    }
    const refreshed = refreshTable(db, existing, nowMs);
    return refreshed ?? { table: name, key: existing.key, outcome: 'already-tracked', snapshot: 0, warnings };
  }
  const wanted = keyOption ?? (existing ? existing.key : cur.pk);
  if (wanted.length === 0) {
    throw usageError(ErrorCodes.TABLE_NO_KEY, `table ${name} has no primary key, so ferry cannot tell its rows apart`, {
      hint: `name the identifying columns with --key, e.g. \`ferry track --table ${name} --key COL1,COL2\``,
    });
  }
  const key = resolveKey(name, wanted, cur.columns, sendable);
  checkKey(db, name, key);
  const columns = sendable.columns;
  let snapshot = 0;
  let outcome: TrackOutcome['outcome'] = 'tracked';
  const run = db.transaction(() => {
    let t: TrackedTable;
    if (existing) {
      t = { ...existing, key, columns, active: true };
      addMissingLogColumns(db, t);
      db.prepare('UPDATE ferry_tables SET key_columns = ?, columns = ?, active = 1, tracked_at = ? WHERE id = ?').run(JSON.stringify(key), JSON.stringify(columns), trackedAt, t.id);
      outcome = 're-tracked';
    } else {
      const id = Number(db.prepare('INSERT INTO ferry_tables (name, key_columns, columns, active, tracked_at) VALUES (?, ?, ?, 1, ?)').run(name, JSON.stringify(key), JSON.stringify(columns), trackedAt).lastInsertRowid);
      t = { id, name, key, columns, active: true };
      createLogTable(db, t);
    }
    installTriggers(db, t);
    // Rows that exist now travel too; in the same transaction as the triggers, so no change is missed or doubled.
    snapshot = snapshotRows(db, t, existing ? 'update' : 'insert', nowMs);
  });
  run.immediate();
  return { table: name, key, outcome, snapshot, warnings };
}

/** One statement each: a trigger's BEGIN … END is one statement, and prepare refuses more. */
function installTriggers(db: Db, t: TrackedTable): void {
  for (const sql of triggerSql(t)) db.prepare(sql).run();
}

function addMissingLogColumns(db: Db, t: TrackedTable): string[] {
  const have = new Set(logColumns(db, t).map(nameKey));
  const added: string[] = [];
  for (const c of t.columns) {
    if (!have.has(nameKey(c.name))) {
      db.prepare(`ALTER TABLE ${q(logTable(t))} ADD COLUMN ${q(c.name)}`).run();
      added.push(c.name);
    }
  }
  return added;
}

const sameColumns = (a: ColumnSpec[], b: ColumnSpec[]) => a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.type === b[i]!.type);

/** The table's columns as they travel now, and what to tell the operator about the rest. */
function currentSendable(db: Db, t: TrackedTable): { sendable: SendableColumns; warnings: string[] } | undefined {
  const cur = currentColumns(db, t.name);
  if (!cur) return undefined;
  const sendable = sendableColumns(cur.columns, logColumns(db, t));
  return { sendable, warnings: columnWarnings(t.name, sendable) };
}

/**
 * Pick up column changes made after tracking: new columns get log columns and new triggers, and
 * the whole table is queued again so that rows written before the triggers knew the column
 * still reach the hub with its values.
 */
function refreshTable(db: Db, t: TrackedTable, nowMs: number, now = currentSendable(db, t)): TrackOutcome | undefined {
  if (!now) return undefined;
  const columns = now.sendable.columns;
  if (sameColumns(columns, t.columns)) return undefined;
  const before = new Set(t.columns.map((c) => nameKey(c.name)));
  const newColumns = columns.filter((c) => !before.has(nameKey(c.name))).map((c) => c.name);
  if (!t.key.every((k) => columns.some((c) => c.name === k))) return undefined; // key column gone: leave the triggers; status reports it
  let snapshot = 0;
  const run = db.transaction(() => {
    const updated: TrackedTable = { ...t, columns };
    addMissingLogColumns(db, updated);
    dropTriggers(db, t);
    installTriggers(db, updated);
    db.prepare('UPDATE ferry_tables SET columns = ? WHERE id = ?').run(JSON.stringify(columns), t.id);
    snapshot = snapshotRows(db, updated, 'update', nowMs);
  });
  run.immediate();
  return { table: t.name, key: t.key, outcome: 'columns-updated', snapshot, new_columns: newColumns, warnings: now.warnings };
}

export interface TrackingRefresh {
  /** tables whose columns changed since they were tracked (triggers updated, rows queued again) */
  updated: TrackOutcome[];
  /** every active table's columns that are not sent, or sent untyped: said at each export until renamed */
  warnings: string[];
}

/** Refresh every active table. */
export function refreshTracking(db: Db, nowMs: number): TrackingRefresh {
  const out: TrackingRefresh = { updated: [], warnings: [] };
  for (const t of trackedTables(db)) {
    if (!t.active) continue;
    const now = currentSendable(db, t);
    if (!now) continue;
    out.warnings.push(...now.warnings);
    const r = refreshTable(db, t, nowMs, now);
    if (r) out.updated.push(r);
  }
  return out;
}

/**
 * Tracked tables whose columns changed since tracking, found without changing anything: what
 * the next export (or `ferry track`) will pick up. Status reports them; it does not fix them.
 */
export function trackingDrift(db: Db): string[] {
  return trackedTables(db)
    .filter((t) => t.active)
    .filter((t) => {
      const now = currentSendable(db, t);
      return now !== undefined && !sameColumns(now.sendable.columns, t.columns) && t.key.every((k) => now.sendable.columns.some((c) => c.name === k));
    })
    .map((t) => t.name);
}

export interface UntrackOutcome {
  table: string;
  /** changes captured before untracking that still wait to be exported and acknowledged */
  unsent: number;
}

export function untrackTable(db: Db, name: string): UntrackOutcome {
  const t = trackedTables(db).find((x) => sameName(x.name, name) && x.active);
  if (!t) throw usageError(ErrorCodes.TABLE_NOT_TRACKED, `table ${shownName(name)} is not tracked`, { hint: 'see the tracked tables with `ferry status`' });
  const run = db.transaction(() => {
    dropTriggers(db, t);
    db.prepare('UPDATE ferry_tables SET active = 0 WHERE id = ?').run(t.id);
  });
  run.immediate();
  const unsent = Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))}`).get() as { n: number }).n);
  return { table: t.name, unsent };
}
