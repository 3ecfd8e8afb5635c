/** Records of the change stream: one JSON object per line. */
import type { EncodedValue } from './values.js';

export interface ColumnSpec {
  name: string;
  /** the declared type at the source, e.g. "TEXT", "INTEGER", "" */
  type: string;
}

/**
 * Whose rows a table holds at the hub (docs/FORMAT.md "Table scope"):
 *   facility  each row belongs to the facility that sent it; the hub keys it by (ferry_origin, key…),
 *             so two facilities' local ids (patient 1 and patient 1) never meet;
 *   shared    the key means the same row at every site (a uuid, a concept code); rows from all
 *             facilities merge by it, and concurrent edits are conflicts.
 */
export type TableScope = 'facility' | 'shared';
export const TABLE_SCOPES: readonly TableScope[] = ['facility', 'shared'];
/** A scope as every message and screen names it: `facility` alone would read as a place, not as whose the rows are. */
export const scopeName = (scope: TableScope): string => (scope === 'shared' ? 'shared' : 'facility-owned');
/** The scope with what a shared table's rows merge by, as the hub's table listings say it. */
export const scopeWithKey = (scope: TableScope, key: readonly string[]): string => (scope === 'shared' ? `shared by ${key.join(', ')}` : scopeName(scope));

/**
 * A foreign key the source's schema declares (SQLite's PRAGMA foreign_key_list): `columns` of this
 * table hold the values of `to` in `table`. The hub follows them to find what belongs to a record
 * (a patient's names, encounters, observations) when it sends that record to another facility.
 */
export interface TableReference {
  columns: string[];
  table: string;
  to: string[];
}

/** Describes a table before its first change in a bundle. */
export interface TableRecord {
  kind: 'table';
  table: string;
  columns: ColumnSpec[];
  key: string[];
  /** bundles of format version 2 always carry it; a version 1 bundle's tables are read as 'facility' */
  scope: TableScope;
  /** version 3 only, and then optional: the foreign keys the source declares on this table */
  references?: TableReference[];
}

/**
 * Who wrote a bundle, which decides the rules its change records follow (docs/FORMAT.md "Hub
 * bundles"): a facility sends its own changes (origin = sender, a shared change carries its base);
 * a hub sends rows it holds to one facility (origin = the facility each row came from, seq = the
 * hub's count of what it sent that facility, no base).
 */
export type BundleDirection = 'to-hub' | 'to-facility';

export type ChangeOp = 'insert' | 'update' | 'delete';

export interface ChangeRecord {
  kind: 'change';
  origin: string;
  seq: number;
  /** hybrid logical clock: [wall clock milliseconds, counter] */
  clock: [number, number];
  table: string;
  op: ChangeOp;
  /** delete only: the key values, in the order of the table record's `key` */
  key?: EncodedValue[];
  /** insert and update: the full new row, one value per column of the table record, in its order; delete: null */
  row: EncodedValue[] | null;
  /**
   * Shared tables only, update and delete only (and then required): rowDigest of the row as it
   * stood at the facility just before this change, over the table record's columns. The hub
   * applies the change cleanly when its own row has this digest; otherwise the edits were
   * concurrent (a conflict).
   */
  base?: string;
}

/** The key values of a change: carried by a delete, taken from the row otherwise. */
export function changeKey(c: ChangeRecord, keyIndexes: readonly number[]): EncodedValue[] {
  return c.row ? keyIndexes.map((i) => c.row![i]!) : c.key!;
}

/** Positions of the key columns among the table's columns. */
export function keyIndexes(t: TableRecord): number[] {
  return t.key.map((k) => t.columns.findIndex((c) => c.name === k));
}

/** A row as an object of column name -> value (for conflict records and people). */
export function rowObject(t: TableRecord, row: EncodedValue[] | null): Record<string, EncodedValue> | null {
  if (!row) return null;
  const o: Record<string, EncodedValue> = {};
  t.columns.forEach((c, i) => (o[c.name] = row[i]!));
  return o;
}

export type PayloadRecord = TableRecord | ChangeRecord;
