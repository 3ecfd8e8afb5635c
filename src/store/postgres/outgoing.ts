/**
 * What a PostgreSQL hub sends back out to facilities (issue 16): the same bookkeeping as the
 * SQLite hub's (src/store/sqlite/outgoing.ts), shared by every import station. A facility's queue
 * is changed by one station at a time (an advisory lock per recipient, held to commit), so two
 * stations exporting for the same facility never give one outgoing seq twice.
 *
 * The tables are additive: a hub database made before them gets them at a station's next
 * writable open, and a read-only session finds none of them empty.
 */
import type { PoolClient } from 'pg';
import { q } from '../../core/sql-identifier.js';
import { nameKey } from '../../format/names.js';
import type { ChangeRecord, TableRecord, TableReference, TableScope } from '../../format/records.js';
import { keyText, type EncodedValue } from '../../format/values.js';
import { RangeSet, type Range } from '../ranges.js';
import { hubReferencesOf, requestEntryOf, subscriptionOf, type RequestRow, type SubscriptionRow } from '../outgoing-rows.js';
import { MAX_LOOKUP_INDEXES, type HubReference, type OutgoingChange, type OutgoingSummary, type RecordRequestEntry, type Subscription, type SubscriptionWant } from '../outgoing-store.js';
import { columnTypes, hubTable, hubTables, ORIGIN_COLUMN, takeHubLock } from './tables.js';
import { fromPg, Misfit, pgTypeOfOid, toPgParam, type PgParam } from './values.js';
import { one, type Queryable } from './sql.js';

