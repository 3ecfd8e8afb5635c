/** Installing, refreshing and removing capture on tables. */
import { ErrorCodes, usageError } from '../errors.js';
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
import { q } from './sql.js';

export interface TrackOutcome {
  table: string;
  key: string[];
  outcome: 'tracked' | 'already-tracked' | 're-tracked' | 'columns-updated';
  /** rows queued by the initial snapshot (or the re-snapshot after a column change) */
  snapshot: number;
  newColumns?: string[];
}

const RESERVED = /^ferry_/i;

function checkKey(db: Db, table: string, key: string[], columns: ColumnSpec[]): void {
  const names = new Set(columns.map((c) => c.name));
  for (const k of key) {
    if (!names.has(k)) throw usageError(ErrorCodes.TABLE_NO_KEY, `table ${table} has no column ${k}`, { hint: `its columns are: ${[...names].join(', ')}` });
  }
  const cols = key.map(q).join(', ');
  const nullRow = db.prepare(`SELECT 1 FROM ${q(table)} WHERE ${key.map((k) => `${q(k)} IS NULL`).join(' OR ')} LIMIT 1`).get();
  if (nullRow) {
    throw usageError(ErrorCodes.KEY_NOT_UNIQUE, `some rows of ${table} have an empty (NULL) value in the key ${key.join(', ')}`, {
      hint: 'choose identifying columns that are always filled with --key COL,COL',
    });
  }
  const dup = db.prepare(`SELECT ${cols}, count(*) AS n FROM ${q(table)} GROUP BY ${cols} HAVING count(*) > 1 LIMIT 1`).get();
  if (dup) {
    throw usageError(ErrorCodes.KEY_NOT_UNIQUE, `the key ${key.join(', ')} does not identify the rows of ${table}: some rows share it`, {
      hint: 'add columns to --key until each row is unique (e.g. --key DATE,PATIENT,ENCOUNTER,CODE)',
    });
  }
}

/** Track one table: log table, triggers and initial snapshot, all in one transaction. */
export function trackTable(db: Db, name: string, keyOption: string[] | undefined, nowMs: number, trackedAt: string): TrackOutcome {
  if (RESERVED.test(name)) throw usageError(ErrorCodes.USAGE, `${name} is one of ferry's own tables`, { hint: 'track the EMR tables only' });
  const cur = requireTable(db, name);
  if (cur.columns.some((c) => RESERVED.test(c.name))) {
    throw usageError(ErrorCodes.USAGE, `table ${name} has a column whose name starts with ferry_, which ferry reserves`, { hint: 'rename that column first' });
  }
  const existing = trackedTables(db).find((t) => t.name === name);
  const key = keyOption ?? (existing ? existing.key : cur.pk);
  if (key.length === 0) {
    throw usageError(ErrorCodes.TABLE_NO_KEY, `table ${name} has no primary key, so ferry cannot tell its rows apart`, {
      hint: `name the identifying columns with --key, e.g. \`ferry track --table ${name} --key COL1,COL2\``,
    });
  }
  if (existing?.active) {
    if (keyOption && keyOption.join(',') !== existing.key.join(',')) {
      throw usageError(ErrorCodes.USAGE, `${name} is already tracked with the key ${existing.key.join(',')}`, { hint: 'untrack it first to change its key (its pending changes stay queued)' });
    }
    const refreshed = refreshTable(db, existing, nowMs);
    return refreshed ?? { table: name, key: existing.key, outcome: 'already-tracked', snapshot: 0 };
  }
  checkKey(db, name, key, cur.columns);
  let snapshot = 0;
  let outcome: TrackOutcome['outcome'] = 'tracked';
  const run = db.transaction(() => {
    let t: TrackedTable;
    if (existing) {
      t = { ...existing, key, columns: cur.columns, active: true };
      addMissingLogColumns(db, t);
      db.prepare('UPDATE ferry_tables SET key_columns = ?, columns = ?, active = 1, tracked_at = ? WHERE id = ?').run(JSON.stringify(key), JSON.stringify(cur.columns), trackedAt, t.id);
      outcome = 're-tracked';
    } else {
      const id = Number(db.prepare('INSERT INTO ferry_tables (name, key_columns, columns, active, tracked_at) VALUES (?, ?, ?, 1, ?)').run(name, JSON.stringify(key), JSON.stringify(cur.columns), trackedAt).lastInsertRowid);
      t = { id, name, key, columns: cur.columns, active: true };
      createLogTable(db, t);
    }
    for (const sql of triggerSql(t)) db.exec(sql);
    // Rows that exist now travel too; in the same transaction as the triggers, so no change is missed or doubled.
    snapshot = snapshotRows(db, t, existing ? 'update' : 'insert', nowMs);
  });
  run.immediate();
  return { table: name, key, outcome, snapshot };
}

