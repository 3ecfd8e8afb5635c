/** Records of the change stream: one JSON object per line. */
import type { EncodedValue } from './values.js';

export interface ColumnSpec {
  name: string;
  /** the declared type at the source, e.g. "TEXT", "INTEGER", "" */
  type: string;
}

/** Describes a table before its first change in a bundle. */
export interface TableRecord {
  kind: 'table';
  table: string;
  columns: ColumnSpec[];
  key: string[];
}

export type ChangeOp = 'insert' | 'update' | 'delete';

export interface ChangeRecord {
  kind: 'change';
  origin: string;
  seq: number;
  /** hybrid logical clock: [wall clock milliseconds, counter] */
  clock: [number, number];
  table: string;
  op: ChangeOp;
  /** key values, in the order of the table record's `key` */
  key: EncodedValue[];
  /** the full new row for insert and update; null for delete */
  row: Record<string, EncodedValue> | null;
}

export type PayloadRecord = TableRecord | ChangeRecord;
