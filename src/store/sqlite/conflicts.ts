/** The hub's conflict records in SQLite (shared tables only: a facility-owned row has one writer), and the operator's override of one, in one transaction. */
import { decodeValue, type EncodedValue } from '../../format/values.js';
import { hubTables, keyWhere, upsertSql, type Db } from './hub-db.js';
import type { ConflictRecord, ResolveOutcome } from '../hub-store.js';
import { q } from '../../core/sql-identifier.js';

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

function toRecord(r: ConflictRow): ConflictRecord {
  return {
    id: r.id,
    table: r.tbl,
    key: JSON.parse(r.key) as EncodedValue[],
    detected_at: r.detected_at,
    bundle_id: r.bundle_id,
    current: { origin: r.current_origin, seq: r.current_seq, clock: r.current_clock, row: JSON.parse(r.current_row) as Record<string, EncodedValue> | null },
    other: { origin: r.other_origin, seq: r.other_seq, clock: r.other_clock, row: JSON.parse(r.other_row) as Record<string, EncodedValue> | null },
    resolved_at: r.resolved_at,
    resolution: r.resolution,
    flag: r.flag ?? null,
  };
}

export function listConflictRecords(db: Db, o: { all?: boolean }): ConflictRecord[] {
  return (db.prepare(`SELECT * FROM ferry_conflicts ${o.all ? '' : 'WHERE resolved_at IS NULL'} ORDER BY id`).all() as ConflictRow[]).map(toRecord);
}

export function conflictRecord(db: Db, id: number): ConflictRecord | undefined {
  const row = db.prepare('SELECT * FROM ferry_conflicts WHERE id = ?').get(id) as ConflictRow | undefined;
  return row ? toRecord(row) : undefined;
}

export function resolveConflictRecord(db: Db, id: number, keep: 'current' | 'other', o: { at: Date; hubId: string; resolution: string }): ResolveOutcome {
  const row = db.prepare('SELECT * FROM ferry_conflicts WHERE id = ?').get(id) as ConflictRow | undefined;
  if (!row) return { resolved: false, rowNow: undefined };
  const c = toRecord(row);
  // ferry_rows is keyed by the key's text exactly as recorded, never by a re-encoding of it.
  const key = row.key;
  return db.transaction((): ResolveOutcome => {
    let changed = false;
    if (keep === 'other') {
      const version = db.prepare('SELECT origin, seq, wall, counter FROM ferry_rows WHERE tbl = ? AND key = ?').get(c.table, key) as { origin: string; seq: number; wall: number; counter: number } | undefined;
      if (!version || version.origin !== c.current.origin || version.seq !== c.current.seq) return { resolved: false, rowNow: version ? { origin: version.origin, seq: version.seq } : undefined };
      writeVersion(db, c, c.other.row);
      // The override is a new version at the hub, later than both, so re-deliveries do not undo it.
      const wall = Math.max(version.wall, o.at.getTime());
      const counter = wall === version.wall ? version.counter + 1 : 0;
      db.prepare('UPDATE ferry_rows SET origin = ?, seq = 0, wall = ?, counter = ?, deleted = ?, ahead = 0 WHERE tbl = ? AND key = ?').run(o.hubId, wall, counter, c.other.row ? 0 : 1, c.table, key);
      changed = true;
    }
    db.prepare('UPDATE ferry_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?').run(o.at.toISOString(), o.resolution, id);
    return { resolved: true, changed };
  })();
}

function writeVersion(db: Db, c: ConflictRecord, row: Record<string, EncodedValue> | null): void {
  const t = hubTables(db).find((x) => x.name === c.table)!;
  const keyVals = c.key.map(decodeValue);
  if (!row) {
    db.prepare(`DELETE FROM ${q(t.name)} WHERE ${keyWhere(t.key)}`).run(...keyVals);
    return;
  }
  const cols = Object.keys(row);
  db.prepare(upsertSql(t.name, t.key, cols)).run(...cols.map((x) => decodeValue(row[x]!)));
}
