/**
 * What belongs to a record (docs/OPERATIONS.md "Records travel back"): found through the foreign
 * keys the facility's schema declares, within that facility's own rows at the hub.
 *
 *   1. the record: from the row named, up while it references exactly one row (an identifier
 *      details its patient, a patient is its person): the row it ends at is the record's anchor;
 *      a row that references two (an encounter: its patient and its provider) is a record itself;
 *   2. the anchor and the rows it is (references made by a table's own key: a patient is a
 *      person), and every row that references one of those, transitively (names, identifiers,
 *      encounters, the observations of those encounters);
 *   3. the rows those reference that are not yet in (an encounter's provider, the row named),
 *      without going on to what references them.
 *
 * Rows are never walked down from a row that is not the record's own (a provider, a user who
 * created the row): that is how another patient's rows would come in. The first wording
 * (down from everything the record references) brought them in through a shared provider
 * (test/record-closure.test.ts keeps that case).
 *
 * Shared tables are never followed: their rows go to every facility anyway. A table whose schema
 * declares no foreign key travels only as the row named.
 */
import { ErrorCodes, usageError } from '../core/errors.js';
import { keyText, type EncodedValue } from '../format/values.js';
import { nameKey } from '../format/names.js';
import type { HubReference, OutgoingStore, RowRef } from '../store/outgoing-store.js';

interface Member {
  table: string;
  key: EncodedValue[];
  row: Record<string, EncodedValue>;
}

/**
 * At most this many rows in one record. A patient's history is hundreds or thousands of rows; a
 * schema whose keys lead everywhere (every row referencing one `users` row) would otherwise send a
 * whole facility, and walking it row by row would take the hub an hour. `--all-from` is the way
 * to send everything.
 */
export const MAX_RECORD_ROWS = 50_000;

export interface RecordRows {
  rows: RowRef[];
  /** rows per table */
  tables: Record<string, number>;
}

export async function recordClosure(
  store: Pick<OutgoingStore, 'references' | 'rowsWhere'>,
  origin: string,
  root: { table: string; row: Record<string, EncodedValue>; key: EncodedValue[] },
  o: { maxRows?: number } = {},
): Promise<RecordRows> {
  const maxRows = o.maxRows ?? MAX_RECORD_ROWS;
  const refs = (await store.references()).filter((r) => r.scope === 'facility' && r.refScope === 'facility');
  const members = new Map<string, Member>();
  const id = (table: string, key: EncodedValue[]) => `${nameKey(table)}\u0000${keyText(key)}`;
  const add = (m: Member): boolean => {
    const k = id(m.table, m.key);
    if (members.has(k)) return false;
    if (members.size >= maxRows) {
      throw usageError(ErrorCodes.RECORD_TOO_LARGE, `${root.table} record of ${origin}: more than ${maxRows} rows belong to it through the foreign keys its EMR declares`, {
        hint: 'the schema\'s keys lead beyond one patient (a table every row references?); send with --all-from to send everything, or ask the facility to drop that foreign key from the tables it tracks',
      });
    }
    members.set(k, m);
    return true;
  };
  const valuesAt = (row: Record<string, EncodedValue>, columns: string[]) => columns.map((c) => row[c] ?? null);
  const referenced = async (m: Member): Promise<Member[]> => {
    const found: Member[] = [];
    for (const r of refs.filter((x) => sameTable(x.table, m.table))) {
      for (const hit of await store.rowsWhere(r.refTable, origin, r.to, valuesAt(m.row, r.columns))) found.push({ table: r.refTable, ...hit });
    }
    return found;
  };
  const referencing = async (m: Member): Promise<Member[]> => {
    const found: Member[] = [];
    for (const r of refs.filter((x: HubReference) => sameTable(x.refTable, m.table))) {
      for (const hit of await store.rowsWhere(r.table, origin, r.columns, valuesAt(m.row, r.to))) found.push({ table: r.table, ...hit });
    }
    return found;
  };
  const isA = (r: HubReference) => r.columns.length === r.tableKey.length && r.columns.every((c) => r.tableKey.some((k) => nameKey(k) === nameKey(c)));
  const start: Member = { table: root.table, key: root.key, row: root.row };
  add(start);
  // 1. the anchor: up while the row references exactly one row (bounded: a reference cycle ends it)
  let anchor = start;
  for (const seen = new Set([id(start.table, start.key)]); ; ) {
    const up = distinct(await referenced(anchor), id);
    if (up.length !== 1 || seen.has(id(up[0]!.table, up[0]!.key))) break;
    anchor = up[0]!;
    seen.add(id(anchor.table, anchor.key));
  }
  add(anchor);
  // 2. the anchor and what it is, then down from those, transitively
  const own = [anchor];
  for (const queue = [anchor]; queue.length; ) {
    const m = queue.pop()!;
    for (const r of refs.filter((x) => sameTable(x.table, m.table) && isA(x))) {
      for (const hit of await store.rowsWhere(r.refTable, origin, r.to, valuesAt(m.row, r.columns))) {
        const up = { table: r.refTable, ...hit };
        if (add(up)) (own.push(up), queue.push(up));
      }
    }
  }
  // Walked down once each, the row named too, though it is in already (it may be what the anchor is referenced by).
  const walked = new Set<string>();
  for (const queue = [...own]; queue.length; ) {
    const m = queue.pop()!;
    if (walked.has(id(m.table, m.key))) continue;
    walked.add(id(m.table, m.key));
    for (const below of await referencing(m)) {
      add(below);
      if (!walked.has(id(below.table, below.key))) queue.push(below);
    }
  }
  // 3. what those reference, without going down again
  for (const queue = [...members.values()]; queue.length; ) for (const m of await referenced(queue.pop()!)) if (add(m)) queue.push(m);
  const tables: Record<string, number> = {};
  const rows: RowRef[] = [];
  for (const m of members.values()) {
    tables[m.table] = (tables[m.table] ?? 0) + 1;
    rows.push({ table: m.table, origin, key: m.key });
  }
  return { rows, tables };
}

const sameTable = (a: string, b: string) => nameKey(a) === nameKey(b);

/** Each row once (two references may lead to one row). */
function distinct<M extends { table: string; key: EncodedValue[] }>(rows: M[], id: (table: string, key: EncodedValue[]) => string): M[] {
  const seen = new Map<string, M>();
  for (const r of rows) seen.set(id(r.table, r.key), r);
  return [...seen.values()];
}
