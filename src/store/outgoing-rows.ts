/**
 * The rows of the outgoing tables as both hub stores keep them (the same columns in SQLite and
 * PostgreSQL), read back into the OutgoingStore's shapes. PostgreSQL gives a bigint as text,
 * SQLite as a number: ids go through Number either way.
 */
import type { EncodedValue } from '../format/values.js';
import { nameKey } from '../format/names.js';
import type { HubTable } from './hub-store.js';
import type { HubReference, RecordRequestEntry, Subscription } from './outgoing-store.js';

export interface SubscriptionRow {
  id: number | string;
  recipient: string;
  origin: string;
  tbl: string | null;
  key: string | null;
  reason: string | null;
  created_at: string;
  created_by: string;
  request_id: string | null;
  stopped_at: string | null;
}

export const subscriptionOf = (r: SubscriptionRow): Subscription => ({
  id: Number(r.id),
  recipient: r.recipient,
  origin: r.origin,
  table: r.tbl,
  key: r.key === null ? null : (JSON.parse(r.key) as EncodedValue[]),
  reason: r.reason,
  created_at: r.created_at,
  created_by: r.created_by,
  request_id: r.request_id,
  stopped_at: r.stopped_at,
});

export interface RequestRow {
  id: number | string;
  request_id: string;
  facility: string;
  tbl: string;
  col: string;
  value: string;
  reason: string | null;
  created: string;
  received_at: string;
  status: RecordRequestEntry['status'];
  decided_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  answered_at: string | null;
  sends: string;
}

export const requestEntryOf = (r: RequestRow): RecordRequestEntry => ({
  id: Number(r.id),
  request_id: r.request_id,
  facility: r.facility,
  table: r.tbl,
  column: r.col,
  value: r.value,
  reason: r.reason,
  created: r.created,
  received_at: r.received_at,
  status: r.status,
  decided_at: r.decided_at,
  decided_by: r.decided_by,
  decision_reason: r.decision_reason,
  answered_at: r.answered_at,
  sends: JSON.parse(r.sends) as number[],
});

/**
 * The foreign keys kept in ferry_references, between tables the hub holds, spelled as the hub
 * spells them; those naming a table or column the hub does not hold are left out.
 */
export function hubReferencesOf(tables: HubTable[], rows: Array<{ tbl: string; columns: string; ref_table: string; ref_columns: string }>): HubReference[] {
  const byName = new Map(tables.map((t) => [nameKey(t.name), t]));
  const out: HubReference[] = [];
  for (const r of rows) {
    const from = byName.get(nameKey(r.tbl));
    const to = byName.get(nameKey(r.ref_table));
    if (!from || !to) continue;
    const spell = (t: HubTable, names: string[]) => names.map((n) => t.columns.find((x) => nameKey(x.name) === nameKey(n))?.name);
    const columns = spell(from, JSON.parse(r.columns) as string[]);
    const toColumns = spell(to, JSON.parse(r.ref_columns) as string[]);
    if (columns.some((x) => x === undefined) || toColumns.some((x) => x === undefined)) continue;
    out.push({ table: from.name, scope: from.scope, tableKey: from.key, columns: columns as string[], refTable: to.name, refScope: to.scope, to: toColumns as string[] });
  }
  return out;
}
