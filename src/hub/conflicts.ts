/** `ferry conflicts` (hub): rows changed at two facilities, and the operator's override. */
import { q } from '../store/sql.js';
import { hubTables, keyWhere, openHubDb, upsertSql, type Db } from '../store/hub-db.js';
import { ErrorCodes, usageError } from '../core/errors.js';
import { decodeValue, type EncodedValue } from '../format/values.js';
import type { OpContext } from '../node/context.js';
import { withLockedSession, withSession } from '../node/node-session.js';

export interface ConflictVersion {
  origin: string;
  seq: number;
  clock: string;
  /** null: the row was deleted in this version */
  row: Record<string, EncodedValue> | null;
}

export interface Conflict {
  id: number;
  table: string;
  key: EncodedValue[];
  detected_at: string;
  bundle_id: string;
  /** the version the rule chose, now in the table (unless overridden) */
  current: ConflictVersion;
  other: ConflictVersion;
  /** columns whose values differ between the two versions */
  differing: string[];
  resolved_at: string | null;
  resolution: string | null;
  /** `clock-ahead`: a version's clock was more than a day ahead of the hub's when it arrived (it could not win) */
  flag: string | null;
}

interface ConflictRow {
  id: number;
  tbl: string;
  key: string;
  detected_at: string;
  bundle_id: string;
  current_origin: string;
  current_seq: number;
  current_clock: string;
  current_row: string;
  other_origin: string;
  other_seq: number;
  other_clock: string;
  other_row: string;
  resolved_at: string | null;
  resolution: string | null;
  flag: string | null;
}

function toConflict(r: ConflictRow): Conflict {
  const current = { origin: r.current_origin, seq: r.current_seq, clock: r.current_clock, row: JSON.parse(r.current_row) as Record<string, EncodedValue> | null };
  const other = { origin: r.other_origin, seq: r.other_seq, clock: r.other_clock, row: JSON.parse(r.other_row) as Record<string, EncodedValue> | null };
  const cols = new Set([...Object.keys(current.row ?? {}), ...Object.keys(other.row ?? {})]);
  const differing = [...cols].filter((c) => JSON.stringify(current.row?.[c] ?? null) !== JSON.stringify(other.row?.[c] ?? null));
  return { id: r.id, table: r.tbl, key: JSON.parse(r.key) as EncodedValue[], detected_at: r.detected_at, bundle_id: r.bundle_id, current, other, differing, resolved_at: r.resolved_at, resolution: r.resolution, flag: r.flag ?? null };
}

export function listConflicts(ctx: OpContext, o: { all?: boolean } = {}): Promise<Conflict[]> {
  return withSession(ctx, 'hub', 'conflicts', (s) => {
    const db = openHubDb(s.config.db!);
    try {
      const rows = db.prepare(`SELECT * FROM ferry_conflicts ${o.all ? '' : 'WHERE resolved_at IS NULL'} ORDER BY id`).all() as ConflictRow[];
      return rows.map(toConflict);
    } finally {
      db.close();
    }
  });
}

export interface ResolveResult {
  conflict: Conflict;
  kept: 'current' | 'other';
  changed: boolean;
}

export function resolveConflict(ctx: OpContext, o: { id: number; keep: 'current' | 'other' }): Promise<ResolveResult> {
  return withLockedSession(ctx, 'hub', 'conflicts resolve', (s) => {
    const db = openHubDb(s.config.db!);
    try {
      const row = db.prepare('SELECT * FROM ferry_conflicts WHERE id = ?').get(o.id) as ConflictRow | undefined;
      if (!row) throw usageError(ErrorCodes.CONFLICT_UNKNOWN, `there is no conflict ${o.id}`, { hint: 'list them with `ferry conflicts`' });
      const c = toConflict(row);
      if (c.resolved_at) throw usageError(ErrorCodes.CONFLICT_UNKNOWN, `conflict ${o.id} was already resolved on ${c.resolved_at} (${c.resolution})`, { hint: 'list open ones with `ferry conflicts`' });
      const at = ctx.now();
      let changed = false;
      db.transaction(() => {
        const version = db.prepare('SELECT origin, seq, wall, counter FROM ferry_rows WHERE tbl = ? AND key = ?').get(c.table, row.key) as { origin: string; seq: number; wall: number; counter: number } | undefined;
        if (o.keep === 'other') {
          if (!version || version.origin !== c.current.origin || version.seq !== c.current.seq) {
            throw usageError(ErrorCodes.CONFLICT_UNKNOWN, `row of conflict ${o.id} has changed since (now from ${version?.origin} change ${version?.seq})`, {
              hint: 'look at the newer conflicts for this row with `ferry conflicts`; keep --keep current here',
            });
          }
          writeVersion(db, c, c.other.row);
          // The override is a new version at the hub, later than both, so re-deliveries do not undo it.
          const wall = Math.max(version.wall, at.getTime());
          const counter = wall === version.wall ? version.counter + 1 : 0;
          db.prepare('UPDATE ferry_rows SET origin = ?, seq = 0, wall = ?, counter = ?, deleted = ?, ahead = 0 WHERE tbl = ? AND key = ?').run(s.id, wall, counter, c.other.row ? 0 : 1, c.table, row.key);
          changed = true;
        }
        db.prepare('UPDATE ferry_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?').run(at.toISOString(), `kept ${o.keep} (${o.keep === 'current' ? c.current.origin : c.other.origin})`, o.id);
      })();
      s.audit({ action: 'conflict-resolve', peer: o.keep === 'current' ? c.current.origin : c.other.origin, bundle_id: c.bundle_id, outcome: `kept-${o.keep}`, detail: { conflict: o.id, table: c.table } });
      return { conflict: c, kept: o.keep, changed };
    } finally {
      db.close();
    }
  });
}

function writeVersion(db: Db, c: Conflict, row: Record<string, EncodedValue> | null): void {
  const t = hubTables(db).find((x) => x.name === c.table)!;
  const keyVals = c.key.map(decodeValue);
  if (!row) {
    db.prepare(`DELETE FROM ${q(t.name)} WHERE ${keyWhere(t.key)}`).run(...keyVals);
    return;
  }
  const cols = Object.keys(row);
  db.prepare(upsertSql(t.name, t.key, cols)).run(...cols.map((x) => decodeValue(row[x]!)));
}