export const PG_OUTGOING_SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_references (
  tbl text NOT NULL, columns text NOT NULL, ref_table text NOT NULL, ref_columns text NOT NULL,
  PRIMARY KEY (tbl, columns, ref_table, ref_columns)
);
CREATE TABLE IF NOT EXISTS ferry_subscriptions (
  id bigserial PRIMARY KEY, recipient text NOT NULL, origin text NOT NULL, tbl text, key text,
  reason text, created_at text NOT NULL, created_by text NOT NULL, request_id text, stopped_at text
);
CREATE TABLE IF NOT EXISTS ferry_sent (
  recipient text NOT NULL, tbl text NOT NULL, key text NOT NULL, origin text NOT NULL, seq bigint NOT NULL,
  deleted smallint NOT NULL, out_seq bigint NOT NULL, acked smallint NOT NULL,
  PRIMARY KEY (recipient, tbl, key)
);
CREATE INDEX IF NOT EXISTS ferry_sent_waiting ON ferry_sent (recipient, acked, out_seq);
CREATE TABLE IF NOT EXISTS ferry_out_seq (recipient text PRIMARY KEY, last bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ferry_requests (
  id bigserial PRIMARY KEY, request_id text NOT NULL, facility text NOT NULL, tbl text NOT NULL, col text NOT NULL, value text NOT NULL,
  reason text, created text NOT NULL, received_at text NOT NULL, status text NOT NULL, decided_at text, decided_by text,
  decision_reason text, answered_at text, sends text NOT NULL DEFAULT '[]',
  UNIQUE (facility, request_id)
);
CREATE TABLE IF NOT EXISTS ferry_out_bundles (
  recipient text NOT NULL, bundle_id text NOT NULL, first_seq bigint NOT NULL, last_seq bigint NOT NULL,
  changes bigint NOT NULL, written_at text NOT NULL, file text NOT NULL, acked_at text,
  PRIMARY KEY (recipient, bundle_id)
);
`;

export async function hasOutgoingTables(c: Queryable): Promise<boolean> {
  return (await c.query("SELECT to_regclass('ferry_sent') IS NOT NULL AS has")).rows[0].has === true;
}

/** A facility's queue, one station at a time, until this transaction ends. */
const lockRecipient = (c: Queryable, recipient: string) => c.query("SELECT pg_advisory_xact_lock(hashtext('ferry-outgoing'), hashtext($1))", [nameKey(recipient)]);

async function inTransaction<T>(c: PoolClient, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Keep the foreign keys a table record carries and index their columns (a send looks rows up by
 * them). Known ones cost one read; a new one is added under the hub-wide lock, as schema changes are.
 */
export async function noteReferences(c: PoolClient, table: string, scope: TableScope, references: readonly TableReference[] | undefined, lock: () => Promise<void>): Promise<void> {
  if (!references?.length) return;
  const t = await hubTable(c, table);
  if (!t) return;
  const have = new Map(t.columns.map((x) => [nameKey(x.name), x.name]));
  const known = new Set((await c.query<{ columns: string; ref_table: string; ref_columns: string }>('SELECT columns, ref_table, ref_columns FROM ferry_references WHERE tbl = $1', [t.name])).rows.map((r) => `${r.columns}|${r.ref_table}|${r.ref_columns}`));
  for (const ref of references) {
    const columns = ref.columns.map((x) => have.get(nameKey(x)));
    if (columns.some((x) => x === undefined)) continue;
    const id = `${JSON.stringify(columns)}|${ref.table}|${JSON.stringify(ref.to)}`;
    if (known.has(id)) continue;
    await lock();
    const added = await c.query('INSERT INTO ferry_references (tbl, columns, ref_table, ref_columns) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [t.name, JSON.stringify(columns), ref.table, JSON.stringify(ref.to)]);
    known.add(id);
    if (added.rowCount === 0) continue;
    // Kept as a reference either way; indexed only within the cap (a facility declaring dozens must not slow every import).
    if ((await lookupIndexes(c, t.name)) >= MAX_LOOKUP_INDEXES) continue;
    const indexed = scope === 'facility' ? [ORIGIN_COLUMN, ...(columns as string[])] : (columns as string[]);
    await one(c, `CREATE INDEX IF NOT EXISTS ${q(await indexName(c, `ferry_ref_${nameKey(t.name)}_${(columns as string[]).map(nameKey).join('_')}`))} ON ${q(t.name)} (${indexed.map(q).join(', ')})`);
  }
}

/** PostgreSQL keeps 63 bytes of a name: a long one is cut to a prefix and a digest, so two stay apart. */
async function indexName(c: Queryable, name: string): Promise<string> {
  return name.length <= 63 ? name : `${name.slice(0, 46)}_${(await c.query('SELECT substr(md5($1), 1, 16) AS h', [name])).rows[0].h}`;
}

/** How many lookup indexes ferry made on a table (foreign keys, requested columns). */
async function lookupIndexes(c: Queryable, table: string): Promise<number> {
  const r = await c.query("SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND (indexname LIKE 'ferry\\_ref\\_%' OR indexname LIKE 'ferry\\_req\\_%')", [table]);
  return r.rows[0].n as number;
}

/** As the SQLite hub's: a requested column indexed once, within the cap, under the hub-wide lock (a schema change). */
export async function indexForLookup(c: PoolClient, table: string, column: string): Promise<void> {
  const t = await hubTable(c, table);
  const col = t?.columns.find((x) => nameKey(x.name) === nameKey(column));
  if (!t || !col || t.scope !== 'facility') return;
  const name = await indexName(c, `ferry_req_${nameKey(t.name)}_${nameKey(col.name)}`);
  const exists = async () => (await c.query('SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1', [name])).rowCount !== 0;
  if (await exists()) return;
  await inTransaction(c, async () => {
    await takeHubLock(c);
    if ((await exists()) || (await lookupIndexes(c, t.name)) >= MAX_LOOKUP_INDEXES) return;
    await one(c, `CREATE INDEX IF NOT EXISTS ${q(name)} ON ${q(t.name)} (${q(ORIGIN_COLUMN)}, ${q(col.name)})`);
  });
}

export async function hubReferences(c: Queryable): Promise<HubReference[]> {
  if (!(await hasOutgoingTables(c))) return [];
  return hubReferencesOf(await hubTables(c), (await c.query<{ tbl: string; columns: string; ref_table: string; ref_columns: string }>('SELECT tbl, columns, ref_table, ref_columns FROM ferry_references ORDER BY tbl, ref_table, columns')).rows);
}

/** A row read from a hub table, encoded as bundles carry values, without ferry_origin. */
function encoded(row: Record<string, unknown>, fields: Array<{ name: string; dataTypeID: number }>): Record<string, EncodedValue> {
  const out: Record<string, EncodedValue> = {};
  for (const f of fields) {
    if (f.name === ORIGIN_COLUMN) continue;
    const type = pgTypeOfOid(f.dataTypeID);
    const v = row[f.name];
    out[f.name] = type ? fromPg(v, type) : v === null || v === undefined ? null : String(v);
  }
  return out;
}

/** Values as parameters for these columns of `table`; undefined when one cannot be held there (it then matches no row). */
async function params(c: Queryable, table: string, columns: string[], values: EncodedValue[]): Promise<PgParam[] | undefined> {
  const types = await columnTypes(c, table);
  const out: PgParam[] = [];
  for (const [i, col] of columns.entries()) {
    const type = types.get(nameKey(col));
    if (!type) return undefined;
    const p = toPgParam(values[i]!, type);
    if (p instanceof Misfit || p === null) return undefined;
    out.push(p);
  }
  return out;
}

export async function rowsWhere(c: Queryable, table: string, origin: string | null, columns: string[], values: EncodedValue[]): Promise<Array<{ key: EncodedValue[]; row: Record<string, EncodedValue> }>> {
  const t = await hubTable(c, table);
  if (!t) return [];
  const bound = await params(c, t.name, columns, values);
  if (!bound) return [];
  const where = [...(t.scope === 'facility' ? [ORIGIN_COLUMN] : []), ...columns];
  const r = await one(c, `SELECT * FROM ${q(t.name)} WHERE ${where.map((x, i) => `${q(x)} = $${i + 1}`).join(' AND ')}`, [...(t.scope === 'facility' ? [origin] : []), ...bound]);
  return r.rows.map((x) => {
    const row = encoded(x, r.fields);
    return { key: t.key.map((k) => row[k] ?? null), row };
  });
}


export async function addSubscription(c: Queryable, s: Omit<Subscription, 'id' | 'stopped_at'>): Promise<Subscription> {
  const r = await c.query<{ id: string }>('INSERT INTO ferry_subscriptions (recipient, origin, tbl, key, reason, created_at, created_by, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id', [
    s.recipient,
    s.origin,
    s.table,
    s.key ? keyText(s.key) : null,
    s.reason,
    s.created_at,
    s.created_by,
    s.request_id,
  ]);
  return { ...s, id: Number(r.rows[0]!.id), stopped_at: null };
}

export async function listSubscriptions(c: Queryable, o: { all?: boolean; recipient?: string } = {}): Promise<Subscription[]> {
  if (!(await hasOutgoingTables(c))) return [];
  const rows = (await c.query<SubscriptionRow>('SELECT * FROM ferry_subscriptions ORDER BY id')).rows;
  return rows.map(subscriptionOf).filter((s) => (o.all || s.stopped_at === null) && (o.recipient === undefined || nameKey(s.recipient) === nameKey(o.recipient)));
}

export async function stopSubscriptions(c: PoolClient, match: (s: Subscription) => boolean, at: string): Promise<Subscription[]> {
  return inTransaction(c, async () => {
    const hit = (await listSubscriptions(c)).filter(match);
    for (const s of hit) await c.query('UPDATE ferry_subscriptions SET stopped_at = $1 WHERE id = $2 AND stopped_at IS NULL', [at, s.id]);
    return hit.map((s) => ({ ...s, stopped_at: at }));
  });
}

/** As the SQLite hub's queueOutgoing: what the recipient should hold and does not, given new outgoing seqs. */
export async function queueOutgoing(c: PoolClient, recipient: string, want: SubscriptionWant): Promise<number> {
  return inTransaction(c, async () => {
    await lockRecipient(c, recipient);
    await c.query('CREATE TEMP TABLE IF NOT EXISTS ferry_want (tbl text NOT NULL, key text NOT NULL, PRIMARY KEY (tbl, key)) ON COMMIT DELETE ROWS');
    const tables = await hubTables(c);
    for (const t of tables) {
      if (t.scope === 'shared') await c.query('INSERT INTO ferry_want (tbl, key) SELECT tbl, key FROM ferry_rows WHERE tbl = $1 AND deleted = 0 ON CONFLICT DO NOTHING', [t.name]);
      else for (const origin of want.allFrom) if (nameKey(origin) !== nameKey(recipient)) await c.query('INSERT INTO ferry_want (tbl, key) SELECT tbl, key FROM ferry_rows WHERE tbl = $1 AND origin = $2 AND deleted = 0 ON CONFLICT DO NOTHING', [t.name, origin]);
    }
    const rows = want.rows.flatMap((r) => {
      const t = tables.find((x) => nameKey(x.name) === nameKey(r.table));
      return t ? [[t.name, keyText(t.scope === 'facility' ? [r.origin, ...r.key] : r.key)]] : [];
    });
    if (rows.length) await c.query('INSERT INTO ferry_want (tbl, key) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [rows.map((x) => x[0]), rows.map((x) => x[1])]);
    const due = (
      await c.query<{ tbl: string; key: string; origin: string; seq: string; deleted: number }>(
        `SELECT r.tbl, r.key, r.origin, r.seq, r.deleted FROM ferry_want w JOIN ferry_rows r ON r.tbl = w.tbl AND r.key = w.key
           LEFT JOIN ferry_sent s ON s.recipient = $1 AND s.tbl = r.tbl AND s.key = r.key
           WHERE s.key IS NULL OR s.origin <> r.origin OR s.seq <> r.seq OR s.deleted <> r.deleted
         UNION
         SELECT r.tbl, r.key, r.origin, r.seq, r.deleted FROM ferry_sent s JOIN ferry_rows r ON r.tbl = s.tbl AND r.key = s.key
           WHERE s.recipient = $1 AND r.deleted = 1 AND (s.deleted = 0 OR s.origin <> r.origin OR s.seq <> r.seq)
         ORDER BY 1, 2`,
        [recipient],
      )
    ).rows;
    if (due.length === 0) return 0;
    const first = Number((await c.query<{ last: string }>('SELECT last FROM ferry_out_seq WHERE recipient = $1', [recipient])).rows[0]?.last ?? 0);
    await c.query(
      `INSERT INTO ferry_sent (recipient, tbl, key, origin, seq, deleted, out_seq, acked)
       SELECT $1, tbl, key, origin, seq, deleted, $2::bigint + n, 0 FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::smallint[]) WITH ORDINALITY AS d(tbl, key, origin, seq, deleted, n)
       ON CONFLICT (recipient, tbl, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted, out_seq = excluded.out_seq, acked = 0`,
      [recipient, first, due.map((d) => d.tbl), due.map((d) => d.key), due.map((d) => d.origin), due.map((d) => d.seq), due.map((d) => d.deleted)],
    );
    await c.query('INSERT INTO ferry_out_seq (recipient, last) VALUES ($1, $2) ON CONFLICT (recipient) DO UPDATE SET last = excluded.last', [recipient, first + due.length]);
    return due.length;
  });
}

/** One page of what the recipient has not acknowledged, after `after`, as the SQLite hub's outgoingPage. */
export async function outgoingPage(c: Queryable, recipient: string, after: number, limit: number): Promise<OutgoingChange[]> {
  const tables = new Map((await hubTables(c)).map((t) => [t.name, t]));
  const refs = await hubReferences(c);
  const sent = (
    await c.query<{ tbl: string; key: string; origin: string; deleted: number; out_seq: string; wall: string | null; counter: string | null }>(
      `SELECT s.tbl, s.key, s.origin, s.deleted, s.out_seq, r.wall, r.counter FROM ferry_sent s LEFT JOIN ferry_rows r ON r.tbl = s.tbl AND r.key = s.key
       WHERE s.recipient = $1 AND s.acked = 0 AND s.out_seq > $2 ORDER BY s.out_seq LIMIT $3`,
      [recipient, after, limit],
    )
  ).rows;
  const out: OutgoingChange[] = [];
  for (const s of sent) {
    const t = tables.get(s.tbl);
    if (!t) continue;
    const record: TableRecord = { kind: 'table', table: t.name, columns: t.columns.map((x) => ({ name: x.name, type: x.type })), key: t.key, scope: t.scope };
    const references = refs.filter((r) => r.table === t.name).map((r) => ({ columns: r.columns, table: r.refTable, to: r.to }));
    if (references.length) record.references = references;
    const fullKey = JSON.parse(s.key) as EncodedValue[];
    const key = t.scope === 'facility' ? fullKey.slice(1) : fullKey;
    const owner = t.scope === 'facility' ? (fullKey[0] as string) : s.origin;
    const base = { kind: 'change' as const, origin: owner, seq: Number(s.out_seq), clock: [Number(s.wall ?? 0), Number(s.counter ?? 0)] as [number, number], table: t.name };
    let change: ChangeRecord;
    if (s.deleted) {
      change = { ...base, op: 'delete', key, row: null };
    } else {
      const found = (await rowsWhere(c, t.name, t.scope === 'facility' ? owner : null, t.key, key))[0];
      if (!found) continue;
      change = { ...base, op: 'update', row: t.columns.map((col) => found.row[col.name] ?? null) };
    }
    out.push({ table: record, change });
  }
  return out;
}

export async function noteOutgoingBundle(c: Queryable, b: { recipient: string; bundle_id: string; first_seq: number; last_seq: number; changes: number; written_at: string; file: string }): Promise<void> {
  await c.query(
    `INSERT INTO ferry_out_bundles (recipient, bundle_id, first_seq, last_seq, changes, written_at, file) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (recipient, bundle_id) DO UPDATE SET first_seq = excluded.first_seq, last_seq = excluded.last_seq, changes = excluded.changes, written_at = excluded.written_at, file = excluded.file`,
    [b.recipient, b.bundle_id, b.first_seq, b.last_seq, b.changes, b.written_at, b.file],
  );
}

export async function acknowledgeOutgoing(c: PoolClient, recipient: string, bundleId: string, held: readonly Range[], at: string): Promise<number> {
  return inTransaction(c, async () => {
    await lockRecipient(c, recipient);
    const set = new RangeSet([...held]).toArray();
    let n = 0;
    if (set.length) {
      const r = await c.query(
        `UPDATE ferry_sent s SET acked = 1 FROM unnest($2::bigint[], $3::bigint[]) AS h(a, b)
         WHERE s.recipient = $1 AND s.acked = 0 AND s.out_seq BETWEEN h.a AND h.b`,
        [recipient, set.map((x) => x[0]), set.map((x) => x[1])],
      );
      n = r.rowCount ?? 0;
    }
    await c.query('UPDATE ferry_out_bundles SET acked_at = coalesce(acked_at, $1) WHERE recipient = $2 AND bundle_id = $3', [at, recipient, bundleId]);
    return n;
  });
}

export async function outgoingSummary(c: Queryable): Promise<OutgoingSummary[]> {
  if (!(await hasOutgoingTables(c))) return [];
  const counts = (await c.query<{ recipient: string; acked: string; waiting: string }>('SELECT recipient, sum(acked) AS acked, sum(1 - acked) AS waiting FROM ferry_sent GROUP BY recipient')).rows;
  const subs = await listSubscriptions(c);
  const recipients = [...new Set([...counts.map((x) => x.recipient), ...subs.map((s) => s.recipient)])].sort();
  const out: OutgoingSummary[] = [];
  for (const recipient of recipients) {
    const x = counts.find((y) => y.recipient === recipient);
    const b = (await c.query<{ written_at: string; acked_at: string | null }>('SELECT written_at, acked_at FROM ferry_out_bundles WHERE recipient = $1 ORDER BY written_at DESC LIMIT 1', [recipient])).rows[0];
    out.push({ recipient, acknowledged: Number(x?.acked ?? 0), waiting: Number(x?.waiting ?? 0), sends: subs.filter((s) => s.recipient === recipient).length, last_bundle_at: b?.written_at ?? null, last_ack_at: b?.acked_at ?? null });
  }
  return out;
}


export async function putRequest(c: Queryable, r: Omit<RecordRequestEntry, 'id' | 'decided_at' | 'decided_by' | 'decision_reason' | 'answered_at' | 'sends'>): Promise<{ entry: RecordRequestEntry; created: boolean }> {
  const decided = r.status === 'approved' ? { at: r.received_at, by: 'policy' } : { at: null, by: null };
  const ins = await c.query<RequestRow>(
    `INSERT INTO ferry_requests (request_id, facility, tbl, col, value, reason, created, received_at, status, decided_at, decided_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (facility, request_id) DO NOTHING RETURNING *`,
    [r.request_id, r.facility, r.table, r.column, r.value, r.reason, r.created, r.received_at, r.status, decided.at, decided.by],
  );
  if (ins.rows[0]) return { entry: requestEntryOf(ins.rows[0]), created: true };
  const known = (await c.query<RequestRow>('SELECT * FROM ferry_requests WHERE facility = $1 AND request_id = $2', [r.facility, r.request_id])).rows[0]!;
  return { entry: requestEntryOf(known), created: false };
}

export async function listRequests(c: Queryable, o: { all?: boolean } = {}): Promise<RecordRequestEntry[]> {
  if (!(await hasOutgoingTables(c))) return [];
  return (await c.query<RequestRow>(`SELECT * FROM ferry_requests ${o.all ? '' : "WHERE status IN ('held', 'approved')"} ORDER BY id`)).rows.map(requestEntryOf);
}

export async function decideRequest(c: Queryable, id: number, d: { status: 'approved' | 'denied'; at: string; by: string; reason: string | null }): Promise<RecordRequestEntry | undefined> {
  // One statement: two stations deciding at once, one of them wins and the other finds it decided.
  const r = await c.query<RequestRow>("UPDATE ferry_requests SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4 WHERE id = $5 AND status IN ('held', 'approved') AND ($1 = 'denied' OR status = 'held') RETURNING *", [
    d.status,
    d.at,
    d.by,
    d.reason,
    id,
  ]);
  return r.rows[0] ? requestEntryOf(r.rows[0]) : undefined;
}

export async function answerRequest(c: Queryable, id: number, at: string, sends: number[]): Promise<void> {
  await c.query("UPDATE ferry_requests SET status = 'answered', answered_at = $1, sends = $2 WHERE id = $3", [at, JSON.stringify(sends), id]);
}
