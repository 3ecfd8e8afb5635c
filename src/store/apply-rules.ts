/**
 * The rules a hub applies a change by, whatever database holds the hub (docs/FORMAT.md "Shared
 * apply", "Table scope"): pure decisions, no I/O. The SQLite applier (src/store/sqlite/apply-bundle.ts)
 * and the PostgreSQL one (src/store/postgres/apply-bundle.ts) read and write their own databases and
 * decide through these, so the two stores cannot drift apart.
 */
import type { ChangeRecord } from '../format/records.js';
import { rowDigest } from '../format/row-digest.js';
import { nameKey } from '../format/names.js';
import type { EncodedValue } from '../format/values.js';

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

/**
 * Bytes of row copies a bundle may add to ferry_conflicts beyond twice its own change stream: a
 * small bundle of changes that lose against large rows must not copy them by the gigabyte.
 */
export const CONFLICT_BYTES_ALLOWANCE = 64 * 1024 * 1024;

/** The deterministic rule: later clock wins; equal clocks are settled by node id. */
export function compareVersions(a: Version, b: Version): number {
  if (a.origin !== b.origin && Boolean(a.ahead) !== Boolean(b.ahead)) return a.ahead ? -1 : 1;
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return a.seq - b.seq;
}

export const clockText = (v: Version): string => `${v.wall}.${v.counter}`;

/** A change's columns as the hub names them. */
export interface ChangeColumns {
  columns: string[];
  columnSet: ReadonlySet<string>;
}

/**
 * Does the incoming row hold the same values as the row now held? Every column the hub holds
 * counts: one the sender lacks agrees only if it is empty (NULL) here, so a sender cannot "agree"
 * with a row by sending fewer columns, and so take it over without a conflict. Both rows are
 * keyed by the hub's column names.
 */
export function sameContent(current: Record<string, EncodedValue> | null, incoming: Record<string, EncodedValue> | null): boolean {
  if (current === null || incoming === null) return current === incoming;
  return Object.entries(current).every(([c, v]) => JSON.stringify(v) === JSON.stringify(incoming[c] ?? null));
}

/**
 * Was the change made to the row the hub holds (docs/FORMAT.md "Row digest")? An insert where
 * there is none; an update or delete whose base is the digest of the held row over the change's
 * columns, in the record's order. A column the hub holds that the sender does not track is no
 * part of the digest: an update writes only the columns it describes, so another facility's
 * column survives it (a staggered EMR upgrade must not turn every edit into a conflict). A delete
 * removes the whole row, so it must have seen it whole: such a column must be empty (NULL) here,
 * or knowing a row's key would be enough to delete it unrecorded.
 */
export function basedOn(t: ChangeColumns, r: ChangeRecord, held: Record<string, EncodedValue> | null): boolean {
  if (r.op === 'insert') return held === null;
  if (held === null || r.base === undefined) return false;
  if (r.op === 'delete') for (const c in held) if (held[c] !== null && !t.columnSet.has(c)) return false;
  return rowDigest(t.columns.map((c) => held[c] ?? null)) === r.base;
}

/** The columns an origin's earlier change to a shared row described (ferry_shared_rows.columns: name keys, as JSON). */
export const describedColumns = (columns: string): ((c: string) => boolean) => {
  const described = new Set(JSON.parse(columns) as string[]);
  return (c) => described.has(nameKey(c));
};

/**
 * May an origin's change follow its own version of a shared row without a base check? Only over
 * values its earlier change saw: an update replaces the columns it describes, so each must have
 * been described then or be empty (NULL) here (a column the facility has just added, its
 * re-snapshot still on another drive); a delete removes the whole row, so every value held must
 * be in a column both changes describe. Otherwise a key-only update (clean: its base covers the
 * key alone) would make the origin the row's version, and its key-only delete would then remove
 * the row unrecorded. `held`: the row now held, when it is the origin's own version and not deleted.
 */
export function followsOverSeen(t: ChangeColumns, op: ChangeRecord['op'], saw: (c: string) => boolean, held: Record<string, EncodedValue> | null): boolean {
  if (held === null) return true;
  if (op === 'delete') return Object.entries(held).every(([c, value]) => value === null || (t.columnSet.has(c) && saw(c)));
  return t.columns.every((c) => saw(c) || (held[c] ?? null) === null);
}

/** An update that saw every column it writes follows its own version without reading the row. */
export const sawEveryColumn = (t: ChangeColumns, op: ChangeRecord['op'], saw: (c: string) => boolean): boolean => op !== 'delete' && t.columns.every(saw);

/** The reason a change whose key holds NULL is rejected: it can never name a row. */
export const nullKeyReason = (key: string[]): string =>
  `the key ${key.join(',')} holds an empty (NULL) value; such a change can never apply: give the row its key in the facility's EMR (docs/OPERATIONS.md Troubleshooting, "A facility's pending count never reaches 0")`;

/** The reason a change is rejected when its bundle used up its conflict-record budget. */
export const CONFLICT_BUDGET_REASON = 'this bundle already recorded as many conflicting rows as one bundle may; the change is taken again with the next bundle';

/** Bytes of conflict records one bundle may write: the allowance and twice its change stream. */
export const conflictBudget = (streamBytes: number, allowance = CONFLICT_BYTES_ALLOWANCE): number => allowance + 2 * streamBytes;