function addMissingLogColumns(db: Db, t: TrackedTable): string[] {
  const have = new Set(logColumns(db, t));
  const added: string[] = [];
  for (const c of t.columns) {
    if (!have.has(c.name)) {
      db.exec(`ALTER TABLE ${q(logTable(t))} ADD COLUMN ${q(c.name)}`);
      added.push(c.name);
    }
  }
  return added;
}

/**
 * Pick up column changes made after tracking: new columns get log columns and new triggers, and
 * the whole table is queued again so that rows written before the triggers knew the column
 * still reach the hub with its values.
 */
function refreshTable(db: Db, t: TrackedTable, nowMs: number): TrackOutcome | undefined {
  const cur = currentColumns(db, t.name);
  if (!cur) return undefined;
  const same = cur.columns.length === t.columns.length && cur.columns.every((c, i) => c.name === t.columns[i]!.name && c.type === t.columns[i]!.type);
  if (same) return undefined;
  const before = new Set(t.columns.map((c) => c.name));
  const newColumns = cur.columns.filter((c) => !before.has(c.name)).map((c) => c.name);
  if (!t.key.every((k) => cur.columns.some((c) => c.name === k))) return undefined; // key column gone: leave the triggers; status reports it
  let snapshot = 0;
  const run = db.transaction(() => {
    const updated: TrackedTable = { ...t, columns: cur.columns };
    addMissingLogColumns(db, updated);
    dropTriggers(db, t);
    for (const sql of triggerSql(updated)) db.exec(sql);
    db.prepare('UPDATE ferry_tables SET columns = ? WHERE id = ?').run(JSON.stringify(cur.columns), t.id);
    snapshot = snapshotRows(db, updated, 'update', nowMs);
  });
  run.immediate();
  return { table: t.name, key: t.key, outcome: 'columns-updated', snapshot, newColumns };
}

/** Refresh every active table; returns the ones whose columns changed. */
export function refreshTracking(db: Db, nowMs: number): TrackOutcome[] {
  const out: TrackOutcome[] = [];
  for (const t of trackedTables(db)) {
    if (!t.active) continue;
    const r = refreshTable(db, t, nowMs);
    if (r) out.push(r);
  }
  return out;
}

export interface UntrackOutcome {
  table: string;
  /** changes captured before untracking that still wait to be exported and acknowledged */
  unsent: number;
}

export function untrackTable(db: Db, name: string): UntrackOutcome {
  const t = trackedTables(db).find((x) => x.name === name && x.active);
  if (!t) throw usageError(ErrorCodes.TABLE_NOT_TRACKED, `table ${name} is not tracked`, { hint: 'see the tracked tables with `ferry status`' });
  const run = db.transaction(() => {
    dropTriggers(db, t);
    db.prepare('UPDATE ferry_tables SET active = 0 WHERE id = ?').run(t.id);
  });
  run.immediate();
  const unsent = Number((db.prepare(`SELECT count(*) AS n FROM ${q(logTable(t))}`).get() as { n: number }).n);
  return { table: name, unsent };
}
