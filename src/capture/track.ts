/** Installing, refreshing and removing capture on tables. */
import { ErrorCodes, usageError } from '../core/errors.js';
import { scopeName, type ColumnSpec, type TableScope } from '../format/records.js';
import {
  createLogTable,
  currentColumns,
  dropTriggers,
  logColumns,
  logTable,
  logValueColumns,
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
  scope: TableScope;
  outcome: 'tracked' | 'already-tracked' | 're-tracked' | 'columns-updated';
  /** rows queued by the initial snapshot (or the re-snapshot after a column change) */
  snapshot: number;
  new_columns?: string[];
  /** columns not sent, or sent without their declared type, and a shared key that looks local, each said in a sentence */
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

const scopeWords = (scope: TableScope, key: string[]) => (scope === 'shared' ? `shared by key ${key.join(', ')}` : scopeName(scope));

/** How to change a table's scope on purpose (docs/OPERATIONS.md "Changing a table's scope"). */
function rescopeHint(name: string, from: TableScope, to: TableScope): string {
  return `to keep it ${scopeName(from)}, run track ${from === 'shared' ? 'with' : 'without'} --shared; to make it ${scopeName(to)} on purpose: \`ferry untrack --table ${name}\`, export and read the hub's acks until \`ferry status\` shows nothing pending for ${name}, then \`ferry track --table ${name}${to === 'shared' ? ' --shared' : ''}\`, and at the hub \`ferry rescope --table ${name} --scope ${to}\` (docs/OPERATIONS.md "Changing a table's scope")`;
}

/**
 * The table is untracked already, its changes still pending: the way on is delivering them. If the
 * hub holds the table with the new scope already (rescoped first, or by `ferry migrate --shared`),
 * it refuses them every time, and only the hub can let them through.
 */
function drainHint(name: string, from: TableScope, to: TableScope): string {
  return `export and read the hub's acks until \`ferry status\` shows nothing pending for ${name}, then track it again; if they stay pending because the hub already holds ${name} as ${scopeName(to)} (it counts them as rejected changes), the hub must take them first: there \`ferry rescope --table ${name} --scope ${from}\`, deliver them, then \`ferry rescope --table ${name} --scope ${to}\` (docs/OPERATIONS.md "Changing a table's scope")`;
}

const pendingIn = (db: Db, t: TrackedTable) => Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))}`).get() as { n: number }).n);

/**
 * Refuse a track that would change a tracked table's key or scope behind the operator's back.
 * The hub holds a table's rows by its scope: a table turned shared (or facility-owned) by a
 * command run to refresh it would have its next bundle refused there, or worse, its rows merged.
 * An untracked table may be tracked again with another scope once nothing it captured is pending:
 * changes captured under one scope never travel under the other.
 */
export function checkTrackRequest(db: Db, requested: string, keyOption: string[] | undefined, scope: TableScope): void {
  const existing = trackedTables(db).find((t) => sameName(t.name, requested));
  if (!existing) return;
  const name = existing.name;
  if (existing.active && keyOption && (keyOption.length !== existing.key.length || keyOption.some((k, i) => !sameName(k, existing.key[i]!)))) {
    throw usageError(ErrorCodes.USAGE, `${name} is already tracked with the key ${existing.key.join(',')}`, { hint: 'untrack it first to change its key (its pending changes stay queued)' });
  }
  if (existing.scope === scope) return;
  if (existing.active) {
    throw usageError(ErrorCodes.USAGE, `${name} is tracked ${scopeWords(existing.scope, existing.key)}; ${scope === 'shared' ? 'track --shared' : 'track without --shared'} asks for ${scopeName(scope)}, and a tracked table's scope never changes silently`, {
      hint: rescopeHint(name, existing.scope, scope),
    });
  }
  const pending = pendingIn(db, existing);
  if (pending > 0) {
    throw usageError(ErrorCodes.USAGE, `${name} was tracked ${scopeWords(existing.scope, existing.key)} and ${pending} change(s) it captured so still wait for the hub's ack; it cannot be tracked ${scopeName(scope)} until they are acknowledged`, {
      hint: drainHint(name, existing.scope, scope),
    });
  }
}

/**
 * A shared table merges rows from every facility by its key, so the key must mean the same row
 * everywhere. A single integer primary key is almost always a local counter (OpenMRS's
 * patient_id, SQLite's rowid): patient 1 here and patient 1 there are two people.
 */
