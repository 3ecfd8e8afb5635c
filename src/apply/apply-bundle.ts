/**
 * Applies one verified bundle's records to the hub database in a single transaction, together
 * with the ledger rows that record it: a crash leaves all or nothing of the bundle.
 *
 * Per change: a seq already applied for its origin is skipped ("already present"). Otherwise the
 * row's current version decides: none, or the same origin with a lower seq -> apply; a different
 * origin -> a conflict, settled by the larger (clock wall, clock counter, origin id) and recorded
 * with both versions. Deletes keep a tombstone version so an older update cannot revive the row.
 */
import type { Statement } from 'better-sqlite3';
import type { AckCounts } from '../format/ack.js';
import type { Manifest } from '../format/manifest.js';
import { changeKey, keyIndexes, rowObject, type ChangeRecord, type PayloadRecord, type TableRecord } from '../format/records.js';
import { decodeValue, keyText, type EncodedValue, type SqlValue } from '../format/values.js';
import { q } from '../capture/sql.js';
import { appliedRanges, ensureTable, keyWhere, saveAppliedRanges, upsertSql, type Db } from './hub-store.js';
import type { Range } from './ranges.js';

export interface Version {
  origin: string;
  seq: number;
  wall: number;
  counter: number;
}

/** The deterministic rule: later clock wins; equal clocks are settled by node id. */
export function compareVersions(a: Version, b: Version): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return a.seq - b.seq;
}

export interface ApplyResult {
  counts: AckCounts;
  appliedRanges: Range[];
}

interface RowVersion extends Version {
  deleted: number;
}

/** Statements prepared once per bundle (and per table/column set). */
class Statements {
  private readonly upserts = new Map<string, Statement<unknown[]>>();
  private readonly deletes = new Map<string, Statement<unknown[]>>();
  private readonly selects = new Map<string, Statement<unknown[]>>();
  readonly getVersion;
  readonly putVersion;
  /** Inserts a new version, or replaces one from the same origin with a lower seq; else changes nothing. */
  readonly claimVersion;
  readonly addConflict;
  readonly addRejected;

