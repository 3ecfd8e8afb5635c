/**
 * Applies one verified bundle's records to the hub database in a single transaction, together
 * with the ledger rows that record it: a crash leaves all or nothing of the bundle.
 *
 * Per change: a seq already applied for its origin is skipped ("already present"). Otherwise the
 * row's current version decides: none, or the same origin with a lower seq -> apply; a different
 * origin -> a conflict, settled by the larger (clock wall, clock counter, origin id) and recorded
 * with both versions. Deletes keep a tombstone version so an older update cannot revive the row.
 *
 * The hub holds, after a bundle, exactly the seqs it carried (and what it held before): never the
 * whole seq range, whose other seqs may sit in another bundle on the drive not yet applied. A
 * change that cannot be applied is rejected: recorded (never its values) and not held, so the ack
 * does not confirm it and the facility keeps it pending until it applies. A clock more than a day
 * ahead of the hub's when it arrives cannot win a conflict. Conflict records are bounded: one
 * open record per row and pair of facilities (updated in place), and a byte budget per bundle.
 */
import type { Statement } from 'better-sqlite3';
import type { AckCounts } from '../format/ack.js';
import type { Manifest } from '../format/manifest.js';
import { changeKey, keyIndexes, rowObject, type ChangeRecord, type PayloadRecord, type TableRecord } from '../format/records.js';
import { decodeValue, keyText, type EncodedValue, type SqlValue } from '../format/values.js';
import { q } from './sql.js';
import { appliedRanges, ensureTable, keyValueFits, keyWhere, outstandingRejected, saveAppliedRanges, upsertSql, type Db } from './hub-db.js';
import { RangeSet, type Range } from './ranges.js';
import type { Affinity } from '../format/names.js';

export interface Version {
  origin: string;
  seq: number;
  wall: number;
  counter: number;
  /** 1 when the clock was more than CLOCK_AHEAD_TOLERANCE_MS ahead of the hub's when it arrived */
  ahead?: number;
}

/**
 * How far ahead of the hub's own clock a change's clock may be when it arrives and still win a
 * conflict. Facility clocks drift and time zones get misconfigured by hours; a clock a day ahead
 * is either broken or lying, and must not win every conflict forever (docs/FORMAT.md).
 */
export const CLOCK_AHEAD_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/** The deterministic rule: later clock wins; equal clocks are settled by node id. */
export function compareVersions(a: Version, b: Version): number {
  if (a.origin !== b.origin && Boolean(a.ahead) !== Boolean(b.ahead)) return a.ahead ? -1 : 1;
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return a.seq - b.seq;
}

export interface ApplyResult {
  counts: AckCounts;
  /** every range of the origin's seqs the hub holds after this bundle */
  appliedRanges: Range[];
  /** the seqs this bundle carried that the hub now holds, merged: what an ack must confirm first */
  carriedRanges: Range[];
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
  readonly clearRejected;
  readonly openConflict;
  readonly updateConflict;

