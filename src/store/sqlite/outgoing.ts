/**
 * What a SQLite hub sends back out to facilities (issue 16): the foreign keys facilities declare,
 * the standing sends (subscriptions), and, per facility, the version of every row queued for it
 * and whether it acknowledged it.
 *
 *   ferry_references     foreign keys of each table as facilities declared them (table records, version 3)
 *   ferry_subscriptions  sends: one record (table + key) of a facility, or everything it sends, to another facility
 *   ferry_sent           per recipient and row: the version (origin, seq, deleted) last queued, its
 *                        outgoing seq, and whether the recipient acknowledged it
 *   ferry_out_seq        per recipient: the last outgoing seq given (never reused)
 *   ferry_out_bundles    bundles written for facilities, for status
 *
 * The tables are additive: a hub database made before them gets them at its next writable open,
 * and a read finds none of them empty.
 */
import { decodeValue, encodeValue, keyText, type EncodedValue } from '../../format/values.js';
import { q } from '../../core/sql-identifier.js';
import { nameKey } from '../../format/names.js';
import type { ChangeRecord, TableRecord, TableReference } from '../../format/records.js';
import { RangeSet, type Range } from '../ranges.js';
import type { Statement } from 'better-sqlite3';
import { hubKey, hubTables, ORIGIN_COLUMN, type Db } from './hub-db.js';
import { hubReferencesOf, requestEntryOf, subscriptionOf, type RequestRow, type SubscriptionRow } from '../outgoing-rows.js';
import { MAX_LOOKUP_INDEXES, type HubReference, type OutgoingChange, type OutgoingSummary, type RecordRequestEntry, type Subscription, type SubscriptionWant } from '../outgoing-store.js';