  constructor(private readonly db: Db) {
    this.getVersion = db.prepare('SELECT origin, seq, wall, counter, deleted FROM ferry_rows WHERE tbl = ? AND key = ?');
    this.putVersion = db.prepare(
      `INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tbl, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted`,
    );
    this.claimVersion = db.prepare(
      `INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tbl, key) DO UPDATE SET seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted
       WHERE ferry_rows.origin = excluded.origin AND ferry_rows.seq < excluded.seq`,
    );
    this.addConflict = db.prepare(
      `INSERT INTO ferry_conflicts (tbl, key, detected_at, bundle_id, current_origin, current_seq, current_clock, current_row, other_origin, other_seq, other_clock, other_row)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.addRejected = db.prepare('INSERT INTO ferry_rejected (at, bundle_id, origin, seq, tbl, reason) VALUES (?, ?, ?, ?, ?, ?)');
  }

  private lastUpsert: { table: string; columns: string[]; stmt: Statement<unknown[]> } | undefined;

  /** The upsert of all of a table record's columns (the same array each time: checked by identity first). */
  upsert(t: TableRecord, columns: string[]) {
    const last = this.lastUpsert;
    if (last && last.table === t.table && last.columns === columns) return last.stmt;
    const sig = `${t.table}\u0000${columns.join('\u0000')}`;
    let s = this.upserts.get(sig);
    if (!s) {
      s = this.db.prepare<unknown[]>(upsertSql(t.table, t.key, columns));
      this.upserts.set(sig, s);
    }
    this.lastUpsert = { table: t.table, columns, stmt: s };
    return s;
  }

  delete(t: TableRecord) {
    let s = this.deletes.get(t.table);
    if (!s) {
      s = this.db.prepare<unknown[]>(`DELETE FROM ${q(t.table)} WHERE ${keyWhere(t.key)}`);
      this.deletes.set(t.table, s);
    }
    return s;
  }

  /** The row as it is now, encoded, for the conflict record. */
  select(t: TableRecord) {
    let s = this.selects.get(t.table);
    if (!s) {
      s = this.db.prepare<unknown[]>(`SELECT * FROM ${q(t.table)} WHERE ${keyWhere(t.key)}`);
      s.safeIntegers(true);
      this.selects.set(t.table, s);
    }
    return s;
  }
}

const clockText = (v: Version) => `${v.wall}.${v.counter}`;

/** Does the incoming row carry the same values as the row now held (both deleted counts too)? */
function sameContent(current: Record<string, EncodedValue> | null, incoming: Record<string, EncodedValue> | null): boolean {
  if (current === null || incoming === null) return current === incoming;
  return Object.keys(incoming).every((c) => JSON.stringify(current[c] ?? null) === JSON.stringify(incoming[c]));
}

export async function applyRecords(
  db: Db,
  manifest: Manifest,
  records: AsyncIterable<PayloadRecord>,
  o: { now: () => Date; file: string; onProgress?: (done: number) => void; encodeRow: (row: Record<string, unknown> | undefined) => Record<string, EncodedValue> | null },
): Promise<ApplyResult> {
  const origin = manifest.sender;
  const at = o.now().toISOString();
  const counts: AckCounts = { applied: 0, already_present: 0, conflicts: 0, rejected: 0 };
  db.exec('BEGIN IMMEDIATE');
  try {
    const st = new Statements(db);
    const ranges = appliedRanges(db, origin);
    const tables = new Map<string, { record: TableRecord; keyIdx: number[]; columns: string[]; refused?: string }>();
    let done = 0;
    const reject = (c: ChangeRecord, reason: string) => {
      counts.rejected++;
      st.addRejected.run(at, manifest.bundle_id, origin, c.seq, c.table, reason);
    };
    for await (const r of records) {
      if (r.kind === 'table') {
        const refused = ensureTable(db, r);
        const entry = { record: r, keyIdx: keyIndexes(r), columns: r.columns.map((c) => c.name) };
        tables.set(r.table, refused ? { ...entry, refused } : entry);
        continue;
      }
      done++;
      if (o.onProgress && (done & 4095) === 0) o.onProgress(done);
      if (ranges.has(r.seq)) {
        counts.already_present++;
        continue;
      }
      const t = tables.get(r.table)!;
      if (t.refused) {
        reject(r, t.refused);
        continue;
      }
      const keyValues = changeKey(r, t.keyIdx);
      if (keyValues.some((v) => v === null)) {
        reject(r, `the key ${t.record.key.join(',')} holds an empty (NULL) value`);
        continue;
      }
      const key = keyText(keyValues);
      const incoming: Version = { origin, seq: r.seq, wall: r.clock[0], counter: r.clock[1] };
      // The common case in one statement: a new row, or a newer change from the same origin.
      if (st.claimVersion.run(r.table, key, origin, r.seq, incoming.wall, incoming.counter, r.op === 'delete' ? 1 : 0).changes === 1) {
        writeRow(st, t, r, keyValues);
        counts.applied++;
        continue;
      }
      const current = st.getVersion.get(r.table, key) as RowVersion;
      if (current.origin === origin) {
        // An older change from the same origin arriving late: the row already holds a newer one.
        counts.applied++;
        continue;
      }
      const incomingWins = compareVersions(incoming, current) > 0;
      const currentRow = current.deleted ? null : o.encodeRow(st.select(t.record).get(...keyValues.map(decodeValue)) as Record<string, unknown> | undefined);
      const incomingRow = rowObject(t.record, r.row);
      if (sameContent(currentRow, incomingRow)) {
        // Two facilities agree (shared reference data, a transferred patient's unchanged history):
        // not a conflict. Keep the later version so the rule stays deterministic.
        if (incomingWins) st.putVersion.run(r.table, key, incoming.origin, incoming.seq, incoming.wall, incoming.counter, current.deleted);
        counts.already_present++;
        continue;
      }
      const winner = incomingWins ? { v: incoming, row: incomingRow } : { v: current, row: currentRow };
      const loser = incomingWins ? { v: current, row: currentRow } : { v: incoming, row: incomingRow };
      st.addConflict.run(r.table, key, at, manifest.bundle_id, winner.v.origin, winner.v.seq, clockText(winner.v), JSON.stringify(winner.row), loser.v.origin, loser.v.seq, clockText(loser.v), JSON.stringify(loser.row));
      if (incomingWins) write(st, t, r, keyValues, incoming, key);
      counts.conflicts++;
    }
    ranges.add(manifest.seq.first, manifest.seq.last);
    saveAppliedRanges(db, origin, ranges);
    db.prepare(
      `INSERT INTO ferry_bundles (bundle_id, origin, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(manifest.bundle_id, origin, manifest.seq.first, manifest.seq.last, manifest.changes, counts.applied, counts.already_present, counts.conflicts, counts.rejected, manifest.created, at, o.file);
    db.exec('COMMIT');
    return { counts, appliedRanges: ranges.toArray() };
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

interface TableEntry {
  record: TableRecord;
  columns: string[];
}

function writeRow(st: Statements, t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[]): void {
  if (r.op === 'delete') st.delete(t.record).run(...keyValues.map(decodeValue));
  else st.upsert(t.record, t.columns).run(...r.row!.map((v) => decodeValue(v) as SqlValue));
}

function write(st: Statements, t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], v: Version, key: string): void {
  writeRow(st, t, r, keyValues);
  st.putVersion.run(r.table, key, v.origin, v.seq, v.wall, v.counter, r.op === 'delete' ? 1 : 0);
}