  constructor(private readonly db: Db) {
    this.getVersion = db.prepare('SELECT origin, seq, wall, counter, deleted, ahead FROM ferry_rows WHERE tbl = ? AND key = ?');
    this.putVersion = db.prepare(
      `INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tbl, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted, ahead = excluded.ahead`,
    );
    this.claimVersion = db.prepare(
      `INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tbl, key) DO UPDATE SET seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted, ahead = excluded.ahead
       WHERE ferry_rows.origin = excluded.origin AND ferry_rows.seq < excluded.seq`,
    );
    this.addConflict = db.prepare(
      `INSERT INTO ferry_conflicts (tbl, key, detected_at, bundle_id, current_origin, current_seq, current_clock, current_row, other_origin, other_seq, other_clock, other_row, flag)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.addRejected = db.prepare(
      `INSERT INTO ferry_rejected (origin, seq, tbl, reason, first_at, at, bundle_id, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT (origin, seq) DO UPDATE SET tbl = excluded.tbl, reason = excluded.reason, at = excluded.at, bundle_id = excluded.bundle_id, attempts = ferry_rejected.attempts + 1`,
    );
    this.clearRejected = db.prepare('DELETE FROM ferry_rejected WHERE origin = ? AND seq = ?');
    this.openConflict = db.prepare(
      `SELECT id FROM ferry_conflicts WHERE tbl = ? AND key = ? AND resolved_at IS NULL
       AND ((current_origin = ? AND other_origin = ?) OR (current_origin = ? AND other_origin = ?)) ORDER BY id DESC LIMIT 1`,
    );
    this.updateConflict = db.prepare(
      `UPDATE ferry_conflicts SET detected_at = ?, bundle_id = ?, current_origin = ?, current_seq = ?, current_clock = ?, current_row = ?,
       other_origin = ?, other_seq = ?, other_clock = ?, other_row = ?, flag = ?, repeats = repeats + 1 WHERE id = ?`,
    );
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

/**
 * Does the incoming row hold the same values as the row now held? Every column the hub holds
 * counts: one the sender lacks agrees only if it is empty (NULL) here, so a sender cannot "agree"
 * with a row by sending fewer columns, and so take it over without a conflict. Both rows are
 * keyed by the hub's column names.
 */
function sameContent(current: Record<string, EncodedValue> | null, incoming: Record<string, EncodedValue> | null): boolean {
  if (current === null || incoming === null) return current === incoming;
  return Object.entries(current).every(([c, v]) => JSON.stringify(v) === JSON.stringify(incoming[c] ?? null));
}

/**
 * Bytes of row copies a bundle may add to ferry_conflicts beyond twice its own change stream: a
 * small bundle of changes that lose against large rows must not copy them by the gigabyte.
 */
export const CONFLICT_BYTES_ALLOWANCE = 64 * 1024 * 1024;

export async function applyRecords(
  db: Db,
  manifest: Manifest,
  records: AsyncIterable<PayloadRecord>,
  o: {
    /** the sender as this hub trusts it: its exact id, whatever case the manifest used */
    origin: string;
    now: () => Date;
    file: string;
    onProgress?: (done: number) => void;
    encodeRow: (row: Record<string, unknown> | undefined) => Record<string, EncodedValue> | null;
    /** tests only: a smaller allowance than CONFLICT_BYTES_ALLOWANCE */
    conflictBytesAllowance?: number;
  },
): Promise<ApplyResult> {
  const origin = o.origin;
  const receivedAt = o.now();
  const at = receivedAt.toISOString();
  const aheadAfter = receivedAt.getTime() + CLOCK_AHEAD_TOLERANCE_MS;
  const counts: AckCounts = { applied: 0, already_present: 0, conflicts: 0, rejected: 0 };
  const conflictBudget = (o.conflictBytesAllowance ?? CONFLICT_BYTES_ALLOWANCE) + 2 * (manifest.payload?.stream_bytes ?? 0);
  let conflictBytes = 0;
  db.exec('BEGIN IMMEDIATE');
  try {
    const st = new Statements(db);
    const ranges = appliedRanges(db, origin);
    const waitingAgain = outstandingRejected(db, origin);
    const tables = new Map<string, TableEntry>();
    const carried = new RangeSet();
    let done = 0;
    const reject = (c: ChangeRecord, table: string, reason: string) => {
      counts.rejected++;
      st.addRejected.run(origin, c.seq, table, reason, at, at, manifest.bundle_id);
    };
    const held = (seq: number) => {
      carried.append(seq);
      if (waitingAgain.has(seq)) st.clearRejected.run(origin, seq);
    };
    for await (const r of records) {
      if (r.kind === 'table') {
        tables.set(r.table, tableEntry(r, ensureTable(db, r)));
        continue;
      }
      done++;
      if (o.onProgress && (done & 4095) === 0) o.onProgress(done);
      if (ranges.has(r.seq)) {
        counts.already_present++;
        carried.append(r.seq);
        continue;
      }
      const t = tables.get(r.table)!;
      const table = t.record.table;
      if (t.refused) {
        reject(r, table, t.refused);
        continue;
      }
      const keyValues = changeKey(r, t.keyIdx);
      if (keyValues.some((v) => v === null)) {
        reject(r, table, `the key ${t.record.key.join(',')} holds an empty (NULL) value`);
        continue;
      }
      const misfit = t.keyAffinities.findIndex((a, i) => !keyValueFits(a, keyValues[i]!));
      if (misfit >= 0) {
        const why = t.keyAffinities[misfit] === 'BLOB' ? 'a whole number written as a real (it would name the row of that integer)' : `not of the type the hub's column (${t.keyAffinities[misfit]}) keeps unchanged`;
        reject(r, table, `the value of key column ${t.record.key[misfit]} is ${why}`);
        continue;
      }
      const key = keyText(keyValues);
      const incoming: Version = { origin, seq: r.seq, wall: r.clock[0], counter: r.clock[1], ahead: r.clock[0] > aheadAfter ? 1 : 0 };
      // The common case in one statement: a new row, or a newer change from the same origin.
      if (st.claimVersion.run(table, key, origin, r.seq, incoming.wall, incoming.counter, r.op === 'delete' ? 1 : 0, incoming.ahead).changes === 1) {
        writeRow(st, t, r, keyValues);
        counts.applied++;
        held(r.seq);
        continue;
      }
      const current = st.getVersion.get(table, key) as RowVersion;
      if (current.origin === origin) {
        // An older change from the same origin arriving late: the row already holds a newer one.
        counts.applied++;
        held(r.seq);
        continue;
      }
      const incomingWins = compareVersions(incoming, current) > 0;
      const currentRow = current.deleted ? null : o.encodeRow(st.select(t.record).get(...keyValues.map(decodeValue)) as Record<string, unknown> | undefined);
      const incomingRow = rowObject(t.record, r.row);
      if (sameContent(currentRow, incomingRow)) {
        // Two facilities agree (shared reference data, a transferred patient's unchanged history):
        // not a conflict. Keep the later version so the rule stays deterministic.
        if (incomingWins) st.putVersion.run(table, key, incoming.origin, incoming.seq, incoming.wall, incoming.counter, current.deleted, incoming.ahead);
        counts.already_present++;
        held(r.seq);
        continue;
      }
      const winner = incomingWins ? { v: incoming, row: incomingRow } : { v: current, row: currentRow };
      const loser = incomingWins ? { v: current, row: currentRow } : { v: incoming, row: incomingRow };
      const winnerJson = JSON.stringify(winner.row);
      const loserJson = JSON.stringify(loser.row);
      const cost = winnerJson.length + loserJson.length;
      // The first conflict of a bundle is always recorded, however large the row another facility
      // built up: otherwise one facility could make another's every change to it wait for ever.
      if (conflictBytes > 0 && conflictBytes + cost > conflictBudget) {
        // Not lost: left out of the ack, sent again, and recorded within the next bundle's budget.
        reject(r, table, 'this bundle already recorded as many conflicting rows as one bundle may; the change is taken again with the next bundle');
        continue;
      }
      conflictBytes += cost;
      // Flagged for an operator: a clock from the future took part (and, by the rule, lost to any clock that was not).
      const flag = incoming.ahead || current.ahead ? 'clock-ahead' : null;
      const values = [at, manifest.bundle_id, winner.v.origin, winner.v.seq, clockText(winner.v), winnerJson, loser.v.origin, loser.v.seq, clockText(loser.v), loserJson, flag] as const;
      // One open record per row and pair of facilities: the latest change replaces the one before,
      // and a record that holds a third facility's version is never overwritten.
      const open = st.openConflict.get(table, key, origin, current.origin, current.origin, origin) as { id: number } | undefined;
      if (open) st.updateConflict.run(...values, open.id);
      else st.addConflict.run(table, key, ...values);
      if (incomingWins) write(st, t, r, keyValues, incoming, key);
      counts.conflicts++;
      held(r.seq);
    }
    // What the bundle carried and the hub now holds; never the rest of its range.
    const heldNow = ranges.union(carried.toArray());
    saveAppliedRanges(db, origin, heldNow);
    db.prepare(
      `INSERT INTO ferry_bundles (origin, bundle_id, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(origin, manifest.bundle_id, manifest.seq.first, manifest.seq.last, manifest.changes, counts.applied, counts.already_present, counts.conflicts, counts.rejected, manifest.created, at, o.file);
    db.exec('COMMIT');
    return { counts, appliedRanges: heldNow.toArray(), carriedRanges: carried.toArray() };
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/** The table as the hub holds it: the record renamed to the hub's spelling of the table, its columns and key. */
function tableEntry(r: TableRecord, ensured: ReturnType<typeof ensureTable>): TableEntry {
  const keyIdx = keyIndexes(r);
  if ('refused' in ensured) return { record: r, keyIdx, columns: r.columns.map((c) => c.name), keyAffinities: [], refused: ensured.refused };
  const record: TableRecord = { ...r, table: ensured.name, columns: r.columns.map((c, i) => ({ ...c, name: ensured.columns[i]! })), key: keyIdx.map((i) => ensured.columns[i]!) };
  return { record, keyIdx, columns: record.columns.map((c) => c.name), keyAffinities: ensured.keyAffinities };
}

interface TableEntry {
  /** the table record, named as the hub names the table and its columns */
  record: TableRecord;
  keyIdx: number[];
  columns: string[];
  keyAffinities: Affinity[];
  refused?: string;
}

function writeRow(st: Statements, t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[]): void {
  if (r.op === 'delete') st.delete(t.record).run(...keyValues.map(decodeValue));
  else st.upsert(t.record, t.columns).run(...r.row!.map((v) => decodeValue(v) as SqlValue));
}

function write(st: Statements, t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], v: Version, key: string): void {
  writeRow(st, t, r, keyValues);
  st.putVersion.run(t.record.table, key, v.origin, v.seq, v.wall, v.counter, r.op === 'delete' ? 1 : 0, v.ahead ?? 0);
}
