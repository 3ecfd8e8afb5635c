/**
 * Applies one verified bundle's records to the hub database in a single transaction, together
 * with the ledger rows that record it: a crash leaves all or nothing of the bundle.
 *
 * Per change: a seq already applied for its origin is skipped ("already present"). Otherwise the
 * table's scope decides (docs/FORMAT.md "Table scope"):
 *   facility-owned  the row is the sender's own, keyed by (its verified id, key…): a new row or a
 *                   newer seq applies, an older seq arriving late is counted and not written.
 *                   Never a conflict, and no facility reaches another's rows.
 *   shared          no version yet, or a newer seq of the origin that wrote the current one: apply.
 *                   Otherwise the change applies cleanly when it was based on the row the hub holds
 *                   (an insert where there is none; an update or delete whose base is the digest
 *                   of the held row), whoever wrote it. If not, it agrees (the same content) or is
 *                   a conflict: settled by the larger (clock wall, clock counter, origin id) and
 *                   recorded with both versions.
 * Deletes keep a tombstone version so an older update cannot revive the row.
 *
 * The hub holds, after a bundle, exactly the seqs it carried (and what it held before): never the
 * whole seq range, whose other seqs may sit in another bundle on the drive not yet applied. A
 * change that cannot be applied is rejected: recorded (never its values) and not held, so the ack
 * does not confirm it and the facility keeps it pending until it applies. A clock more than a day
 * ahead of the hub's when it arrives cannot win a conflict. Conflict records are bounded: one
 * open record per row and pair of facilities (updated in place), and a byte budget per bundle.
 */
import type { Statement } from 'better-sqlite3';
import type { AckCounts } from '../../format/ack.js';
import type { Manifest } from '../../format/manifest.js';
import { changeKey, keyIndexes, rowObject, type ChangeRecord, type PayloadRecord, type TableRecord } from '../../format/records.js';
import { basedOn, CLOCK_AHEAD_TOLERANCE_MS, clockText, compareVersions, conflictBudget, CONFLICT_BUDGET_REASON, describedColumns, followsOverSeen, nullKeyReason, sameContent, sawEveryColumn, type Version } from '../apply-rules.js';
import { decodeValue, encodeValue, keyText, type EncodedValue, type SqlValue } from '../../format/values.js';
import type { ApplyResult, LedgerEntry } from '../hub-store.js';

export type { ApplyResult } from '../hub-store.js';
import { q } from '../../core/sql-identifier.js';
import { noteReferences } from './outgoing.js';
import { appliedRanges, ensureTable, hubKey, ledgerEntry, keyValueFits, keyWhere, ORIGIN_COLUMN, outstandingRejected, saveAppliedRanges, upsertSql, type Db } from './hub-db.js';
import { RangeSet, type Range } from '../ranges.js';
import { RejectionTally } from './rejections.js';
import { nameKey, type Affinity } from '../../format/names.js';

export { CLOCK_AHEAD_TOLERANCE_MS, compareVersions, CONFLICT_BYTES_ALLOWANCE, type Version } from '../apply-rules.js';

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
  /** Inserts a version where the row has none; else changes nothing. */
  readonly newVersion;
  readonly getSharedOrigin;
  readonly noteSharedOrigin;
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
    this.newVersion = db.prepare('INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tbl, key) DO NOTHING');
    this.getSharedOrigin = db.prepare('SELECT seq, columns FROM ferry_shared_rows WHERE tbl = ? AND key = ? AND origin = ?');
    this.noteSharedOrigin = db.prepare(
      `INSERT INTO ferry_shared_rows (tbl, key, origin, seq, columns) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tbl, key, origin) DO UPDATE SET seq = excluded.seq, columns = excluded.columns WHERE excluded.seq > ferry_shared_rows.seq`,
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
  upsert(t: TableEntry) {
    const table = t.record.table;
    const columns = t.writeColumns;
    const last = this.lastUpsert;
    if (last && last.table === table && last.columns === columns) return last.stmt;
    const sig = `${table}\u0000${columns.join('\u0000')}`;
    let s = this.upserts.get(sig);
    if (!s) {
      s = this.db.prepare<unknown[]>(upsertSql(table, t.writeKey, columns));
      this.upserts.set(sig, s);
    }
    this.lastUpsert = { table, columns, stmt: s };
    return s;
  }

  delete(t: TableEntry) {
    let s = this.deletes.get(t.record.table);
    if (!s) {
      s = this.db.prepare<unknown[]>(`DELETE FROM ${q(t.record.table)} WHERE ${keyWhere(t.writeKey)}`);
      this.deletes.set(t.record.table, s);
    }
    return s;
  }

  /** A shared table's row as it is now: what a change was based on, and the conflict record's copy. */
  select(t: TableEntry) {
    let s = this.selects.get(t.record.table);
    if (!s) {
      s = this.db.prepare<unknown[]>(`SELECT * FROM ${q(t.record.table)} WHERE ${keyWhere(t.writeKey)}`);
      s.safeIntegers(true);
      this.selects.set(t.record.table, s);
    }
    return s;
  }
}


