/**
 * What belongs to a record (docs/OPERATIONS.md "Records travel back"): found through the foreign
 * keys the facility's schema declares, within that facility's own rows at the hub.
 *
 *   1. the record itself, and the rows it references, transitively (a patient's person);
 *   2. every row that references one of those, transitively (names, identifiers, encounters,
 *      and the observations of those encounters);
 *   3. the rows those reference that are not yet in (an encounter's provider), without going on
 *      to what references them: that would bring another patient's rows.
 *
 * Shared tables are never followed: their rows go to every facility anyway. A table whose schema
 * declares no foreign key travels only as the row named.
 */
import { keyText, type EncodedValue } from '../format/values.js';
import { nameKey } from '../format/names.js';
import type { HubReference, OutgoingStore, RowRef } from '../store/outgoing-store.js';

interface Member {
  table: string;
  key: EncodedValue[];
  row: Record<string, EncodedValue>;
}

/** At most this many rows in one record: a schema whose keys lead everywhere must not queue a whole facility by accident. */
export const MAX_RECORD_ROWS = 1_000_000;

export interface RecordRows {
  rows: RowRef[];
  /** rows per table */
  tables: Record<string, number>;
}

export async function recordClosure(store: Pick<OutgoingStore, 'references' | 'rowsWhere'>, origin: string, root: { table: string; row: Record<string, EncodedValue>; key: EncodedValue[] }): Promise<RecordRows> {
  const refs = (await store.references()).filter((r) => r.scope === 'facility' && r.refScope === 'facility');
  const members = new Map<string, Member>();
  const id = (table: string, key: EncodedValue[]) => `${nameKey(table)}\u0000${keyText(key)}`;
  const add = (m: Member): boolean => {
    const k = id(m.table, m.key);
    if (members.has(k)) return false;
    if (members.size >= MAX_RECORD_ROWS) throw new Error('internal: record closure over its bound');
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
  const start: Member = { table: root.table, key: root.key, row: root.row };
  add(start);
  // 1. up from the record
  for (const queue = [start]; queue.length; ) for (const m of await referenced(queue.pop()!)) if (add(m)) queue.push(m);
  // 2. down from everything so far
  for (const queue = [...members.values()]; queue.length; ) for (const m of await referencing(queue.pop()!)) if (add(m)) queue.push(m);
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