function localKeyWarning(table: string, key: string[], cur: { columns: ColumnSpec[]; pk: string[] }): string[] {
  const [k] = key;
  if (key.length !== 1 || cur.pk.length !== 1 || !sameName(cur.pk[0]!, k!)) return [];
  const type = cur.columns.find((c) => sameName(c.name, k!))?.type ?? '';
  // SQLite's rule for INTEGER affinity: the declared type contains INT.
  if (!/INT/i.test(type)) return [];
  return [
    `the key ${k} of ${table} looks like a local auto-increment number (the table's integer primary key): each facility counts its own rows, so the same ${k} means different rows at different facilities, and sharing the table by it would merge them at the hub; share it by a column that means the same row everywhere (e.g. --key uuid, or a code), or track it without --shared to keep each facility's rows apart`,
  ];
}

/**
 * Track one table: log table, triggers and initial snapshot, all in one transaction. `requested`
 * may spell the table in another case: SQLite takes it as the same table, and so does ferry.
 */
export function trackTable(db: Db, requested: string, keyOption: string[] | undefined, nowMs: number, trackedAt: string, scope: TableScope = 'facility'): TrackOutcome {
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
  checkTrackRequest(db, name, keyOption, scope);
  const logCols = existing ? logColumns(db, existing) : [];
  const sendable = sendableColumns(cur.columns, logCols);
  const warnings = columnWarnings(name, sendable);
  if (existing?.active) {
    const keyWarnings = scope === 'shared' ? localKeyWarning(name, existing.key, cur) : [];
    const refreshed = refreshTable(db, existing, nowMs);
    return refreshed ? { ...refreshed, warnings: [...refreshed.warnings, ...keyWarnings] } : { table: name, key: existing.key, scope, outcome: 'already-tracked', snapshot: 0, warnings: [...warnings, ...keyWarnings] };
  }
  const wanted = keyOption ?? (existing ? existing.key : cur.pk);
  if (wanted.length === 0) {
    throw usageError(ErrorCodes.TABLE_NO_KEY, `table ${name} has no primary key, so ferry cannot tell its rows apart`, {
      hint: `name the identifying columns with --key, e.g. \`ferry track --table ${name} --key COL1,COL2\``,
    });
  }
  const key = resolveKey(name, wanted, cur.columns, sendable);
  checkKey(db, name, key);
  if (scope === 'shared') warnings.push(...localKeyWarning(name, key, cur));
  const columns = sendable.columns;
  let snapshot = 0;
  let outcome: TrackOutcome['outcome'] = 'tracked';
  const run = db.transaction(() => {
    let t: TrackedTable;
    if (existing) {
      t = { ...existing, key, columns, active: true, scope };
      addMissingLogColumns(db, t);
      db.prepare('UPDATE ferry_tables SET key_columns = ?, columns = ?, active = 1, tracked_at = ?, scope = ? WHERE id = ?').run(JSON.stringify(key), JSON.stringify(columns), trackedAt, scope, t.id);
      outcome = 're-tracked';
    } else {
      const id = Number(
        db.prepare('INSERT INTO ferry_tables (name, key_columns, columns, active, tracked_at, scope) VALUES (?, ?, ?, 1, ?, ?)').run(name, JSON.stringify(key), JSON.stringify(columns), trackedAt, scope).lastInsertRowid,
      );
      t = { id, name, key, columns, active: true, scope };
      createLogTable(db, t);
    }
    installTriggers(db, t);
    // Rows that exist now travel too; in the same transaction as the triggers, so no change is missed or doubled.
    snapshot = existing ? snapshotRows(db, t, 'update', nowMs, existing.columns) : snapshotRows(db, t, 'insert', nowMs);
  });
  run.immediate();
  return { table: name, key, scope, outcome, snapshot, warnings };
}

/** One statement each: a trigger's BEGIN … END is one statement, and prepare refuses more. */
function installTriggers(db: Db, t: TrackedTable): void {
  for (const sql of triggerSql(t)) db.prepare(sql).run();
}

/** New columns (and a shared table's old image of them) join the log; rows already there hold NULL in them. */
function addMissingLogColumns(db: Db, t: TrackedTable): void {
  const have = new Set(logColumns(db, t).map(nameKey));
  for (const c of logValueColumns(t)) {
    if (!have.has(nameKey(c))) db.prepare(`ALTER TABLE ${q(logTable(t))} ADD COLUMN ${q(c)}`).run();
  }
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
    snapshot = snapshotRows(db, updated, 'update', nowMs, t.columns);
  });
  run.immediate();
  return { table: t.name, key: t.key, scope: t.scope, outcome: 'columns-updated', snapshot, new_columns: newColumns, warnings: now.warnings };
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
  return { table: t.name, unsent: pendingIn(db, t) };
}