const OUTGOING_SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_references (
  tbl TEXT NOT NULL, columns TEXT NOT NULL, ref_table TEXT NOT NULL, ref_columns TEXT NOT NULL,
  PRIMARY KEY (tbl, columns, ref_table, ref_columns)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_subscriptions (
  id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, origin TEXT NOT NULL, tbl TEXT, key TEXT,
  reason TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL, request_id TEXT, stopped_at TEXT
);
CREATE TABLE IF NOT EXISTS ferry_sent (
  recipient TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
  deleted INTEGER NOT NULL, out_seq INTEGER NOT NULL, acked INTEGER NOT NULL,
  PRIMARY KEY (recipient, tbl, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ferry_sent_waiting ON ferry_sent (recipient, acked, out_seq);
CREATE TABLE IF NOT EXISTS ferry_out_seq (recipient TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ferry_requests (
  id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, facility TEXT NOT NULL, tbl TEXT NOT NULL, col TEXT NOT NULL, value TEXT NOT NULL,
  reason TEXT, created TEXT NOT NULL, received_at TEXT NOT NULL, status TEXT NOT NULL, decided_at TEXT, decided_by TEXT,
  decision_reason TEXT, answered_at TEXT, sends TEXT NOT NULL DEFAULT '[]',
  UNIQUE (facility, request_id)
);
CREATE TABLE IF NOT EXISTS ferry_out_bundles (
  recipient TEXT NOT NULL, bundle_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  changes INTEGER NOT NULL, written_at TEXT NOT NULL, file TEXT NOT NULL, acked_at TEXT,
  PRIMARY KEY (recipient, bundle_id)
);
`;

/** Every outgoing table, made where missing (a hub database made before them gets them at its next writable open). */
export function createOutgoingTables(db: Db): void {
  db.exec(OUTGOING_SCHEMA);
}

/** Does this (possibly older) hub database hold the outgoing tables yet? A read-only open cannot add them. */
export const hasOutgoingTables = (db: Db): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ferry_sent'").get() !== undefined;

/**
 * Keep the foreign keys a table record carries, and index their columns: sending a record looks
 * rows up by them (every encounter of a patient). Names reach SQL only quoted, and only names the
 * record checker passed; an index is made only on columns the hub table has.
 */
export function noteReferences(db: Db, table: string, scope: 'facility' | 'shared', references: readonly TableReference[] | undefined): void {
  if (!references?.length) return;
  const have = new Map((db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>).map((r) => [nameKey(r.name), r.name]));
  const insert = db.prepare('INSERT OR IGNORE INTO ferry_references (tbl, columns, ref_table, ref_columns) VALUES (?, ?, ?, ?)');
  for (const ref of references) {
    const columns = ref.columns.map((c) => have.get(nameKey(c)));
    if (columns.some((c) => c === undefined)) continue;
    if (insert.run(table, JSON.stringify(columns), ref.table, JSON.stringify(ref.to)).changes === 0) continue;
    // Kept as a reference either way; indexed only within the cap (a facility declaring dozens must not slow every import).
    if (lookupIndexes(db, table) >= MAX_LOOKUP_INDEXES) continue;
    const indexed = scope === 'facility' ? [ORIGIN_COLUMN, ...(columns as string[])] : (columns as string[]);
    const name = `ferry_ref_${table}_${(columns as string[]).join('_')}`.slice(0, 120);
    db.prepare(`CREATE INDEX IF NOT EXISTS ${q(name)} ON ${q(table)} (${indexed.map(q).join(', ')})`).run();
  }
}

/** How many lookup indexes ferry made on a table (foreign keys, requested columns). */
const lookupIndexes = (db: Db, table: string): number =>
  (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND (name LIKE 'ferry\\_ref\\_%' ESCAPE '\\' OR name LIKE 'ferry\\_req\\_%' ESCAPE '\\')").get(table) as { n: number }).n;

export function indexForLookup(db: Db, table: string, column: string): void {
  const t = hubTables(db).find((x) => nameKey(x.name) === nameKey(table));
  const col = t?.columns.find((c) => nameKey(c.name) === nameKey(column));
  if (!t || !col || t.scope !== 'facility') return;
  const name = `ferry_req_${nameKey(t.name)}_${nameKey(col.name)}`;
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) || lookupIndexes(db, t.name) >= MAX_LOOKUP_INDEXES) return;
  db.prepare(`CREATE INDEX IF NOT EXISTS ${q(name)} ON ${q(t.name)} (${q(ORIGIN_COLUMN)}, ${q(col.name)})`).run();
}

/** Every foreign key between two tables the hub holds, named as the hub names them. */
export function hubReferences(db: Db): HubReference[] {
  if (!hasOutgoingTables(db)) return [];
  return hubReferencesOf(hubTables(db), db.prepare('SELECT tbl, columns, ref_table, ref_columns FROM ferry_references ORDER BY tbl, ref_table, columns').all() as Array<{ tbl: string; columns: string; ref_table: string; ref_columns: string }>);
}

/** A row object read from a hub table, values encoded, without ferry_origin. */
function encodedRow(row: Record<string, unknown>): Record<string, EncodedValue> {
  const out: Record<string, EncodedValue> = {};
  for (const [k, v] of Object.entries(row)) if (k !== ORIGIN_COLUMN) out[k] = encodeValue(v);
  return out;
}

/**
 * Rows of `table` whose `columns` hold `values` (one facility's rows in a facility-owned table,
 * origin null in a shared one), with their keys. A NULL value matches nothing, as in SQL.
 */
export function rowsWhere(db: Db, table: string, origin: string | null, columns: string[], values: EncodedValue[]): Array<{ key: EncodedValue[]; row: Record<string, EncodedValue> }> {
  const t = hubTables(db).find((x) => nameKey(x.name) === nameKey(table));
  if (!t || values.some((v) => v === null)) return [];
  const where = [...(t.scope === 'facility' ? [ORIGIN_COLUMN] : []), ...columns];
  const bind = [...(t.scope === 'facility' ? [origin] : []), ...values.map(decodeValue)];
  const rows = db.prepare(`SELECT * FROM ${q(t.name)} WHERE ${where.map((c) => `${q(c)} = ?`).join(' AND ')}`).safeIntegers(true).all(...bind) as Array<Record<string, unknown>>;
  return rows.map((r) => {
    const row = encodedRow(r);
    return { key: t.key.map((k) => row[k] ?? null), row };
  });
}

export function addSubscription(db: Db, s: Omit<Subscription, 'id' | 'stopped_at'>): Subscription {
  const id = Number(
    db
      .prepare('INSERT INTO ferry_subscriptions (recipient, origin, tbl, key, reason, created_at, created_by, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.recipient, s.origin, s.table, s.key ? keyText(s.key) : null, s.reason, s.created_at, s.created_by, s.request_id).lastInsertRowid,
  );
  return { ...s, id, stopped_at: null };
}


export function listSubscriptions(db: Db, o: { all?: boolean; recipient?: string } = {}): Subscription[] {
  if (!hasOutgoingTables(db)) return [];
  const rows = db.prepare('SELECT * FROM ferry_subscriptions ORDER BY id').all() as SubscriptionRow[];
  return rows
    .map(subscriptionOf)
    .filter((s) => (o.all || s.stopped_at === null) && (o.recipient === undefined || nameKey(s.recipient) === nameKey(o.recipient)));
}

/** Stop the standing sends that match; returns them. */
export function stopSubscriptions(db: Db, match: (s: Subscription) => boolean, at: string): Subscription[] {
  const stop = db.prepare('UPDATE ferry_subscriptions SET stopped_at = ? WHERE id = ?');
  return db.transaction(() => {
    const hit = listSubscriptions(db).filter(match);
    for (const s of hit) stop.run(at, s.id);
    return hit.map((s) => ({ ...s, stopped_at: at }));
  }).immediate();
}

/**
 * Queue for `recipient` every row it should hold and does not hold in its current version: the
 * rows of shared tables, every row of the facilities it follows, and the rows of the records sent
 * to it (`want.rows`, found by the caller through the foreign keys). A row deleted at the hub
 * since it was queued is queued again, as a delete; a row that is no longer wanted (a send
 * stopped) is not taken back. Returns how many rows were queued now.
 */
export function queueOutgoing(db: Db, recipient: string, want: SubscriptionWant): number {
  return db.transaction(() => {
    db.prepare('CREATE TEMP TABLE IF NOT EXISTS ferry_want (tbl TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID').run();
    db.prepare('DELETE FROM temp.ferry_want').run();
    const tables = hubTables(db);
    const addTable = db.prepare('INSERT OR IGNORE INTO temp.ferry_want (tbl, key) SELECT tbl, key FROM ferry_rows WHERE tbl = ? AND deleted = 0');
    const addFrom = db.prepare('INSERT OR IGNORE INTO temp.ferry_want (tbl, key) SELECT tbl, key FROM ferry_rows WHERE tbl = ? AND origin = ? AND deleted = 0');
    const addOne = db.prepare('INSERT OR IGNORE INTO temp.ferry_want (tbl, key) VALUES (?, ?)');
    for (const t of tables) {
      if (t.scope === 'shared') addTable.run(t.name);
      else for (const origin of want.allFrom) if (nameKey(origin) !== nameKey(recipient)) addFrom.run(t.name, origin);
    }
    for (const r of want.rows) {
      const t = tables.find((x) => nameKey(x.name) === nameKey(r.table));
      if (t) addOne.run(t.name, keyText(t.scope === 'facility' ? [r.origin, ...r.key] : r.key));
    }
    // Rows wanted whose version the recipient was not sent yet, and deletes of rows it was sent,
    // numbered after the last outgoing seq in one statement: a million rows never sit in memory.
    const last = Number((db.prepare('SELECT last FROM ferry_out_seq WHERE recipient = ?').get(recipient) as { last: number } | undefined)?.last ?? 0);
    const queued = db
      .prepare(
        `INSERT INTO ferry_sent (recipient, tbl, key, origin, seq, deleted, out_seq, acked)
         SELECT ?, tbl, key, origin, seq, deleted, ? + row_number() OVER (ORDER BY tbl, key), 0 FROM (
           SELECT r.tbl, r.key, r.origin, r.seq, r.deleted FROM temp.ferry_want w JOIN ferry_rows r ON r.tbl = w.tbl AND r.key = w.key
             LEFT JOIN ferry_sent s ON s.recipient = ? AND s.tbl = r.tbl AND s.key = r.key
             WHERE s.key IS NULL OR s.origin <> r.origin OR s.seq <> r.seq OR s.deleted <> r.deleted
           UNION
           SELECT r.tbl, r.key, r.origin, r.seq, r.deleted FROM ferry_sent s JOIN ferry_rows r ON r.tbl = s.tbl AND r.key = s.key
             WHERE s.recipient = ? AND r.deleted = 1 AND (s.deleted = 0 OR s.origin <> r.origin OR s.seq <> r.seq)
         ) WHERE true
         ON CONFLICT (recipient, tbl, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted, out_seq = excluded.out_seq, acked = 0`,
      )
      .run(recipient, last, recipient, recipient).changes;
    if (queued > 0) db.prepare('INSERT INTO ferry_out_seq (recipient, last) VALUES (?, ?) ON CONFLICT (recipient) DO UPDATE SET last = excluded.last').run(recipient, last + queued);
    return queued;
  }).immediate();
}

/**
 * One page of what `recipient` has not acknowledged, in outgoing seq order after `after`: each
 * row's table record (as the hub holds the table) and a change carrying the row as the hub holds
 * it now (a delete when it is gone).
 */
export function outgoingPage(db: Db, recipient: string, after: number, limit: number): OutgoingChange[] {
  const tables = new Map(hubTables(db).map((t) => [t.name, t]));
  const refs = hubReferences(db);
  const sent = db
    .prepare(
      `SELECT s.tbl, s.key, s.origin, s.deleted, s.out_seq, r.wall, r.counter FROM ferry_sent s LEFT JOIN ferry_rows r ON r.tbl = s.tbl AND r.key = s.key
       WHERE s.recipient = ? AND s.acked = 0 AND s.out_seq > ? ORDER BY s.out_seq LIMIT ?`,
    )
    .all(recipient, after, limit) as Array<{ tbl: string; key: string; origin: string; deleted: number; out_seq: number; wall: number | null; counter: number | null }>;
  const lookups = new Map<string, Statement>();
  const records = new Map<string, TableRecord>();
  const out: OutgoingChange[] = [];
  for (const s of sent) {
    const t = tables.get(s.tbl);
    if (!t) continue;
    let record = records.get(t.name);
    if (!record) {
      record = { kind: 'table', table: t.name, columns: t.columns.map((c) => ({ name: c.name, type: c.type })), key: t.key, scope: t.scope };
      const references = refs.filter((r) => r.table === t.name).map((r) => ({ columns: r.columns, table: r.refTable, to: r.to }));
      if (references.length) record.references = references;
      records.set(t.name, record);
    }
    const fullKey = JSON.parse(s.key) as EncodedValue[];
    const key = t.scope === 'facility' ? fullKey.slice(1) : fullKey;
    const owner = t.scope === 'facility' ? (fullKey[0] as string) : s.origin;
    const base = { kind: 'change' as const, origin: owner, seq: s.out_seq, clock: [s.wall ?? 0, s.counter ?? 0] as [number, number], table: t.name };
    let change: ChangeRecord;
    if (s.deleted) {
      change = { ...base, op: 'delete', key, row: null };
    } else {
      // One indexed lookup per row, its statement prepared once per table and page (measured faster
      // than fetching a page's rows per table with IN (VALUES …): docs/PERFORMANCE.md).
      let lookup = lookups.get(t.name);
      if (!lookup) {
        lookup = db.prepare(`SELECT * FROM ${q(t.name)} WHERE ${hubKey(t.scope, t.key).map((k) => `${q(k)} = ?`).join(' AND ')}`).safeIntegers(true);
        lookups.set(t.name, lookup);
      }
      const found = lookup.get(...fullKey.map(decodeValue)) as Record<string, unknown> | undefined;
      // Queued and gone since without a tombstone (a conflict resolution rewrote it): the next queue sends what it is now.
      if (!found) continue;
      const row = encodedRow(found);
      change = { ...base, op: 'update', row: t.columns.map((col) => row[col.name] ?? null) };
    }
    out.push({ table: record, change });
  }
  return out;
}


/** Note a bundle written for a facility (status lists them). */
export function noteOutgoingBundle(db: Db, b: { recipient: string; bundle_id: string; first_seq: number; last_seq: number; changes: number; written_at: string; file: string }): void {
  db.prepare('INSERT OR REPLACE INTO ferry_out_bundles (recipient, bundle_id, first_seq, last_seq, changes, written_at, file) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    b.recipient,
    b.bundle_id,
    b.first_seq,
    b.last_seq,
    b.changes,
    b.written_at,
    b.file,
  );
}

/**
 * A facility's receipt: the outgoing seqs it holds. Rows queued with one of those seqs are
 * acknowledged (a row queued again since has a newer seq, and stays due). Returns how many rows.
 */
export function acknowledgeOutgoing(db: Db, recipient: string, bundleId: string, held: readonly Range[], at: string): number {
  return db.transaction(() => {
    // One statement per range held (a receipt holds at most 10,000): no row is read into memory.
    const ack = db.prepare('UPDATE ferry_sent SET acked = 1 WHERE recipient = ? AND acked = 0 AND out_seq BETWEEN ? AND ?');
    let n = 0;
    for (const [first, last] of new RangeSet([...held]).toArray()) n += ack.run(recipient, first, last).changes;
    db.prepare('UPDATE ferry_out_bundles SET acked_at = coalesce(acked_at, ?) WHERE recipient = ? AND bundle_id = ?').run(at, recipient, bundleId);
    return n;
  }).immediate();
}

/** Per recipient: rows it holds (acknowledged), rows waiting for it, its standing sends, its latest bundle. */
export function outgoingSummary(db: Db): OutgoingSummary[] {
  if (!hasOutgoingTables(db)) return [];
  const counts = db.prepare('SELECT recipient, sum(acked) AS acked, sum(1 - acked) AS waiting FROM ferry_sent GROUP BY recipient').all() as Array<{ recipient: string; acked: number; waiting: number }>;
  const subs = listSubscriptions(db);
  const last = db.prepare('SELECT written_at, acked_at FROM ferry_out_bundles WHERE recipient = ? ORDER BY written_at DESC LIMIT 1');
  const recipients = [...new Set([...counts.map((c) => c.recipient), ...subs.map((s) => s.recipient)])].sort();
  return recipients.map((recipient) => {
    const c = counts.find((x) => x.recipient === recipient);
    const b = last.get(recipient) as { written_at: string; acked_at: string | null } | undefined;
    return {
      recipient,
      acknowledged: Number(c?.acked ?? 0),
      waiting: Number(c?.waiting ?? 0),
      sends: subs.filter((s) => s.recipient === recipient).length,
      last_bundle_at: b?.written_at ?? null,
      last_ack_at: b?.acked_at ?? null,
    };
  });
}


export function putRequest(db: Db, r: Omit<RecordRequestEntry, 'id' | 'decided_at' | 'decided_by' | 'decision_reason' | 'answered_at' | 'sends'>): { entry: RecordRequestEntry; created: boolean } {
  return db.transaction(() => {
    const known = db.prepare('SELECT * FROM ferry_requests WHERE facility = ? AND request_id = ?').get(r.facility, r.request_id) as RequestRow | undefined;
    if (known) return { entry: requestEntryOf(known), created: false };
    const decided = r.status === 'approved' ? { at: r.received_at, by: 'policy' } : { at: null, by: null };
    const id = Number(
      db
        .prepare('INSERT INTO ferry_requests (request_id, facility, tbl, col, value, reason, created, received_at, status, decided_at, decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(r.request_id, r.facility, r.table, r.column, r.value, r.reason, r.created, r.received_at, r.status, decided.at, decided.by).lastInsertRowid,
    );
    return { entry: requestEntryOf(db.prepare('SELECT * FROM ferry_requests WHERE id = ?').get(id) as RequestRow), created: true };
  }).immediate();
}

export function listRequests(db: Db, o: { all?: boolean } = {}): RecordRequestEntry[] {
  if (!hasOutgoingTables(db)) return [];
  const rows = db.prepare(`SELECT * FROM ferry_requests ${o.all ? '' : "WHERE status IN ('held', 'approved')"} ORDER BY id`).all() as RequestRow[];
  return rows.map(requestEntryOf);
}

/** Approve or deny a request still waiting for a decision (or deny one approved and not answered yet); undefined when there is none such. */
export function decideRequest(db: Db, id: number, d: { status: 'approved' | 'denied'; at: string; by: string; reason: string | null }): RecordRequestEntry | undefined {
  return db.transaction(() => {
    // Held: approved or denied. Approved and not answered yet: may still be denied (by policy, or an operator withdrawing it).
    const changed = db
      .prepare("UPDATE ferry_requests SET status = ?, decided_at = ?, decided_by = ?, decision_reason = ? WHERE id = ? AND (status = 'held' OR (status = 'approved' AND ? = 'denied'))")
      .run(d.status, d.at, d.by, d.reason, id, d.status).changes;
    if (changed === 0) return undefined;
    return requestEntryOf(db.prepare('SELECT * FROM ferry_requests WHERE id = ?').get(id) as RequestRow);
  }).immediate();
}

export function answerRequest(db: Db, id: number, at: string, sends: number[]): void {
  db.prepare("UPDATE ferry_requests SET status = 'answered', answered_at = ?, sends = ? WHERE id = ?").run(at, JSON.stringify(sends), id);
}