/** What applying one bundle needs besides its records. */
export interface ApplyRecordsOptions {
  /** the sender as this hub trusts it: its exact id, whatever case the manifest used */
  origin: string;
  now: () => Date;
  file: string;
  onProgress?: (done: number) => void;
  /** how a row read from the hub is encoded for a conflict record (default: encodeRow) */
  encodeRow?: (row: Record<string, unknown> | undefined) => Record<string, EncodedValue> | null;
  /** tests only: a smaller allowance than CONFLICT_BYTES_ALLOWANCE */
  conflictBytesAllowance?: number;
}

/** A row as better-sqlite3 returns it (safeIntegers), encoded as a bundle encodes values. */
export function encodeRow(row: Record<string, unknown> | undefined): Record<string, EncodedValue> | null {
  if (!row) return null;
  const out: Record<string, EncodedValue> = {};
  for (const [k, v] of Object.entries(row)) out[k] = encodeValue(v);
  return out;
}

/** Apply a bundle's records, its ledger row and the origin's applied ranges in one transaction. */
export async function applyRecords(db: Db, manifest: Manifest, records: AsyncIterable<PayloadRecord>, o: ApplyRecordsOptions): Promise<ApplyResult> {
  // Only a transaction this call began is rolled back: if BEGIN fails (one already open on the
  // connection, a bug the store's mutex exists to prevent), that one is not ours to end.
  let began = false;
  try {
    db.exec('BEGIN IMMEDIATE');
    began = true;
    // Under the write lock: another process may have applied this bundle since the import looked.
    const before = ledgerEntry(db, o.origin, manifest.bundle_id);
    if (before) {
      db.exec('ROLLBACK');
      await records[Symbol.asyncIterator]().return?.();
      return appliedBeforeResult(db, o.origin, before);
    }
    const applier = new BundleApplier(db, manifest, o);
    let done = 0;
    for await (const r of records) {
      if (r.kind === 'table') {
        applier.table(r);
        continue;
      }
      done++;
      if (o.onProgress && (done & 4095) === 0) o.onProgress(done);
      applier.change(r);
    }
    const result = applier.finish();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (began && db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/** Nothing applied: the ledger row says what was, and the ranges are those held now. */
export function appliedBeforeResult(db: Db, origin: string, before: LedgerEntry): ApplyResult {
  return {
    counts: { applied: 0, already_present: before.changes - before.rejected, conflicts: 0, rejected: before.rejected },
    rejections: [],
    appliedRanges: appliedRanges(db, origin).toArray(),
    carriedRanges: [],
    appliedBefore: before,
  };
}

/** One bundle being applied, inside its transaction: each change goes through named steps. */
class BundleApplier {
  private readonly st: Statements;
  private readonly origin: string;
  private readonly at: string;
  private readonly aheadAfter: number;
  private readonly counts: AckCounts = { applied: 0, already_present: 0, conflicts: 0, rejected: 0 };
  private readonly ranges: RangeSet;
  private readonly waitingAgain: Set<number>;
  private readonly tables = new Map<string, TableEntry>();
  private readonly carried = new RangeSet();
  private readonly rejections = new RejectionTally();
  private readonly encode: NonNullable<ApplyRecordsOptions['encodeRow']>;
  private readonly conflictBudget: number;
  private readonly file: string;
  private conflictBytes = 0;

  constructor(
    private readonly db: Db,
    private readonly manifest: Manifest,
    o: ApplyRecordsOptions,
  ) {
    this.st = new Statements(db);
    this.origin = o.origin;
    this.file = o.file;
    const receivedAt = o.now();
    this.at = receivedAt.toISOString();
    this.aheadAfter = receivedAt.getTime() + CLOCK_AHEAD_TOLERANCE_MS;
    this.encode = o.encodeRow ?? encodeRow;
    this.conflictBudget = conflictBudget(manifest.payload?.stream_bytes ?? 0, o.conflictBytesAllowance);
    this.ranges = appliedRanges(db, this.origin);
    this.waitingAgain = outstandingRejected(db, this.origin);
  }

  table(r: TableRecord): void {
    const ensured = ensureTable(this.db, r);
    if (!('refused' in ensured)) noteReferences(this.db, ensured.name, r.scope, r.references);
    this.tables.set(r.table, tableEntry(r, ensured));
  }

  change(r: ChangeRecord): void {
    if (this.ranges.has(r.seq)) {
      this.counts.already_present++;
      this.carried.append(r.seq);
      return;
    }
    const t = this.tables.get(r.table)!;
    if (t.refused) return this.reject(r, t.record.table, t.refused);
    const keyValues = changeKey(r, t.keyIdx);
    const refusal = keyRefusal(t, keyValues);
    if (refusal !== undefined) return this.reject(r, t.record.table, refusal);
    if (t.record.scope === 'facility') return this.own(t, r, keyValues);
    const key = keyText(keyValues);
    const incoming: Version = { origin: this.origin, seq: r.seq, wall: r.clock[0], counter: r.clock[1], ahead: r.clock[0] > this.aheadAfter ? 1 : 0 };
    const mine = this.st.getSharedOrigin.get(t.record.table, key, this.origin) as SharedOrigin | undefined;
    if (mine && mine.seq > r.seq) {
      // Superseded by a later change of the same origin to this row, already held: whatever
      // others based on that one stays (a bundle from another drive arriving late).
      this.counts.applied++;
      this.held(r.seq);
      return;
    }
    if (this.claim(t, r, keyValues, key, incoming, mine)) return;
    this.againstCurrent(t, r, keyValues, key, incoming);
  }

  /** This origin's change is now part of the row's history: its seq, and the columns it described. */
  private noteShared(t: TableEntry, key: string, seq: number): void {
    this.st.noteSharedOrigin.run(t.record.table, key, this.origin, seq, t.columnList);
  }

  /**
   * A facility-owned row: the sender's own, named by its verified id and never by anything the
   * bundle says, so no facility's change can reach another's row. One statement decides: a new
   * row or a newer seq is written; an older seq arriving late finds a newer one there and is
   * counted as applied without being written. There is nothing to conflict with.
   */
  private own(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[]): void {
    const key = keyText([this.origin, ...keyValues]);
    const wall = r.clock[0];
    if (this.st.claimVersion.run(t.record.table, key, this.origin, r.seq, wall, r.clock[1], r.op === 'delete' ? 1 : 0, wall > this.aheadAfter ? 1 : 0).changes === 1) {
      writeRow(this.st, t, r, keyValues, this.origin);
    }
    this.counts.applied++;
    this.held(r.seq);
  }

  /**
   * A shared row in one statement: no version yet, or a newer change from the origin that wrote
   * the current one (its own earlier change, whatever changes of its own have not arrived yet).
   * Following itself needs its earlier change to have seen every value this one replaces: an
   * origin that wrote the row knowing only some of its columns (a key-only table record) has not
   * seen the rest, and must base a change on them like anyone else (see mayFollowItself).
   */
  private claim(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], key: string, v: Version, mine: SharedOrigin | undefined): boolean {
    const mayFollowItself = mine !== undefined && this.mayFollowItself(t, r, keyValues, key, mine);
    const claim = mayFollowItself ? this.st.claimVersion : this.st.newVersion;
    if (claim.run(t.record.table, key, v.origin, v.seq, v.wall, v.counter, r.op === 'delete' ? 1 : 0, v.ahead).changes !== 1) return false;
    writeRow(this.st, t, r, keyValues, this.origin);
    this.noteShared(t, key, r.seq);
    this.counts.applied++;
    this.held(r.seq);
    return true;
  }

  /**
   * May the origin's change follow its own version of the row without a base check? Only over
   * values its earlier change saw: an update replaces the columns it describes, so each must have
   * been described then or be empty (NULL) here (a column the facility has just added, its
   * re-snapshot still on another drive); a delete removes the whole row, so every value held must
   * be in a column both changes describe. Otherwise a key-only update (clean: its base covers the
   * key alone) would make the origin the row's version, and its key-only delete would then remove
   * the row unrecorded.
   */
  private mayFollowItself(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], key: string, mine: SharedOrigin): boolean {
    const saw = describedColumns(mine.columns);
    if (sawEveryColumn(t, r.op, saw)) return true;
    const current = this.st.getVersion.get(t.record.table, key) as RowVersion | undefined;
    // Not its version (or none): the claim decides nothing by following, whatever is held.
    if (current === undefined || current.origin !== this.origin || current.deleted) return true;
    return followsOverSeen(t, r.op, saw, this.encode(this.st.select(t).get(...keyValues.map(decodeValue)) as Record<string, unknown> | undefined));
  }

  /**
   * The shared row holds another origin's version: a late change from the same origin, a change
   * based on what the hub holds (clean, whoever wrote it), an agreement, or a conflict.
   */
  private againstCurrent(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], key: string, incoming: Version): void {
    const table = t.record.table;
    const current = this.st.getVersion.get(table, key) as RowVersion;
    if (current.origin === this.origin && current.seq > r.seq) {
      // An older change from the same origin arriving late: the row already holds a newer one.
      this.counts.applied++;
      this.held(r.seq);
      return;
    }
    const currentRow = current.deleted ? null : this.encode(this.st.select(t).get(...keyValues.map(decodeValue)) as Record<string, unknown> | undefined);
    if (basedOn(t, r, currentRow)) {
      // The sender changed the row the hub holds: nobody else's edit is lost, so no conflict.
      write(this.st, t, r, keyValues, incoming, key);
      this.noteShared(t, key, r.seq);
      this.counts.applied++;
      this.held(r.seq);
      return;
    }
    const incomingWins = compareVersions(incoming, current) > 0;
    const incomingRow = rowObject(t.record, r.row);
    if (sameContent(currentRow, incomingRow)) {
      // Two facilities agree (shared reference data entered at both): not a conflict. Keep the
      // later version so the rule stays deterministic.
      if (incomingWins) this.st.putVersion.run(table, key, incoming.origin, incoming.seq, incoming.wall, incoming.counter, current.deleted, incoming.ahead);
      this.noteShared(t, key, r.seq);
      this.counts.already_present++;
      this.held(r.seq);
      return;
    }
    const winner = incomingWins ? { v: incoming, row: incomingRow } : { v: current, row: currentRow };
    const loser = incomingWins ? { v: current, row: currentRow } : { v: incoming, row: incomingRow };
    if (!this.recordConflict(table, key, winner, loser, incoming, current)) {
      // Not lost: left out of the ack, sent again, and recorded within the next bundle's budget.
      return this.reject(r, table, CONFLICT_BUDGET_REASON);
    }
    if (incomingWins) write(this.st, t, r, keyValues, incoming, key);
    this.noteShared(t, key, r.seq);
    this.counts.conflicts++;
    this.held(r.seq);
  }

  /** Record both versions, within the bundle's byte budget; false when over it. */
  private recordConflict(table: string, key: string, winner: SideOf, loser: SideOf, incoming: Version, current: Version): boolean {
    const winnerJson = JSON.stringify(winner.row);
    const loserJson = JSON.stringify(loser.row);
    const cost = winnerJson.length + loserJson.length;
    // The first conflict of a bundle is always recorded, however large the row another facility
    // built up: otherwise one facility could make another's every change to it wait for ever.
    if (this.conflictBytes > 0 && this.conflictBytes + cost > this.conflictBudget) return false;
    this.conflictBytes += cost;
    // Flagged for an operator: a clock from the future took part (and, by the rule, lost to any clock that was not).
    const flag = incoming.ahead || current.ahead ? 'clock-ahead' : null;
    const values = [this.at, this.manifest.bundle_id, winner.v.origin, winner.v.seq, clockText(winner.v), winnerJson, loser.v.origin, loser.v.seq, clockText(loser.v), loserJson, flag] as const;
    // One open record per row and pair of facilities: the latest change replaces the one before,
    // and a record that holds a third facility's version is never overwritten.
    // A facility's conflict with its own version (its earlier change saw only some columns) holds,
    // as that version's row, values other facilities wrote: never replaced, or alternating
    // key-only and full changes would erase them from every record.
    const open = current.origin === this.origin ? undefined : (this.st.openConflict.get(table, key, this.origin, current.origin, current.origin, this.origin) as { id: number } | undefined);
    if (open) this.st.updateConflict.run(...values, open.id);
    else this.st.addConflict.run(table, key, ...values);
    return true;
  }

  private reject(c: ChangeRecord, table: string, reason: string): void {
    this.counts.rejected++;
    this.rejections.add(table, reason, c.seq);
    this.st.addRejected.run(this.origin, c.seq, table, reason, this.at, this.at, this.manifest.bundle_id);
  }

  private held(seq: number): void {
    this.carried.append(seq);
    if (this.waitingAgain.has(seq)) this.st.clearRejected.run(this.origin, seq);
  }

  /** The ledger row and the applied ranges: what the bundle carried and the hub now holds, never the rest of its range. */
  finish(): ApplyResult {
    const m = this.manifest;
    const heldNow = this.ranges.union(this.carried.toArray());
    saveAppliedRanges(this.db, this.origin, heldNow);
    this.db
      .prepare(
        `INSERT INTO ferry_bundles (origin, bundle_id, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(this.origin, m.bundle_id, m.seq.first, m.seq.last, m.changes, this.counts.applied, this.counts.already_present, this.counts.conflicts, this.counts.rejected, m.created, this.at, this.file);
    return { counts: this.counts, rejections: this.rejections.toArray(), appliedRanges: heldNow.toArray(), carriedRanges: this.carried.toArray() };
  }
}

interface SideOf {
  v: Version;
  row: Record<string, EncodedValue> | null;
}

/** Why a change's key cannot name a row of its table here, or undefined. */
function keyRefusal(t: TableEntry, keyValues: EncodedValue[]): string | undefined {
  if (keyValues.some((v) => v === null)) return nullKeyReason(t.record.key);
  const misfit = t.keyAffinities.findIndex((a, i) => !keyValueFits(a, keyValues[i]!));
  if (misfit < 0) return undefined;
  const why = t.keyAffinities[misfit] === 'BLOB' ? 'a whole number written as a real (it would name the row of that integer)' : `not of the type the hub's column (${t.keyAffinities[misfit]}) keeps unchanged`;
  return `the value of key column ${t.record.key[misfit]} is ${why}`;
}

/** The table as the hub holds it: the record renamed to the hub's spelling of the table, its columns and key. */
function tableEntry(r: TableRecord, ensured: ReturnType<typeof ensureTable>): TableEntry {
  const keyIdx = keyIndexes(r);
  if ('refused' in ensured) return { record: r, keyIdx, columns: [], columnSet: new Set(), columnList: '[]', writeColumns: [], writeKey: [], keyAffinities: [], refused: ensured.refused };
  const record: TableRecord = { ...r, table: ensured.name, columns: r.columns.map((c, i) => ({ ...c, name: ensured.columns[i]! })), key: keyIdx.map((i) => ensured.columns[i]!) };
  const columns = record.columns.map((c) => c.name);
  const owned = record.scope === 'facility';
  return { record, keyIdx, columns, columnSet: new Set(columns), columnList: JSON.stringify(columns.map(nameKey).sort()), writeColumns: owned ? [ORIGIN_COLUMN, ...columns] : columns, writeKey: hubKey(record.scope, record.key), keyAffinities: ensured.keyAffinities };
}

interface TableEntry {
  /** the table record, named as the hub names the table and its columns */
  record: TableRecord;
  keyIdx: number[];
  columns: string[];
  columnSet: ReadonlySet<string>;
  /** the columns, by name key, sorted, as JSON: what ferry_shared_rows keeps of a change's record */
  columnList: string;
  /** what a write binds and matches: ferry_origin first in a facility-owned table */
  writeColumns: string[];
  writeKey: string[];
  keyAffinities: Affinity[];
  refused?: string;
}

/** Write a change's row; in a facility-owned table as the sender's own (`origin` bound first). */
function writeRow(st: Statements, t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], origin: string): void {
  const owner = t.record.scope === 'facility' ? [origin] : [];
  if (r.op === 'delete') st.delete(t).run(...owner, ...keyValues.map(decodeValue));
  else st.upsert(t).run(...owner, ...r.row!.map((v) => decodeValue(v) as SqlValue));
}

/** A shared row and its version together. */
function write(st: Statements, t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], v: Version, key: string): void {
  writeRow(st, t, r, keyValues, v.origin);
  st.putVersion.run(t.record.table, key, v.origin, v.seq, v.wall, v.counter, r.op === 'delete' ? 1 : 0, v.ahead ?? 0);
}

/** What ferry_shared_rows keeps of an origin's change to a row. */
interface SharedOrigin {
  seq: number;
  columns: string;
}
