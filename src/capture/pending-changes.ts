/**
 * Reads pending changes in seq order across all log tables, in short batches: no read
 * transaction stays open while the drive is written, so the EMR can keep writing (and its new
 * changes, with higher seqs, go into the next export).
 */
import { ErrorCodes, refusedError } from '../core/errors.js';
import { encodeValue, type EncodedValue } from '../format/values.js';
import type { ChangeOp, ChangeRecord, TableRecord } from '../format/records.js';
import { rowDigest } from '../format/row-digest.js';
import { nameKey } from '../format/names.js';
import { logTable, oldImageColumn, trackedTables, type Db, type TrackedTable } from './change-log.js';
import { q } from '../core/sql-identifier.js';
import { declaredReferences } from './references.js';

const BATCH = 2000;
/**
 * A batch also stops once its values reach this many bytes: 2,000 rows of 16 MiB BLOBs would
 * otherwise be read into memory at once (a row is always read whole, whatever its size).
 */
const BATCH_BYTES = 16 * 1024 * 1024;

interface Cursor {
  table: TrackedTable;
  record: TableRecord;
  stmt: import("better-sqlite3").Statement<[number, number], unknown[]>;
  index: Map<string, number>;
  /** shared tables only: where each of the record's columns' old image is in a log row (undefined: no such log column) */
  oldImage: Array<number | undefined> | undefined;
  rows: unknown[][];
  pos: number;
  after: number;
  done: boolean;
}

export interface PendingChange {
  table: TableRecord;
  change: ChangeRecord;
}

/** A tracked table's record; with the EMR at hand, the foreign keys its schema declares now. */
export function tableRecord(t: TrackedTable, db?: Db): TableRecord {
  const record: TableRecord = { kind: 'table', table: t.name, columns: t.columns, key: t.key, scope: t.scope };
  const references = db ? declaredReferences(db, t.name, t.columns) : [];
  return references.length ? { ...record, references } : record;
}

/** Positions of the old-image columns in the log's rows, in the table record's column order. */
function oldImagePositions(t: TrackedTable, index: Map<string, number>): Array<number | undefined> {
  const byKey = new Map([...index].map(([name, i]) => [nameKey(name), i]));
  return t.columns.map((c) => byKey.get(nameKey(oldImageColumn(c.name))));
}

/** Pending changes with seq in (after, upTo], ascending, skipping those `skip` says are covered. */
export function* pendingChanges(db: Db, origin: string, upTo: number, skip: (seq: number) => boolean = () => false, after = 0): Generator<PendingChange> {
  const cursors: Cursor[] = trackedTables(db).map((t) => {
    const stmt = db.prepare<[number, number], unknown[]>(`SELECT * FROM ${q(logTable(t))} WHERE ferry_seq > ? AND ferry_seq <= ? ORDER BY ferry_seq LIMIT ${BATCH}`);
    stmt.raw(true);
    stmt.safeIntegers(true);
    const index = new Map(stmt.columns().map((c, i) => [c.name, i]));
    const oldImage = t.scope === 'shared' ? oldImagePositions(t, index) : undefined;
    return { table: t, record: tableRecord(t, db), stmt, index, oldImage, rows: [], pos: 0, after, done: false };
  });
  const head = (c: Cursor): unknown[] | undefined => {
    if (c.pos >= c.rows.length && !c.done) {
      c.rows = [];
      c.pos = 0;
      let bytes = 0;
      let full = false;
      // Read in one go (no statement stays open while the drive is written); leaving the loop early resets it.
      for (const row of c.stmt.iterate(c.after, upTo) as IterableIterator<unknown[]>) {
        c.rows.push(row);
        bytes += rowBytes(row);
        if (bytes >= BATCH_BYTES) {
          full = true;
          break;
        }
      }
      if (c.rows.length < BATCH && !full) c.done = true;
      if (c.rows.length) c.after = Number(c.rows[c.rows.length - 1]![0] as bigint);
    }
    return c.rows[c.pos];
  };
  for (;;) {
    let best: Cursor | undefined;
    let bestSeq = Infinity;
    for (const c of cursors) {
      const h = head(c);
      if (h && Number(h[0] as bigint) < bestSeq) {
        bestSeq = Number(h[0] as bigint);
        best = c;
      }
    }
    if (!best) return;
    const row = best.rows[best.pos++]!;
    if (skip(bestSeq)) continue;
    yield { table: best.record, change: toChange(best, row, origin) };
  }
}

function rowBytes(row: unknown[]): number {
  let n = 0;
  for (const v of row) n += typeof v === 'string' ? v.length : v instanceof Uint8Array ? v.byteLength : 8;
  return n;
}

const MAX_CLOCK = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A clock part as the format carries it: an integer from 0 to 2^53−1 (docs/FORMAT.md "Change
 * stream"). Anything else got into the log through an edited ferry_clock: written as a JSON
 * number it would travel rounded (or be refused by the hub), so the export stops and says so.
 */
function clockPart(v: unknown, seq: number, table: string): number {
  if (typeof v === 'bigint' && v >= 0n && v <= MAX_CLOCK) return Number(v);
  const shown = typeof v === 'bigint' || typeof v === 'number' ? String(v) : `a ${v === null ? 'NULL' : typeof v} value`;
  throw refusedError(ErrorCodes.CLOCK_INVALID, `change ${seq} (table ${table}) carries the clock part ${shown}, which a bundle cannot carry (an integer from 0 to ${Number.MAX_SAFE_INTEGER}): the EMR's ferry_clock was set out of range`, {
    hint: 'nothing was sent from this change on; set the clock back as docs/OPERATIONS.md says ("A facility clock set far in the future"), then export again',
  });
}

function toChange(c: Cursor, raw: unknown[], origin: string): ChangeRecord {
  const op = raw[1] as ChangeOp;
  const value = (name: string): EncodedValue => {
    const i = c.index.get(name);
    return i === undefined ? null : encodeValue(raw[i]);
  };
  const seq = Number(raw[0] as bigint);
  const clock: [number, number] = [clockPart(raw[2], seq, c.table.name), clockPart(raw[3], seq, c.table.name)];
  const change = { kind: 'change' as const, origin, seq, clock, table: c.table.name, op };
  // Only a shared table's update or delete says what it was based on: facility tables, most of
  // an export, pay nothing for it.
  if (c.oldImage === undefined || op === 'insert') {
    if (op === 'delete') return { ...change, key: c.table.key.map(value), row: null };
    return { ...change, row: c.table.columns.map((col) => value(col.name)) };
  }
  const base = rowDigest(c.oldImage.map((i) => (i === undefined ? null : encodeValue(raw[i]))));
  if (op === 'delete') return { ...change, key: c.table.key.map(value), row: null, base };
  return { ...change, row: c.table.columns.map((col) => value(col.name)), base };
}
