/**
 * The hub store on PostgreSQL: the ledger, applied ranges, rows and versions, conflicts, rejected
 * changes, the trust store and the audit log all in the hub database, so that several import
 * stations (copies of one hub home on several machines) share them (docs/OPERATIONS.md
 * "PostgreSQL hub"). Each call takes a connection of its own from a small pool: a read never sees
 * a bundle's rows before it commits, and bundles of different facilities apply in parallel.
 *
 * `pg` is loaded on first use (connection.ts): opening this store costs nothing until then.
 */
import { hostname } from 'node:os';
import type { Pool, PoolClient } from 'pg';
import { ErrorCodes, usageError } from '../../core/errors.js';
import { q } from '../../core/sql-identifier.js';
import type { PublicIdentity, Role } from '../../format/identity.js';
import { nameKey } from '../../format/names.js';
import type { PayloadRecord } from '../../format/records.js';
import type { EncodedValue } from '../../format/values.js';
import type {
  ApplyOptions,
  ApplyResult,
  ConflictRecord,
  Gap,
  HubStore,
  HubTable,
  LedgerEntry,
  OriginSummary,
  QuarantineEntry,
  RejectedChanges,
  ResolveOutcome,
  TableRows,
  VerifiedBundle,
} from '../hub-store.js';
import type { AuditEntry, AuditEvent, Peer, RetiredKey } from '../peer-directory.js';
import type { PgLocation } from './connection.js';
import { connectionFailure, openPool, withClient } from './connection.js';
import { applyBundle, appliedRanges, encodePgRow, ledgerEntry, ledgerRow } from './apply-bundle.js';
import { PG_SCHEMA, PG_SCHEMA_VERSION } from './schema.js';
import { hubKey, hubTable, hubTables, ORIGIN_COLUMN, takeHubLock } from './tables.js';
import { one } from './sql.js';
import { conflictOf, resolveConflictIn } from './conflicts.js';
import * as pgOut from './outgoing.js';
import type { OutgoingChange, OutgoingStore } from '../outgoing-store.js';

export interface PostgresHubStoreOptions {
  location: PgLocation;
  /** the time and node id an audit entry is stamped with */
  stamp: () => { at: string; node: string };
  readOnly?: boolean;
  /** tests only: a smaller conflict allowance per bundle */
  conflictBytesAllowance?: number;
  /** the station's name in the ledger and the audit log (default: this machine's host name) */
  station?: string;
}

/** What a database holds, by ferry_meta: a ferry hub of some version, or not ferry's. */
async function schemaVersion(c: PoolClient): Promise<number | 'none' | 'foreign'> {
  const meta = await c.query("SELECT to_regclass('ferry_meta') IS NOT NULL AS has");
  if (meta.rows[0].has) {
    const v = await c.query<{ value: string }>("SELECT value FROM ferry_meta WHERE name = 'schema_version'");
    return v.rows[0] ? Number(v.rows[0].value) : 'foreign';
  }
  const tables = await c.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()");
  return tables.rows[0].n === 0 ? 'none' : 'foreign';
}

export class PostgresHubStore implements HubStore {
  readonly where: string;
  private pool: Promise<Pool> | undefined;
  private checked: Promise<void> | undefined;
  private readonly station: string;

  private constructor(private readonly o: PostgresHubStoreOptions) {
    this.where = o.location.display;
    this.station = o.station ?? hostname();
  }

  static open(o: PostgresHubStoreOptions): PostgresHubStore {
    return new PostgresHubStore(o);
  }

  // Records sent back out to facilities (outgoing.ts): shared by every station.
  references = () => this.client((c) => pgOut.hubReferences(c));
  indexForLookup: OutgoingStore['indexForLookup'] = (table, column) => this.client((c) => pgOut.indexForLookup(c, table, column));
  rowsWhere: OutgoingStore['rowsWhere'] = (table, origin, columns, values) => this.client((c) => pgOut.rowsWhere(c, table, origin, columns, values));
  addSubscription: OutgoingStore['addSubscription'] = (s) => this.client((c) => pgOut.addSubscription(c, s));
  subscriptions: OutgoingStore['subscriptions'] = (o) => this.client((c) => pgOut.listSubscriptions(c, o));
  stopSubscriptions: OutgoingStore['stopSubscriptions'] = (match, at) => this.client((c) => pgOut.stopSubscriptions(c, match, at));
  queueOutgoing: OutgoingStore['queueOutgoing'] = (recipient, want) => this.client((c) => pgOut.queueOutgoing(c, recipient, want));
  noteOutgoingBundle: OutgoingStore['noteOutgoingBundle'] = (b) => this.client((c) => pgOut.noteOutgoingBundle(c, b));
  acknowledgeOutgoing: OutgoingStore['acknowledgeOutgoing'] = (recipient, bundleId, held, at) => this.client((c) => pgOut.acknowledgeOutgoing(c, recipient, bundleId, held, at));
  outgoingSummary = () => this.client((c) => pgOut.outgoingSummary(c));
  putRequest: OutgoingStore['putRequest'] = (r) => this.client((c) => pgOut.putRequest(c, r));
  requests: OutgoingStore['requests'] = (o) => this.client((c) => pgOut.listRequests(c, o));
  decideRequest: OutgoingStore['decideRequest'] = (id, d) => this.client((c) => pgOut.decideRequest(c, id, d));
  answerRequest: OutgoingStore['answerRequest'] = (id, at, sends) => this.client((c) => pgOut.answerRequest(c, id, at, sends));

  /** A page at a time, each read on its own connection: none is held between pages. */
  async *outgoingChanges(recipient: string): AsyncIterable<OutgoingChange> {
    const PAGE = 1000;
    for (let after = 0; ; ) {
      const page = await this.client((c) => pgOut.outgoingPage(c, recipient, after, PAGE));
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.change.seq;
    }
  }

  /** `ferry init`: the schema in an empty database; a database holding anything else is refused. */
  static async create(location: PgLocation): Promise<void> {
    const pool = await openPool(location, { max: 1 });
    try {
      await withClient(pool, location, async (c) => {
        const v = await schemaVersion(c);
        if (v === 'foreign') {
          throw usageError(ErrorCodes.DB_NOT_FERRY, `the ${location.display} already holds tables that are not a ferry hub's`, {
            hint: 'give the hub a database of its own (CREATE DATABASE … OWNER …: docs/OPERATIONS.md "PostgreSQL hub"); ferry will not write among other tables',
          });
        }
        if (v !== 'none') {
          throw usageError(ErrorCodes.DB_NOT_FERRY, `the ${location.display} already holds a ferry hub`, {
            hint: 'to add an import station, copy the home folder of the hub that uses it (docs/OPERATIONS.md "PostgreSQL hub"); to start a new hub, give it a new database',
          });
        }
        await c.query('BEGIN');
        await c.query(PG_SCHEMA);
        await c.query(pgOut.PG_OUTGOING_SCHEMA);
        await c.query('INSERT INTO ferry_meta (name, value) VALUES ($1, $2)', ['schema_version', String(PG_SCHEMA_VERSION)]);
        await c.query('COMMIT');
      });
    } finally {
      await pool.end();
    }
  }

  /** The pool, and once per store a check that the database is a current ferry hub. */
  private async client<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    this.pool ??= openPool(this.o.location, { readOnly: this.o.readOnly === true });
    const pool = await this.pool;
    this.checked ??= withClient(pool, this.o.location, (c) => this.checkSchema(c)).catch((err) => {
      this.checked = undefined;
      throw err;
    });
    await this.checked;
    return withClient(pool, this.o.location, fn);
  }

  private async checkSchema(c: PoolClient): Promise<void> {
    const v = await schemaVersion(c);
    if (v === PG_SCHEMA_VERSION) {
      // Additive tables of what the hub sends back out: a hub made before them gets them here,
      // under the hub-wide lock (two stations starting at once would race to create them).
      if (!this.o.readOnly && !(await pgOut.hasOutgoingTables(c))) {
        await c.query('BEGIN');
        await takeHubLock(c);
        await c.query(pgOut.PG_OUTGOING_SCHEMA);
        await c.query('COMMIT');
      }
      return;
    }
    const d = this.o.location.display;
    if (v === 'none') throw usageError(ErrorCodes.DB_MISSING, `the ${d} holds no ferry hub`, { hint: 'make one with `ferry init --role hub --db URL`, or fix "db" in node.json' });
    if (v === 'foreign') throw usageError(ErrorCodes.DB_NOT_FERRY, `the ${d} is not a ferry hub's database`, { hint: 'fix "db" in node.json' });
    throw usageError(ErrorCodes.DB_NOT_FERRY, `the ${d} was made by another version of ferry (schema ${v}; this ferry reads ${PG_SCHEMA_VERSION})`, { hint: 'run the ferry that made it, or upgrade this one' });
  }

  /** Connect and check the database now: an import says a missing server before it reads a drive. */
  async check(): Promise<void> {
    await this.client(async () => undefined);
  }

  async ledgerEntry(origin: string, bundleId: string): Promise<LedgerEntry | undefined> {
    return this.client((c) => ledgerEntry(c, origin, bundleId));
  }

  async bundleIdOwner(origin: string, bundleId: string): Promise<string | undefined> {
    return this.client(async (c) => (await c.query<{ origin: string }>('SELECT origin FROM ferry_bundles WHERE bundle_id = $1 AND origin <> $2 LIMIT 1', [bundleId, origin])).rows[0]?.origin);
  }

  async appliedRanges(origin: string) {
    return this.client(async (c) => (await appliedRanges(c, origin)).toArray());
  }

  async applyVerifiedBundle(bundle: VerifiedBundle, records: AsyncIterable<PayloadRecord>, o: ApplyOptions): Promise<ApplyResult> {
    if (this.o.readOnly) throw new Error('applyVerifiedBundle on a read-only store');
    return this.client((c) =>
      applyBundle(c, bundle, records, {
        receivedAt: o.receivedAt,
        station: this.station,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(this.o.conflictBytesAllowance !== undefined ? { conflictBytesAllowance: this.o.conflictBytesAllowance } : {}),
      }),
    );
  }

  async gaps(): Promise<Gap[]> {
    return this.client(async (c) => {
      const origins = (await c.query<{ origin: string }>('SELECT DISTINCT origin FROM ferry_applied ORDER BY origin')).rows.map((r) => r.origin);
      const out: Gap[] = [];
      for (const origin of origins) {
        const held = await appliedRanges(c, origin);
        for (const r of (await c.query<{ seq: string }>('SELECT seq FROM ferry_rejected WHERE origin = $1', [origin])).rows) held.add(Number(r.seq), Number(r.seq));
        for (const [first, last] of held.gaps()) out.push({ origin, first, last });
      }
      return out;
    });
  }

  async conflicts(o: { all?: boolean }): Promise<ConflictRecord[]> {
    return this.client(async (c) => (await c.query(`SELECT * FROM ferry_conflicts ${o.all ? '' : 'WHERE resolved_at IS NULL'} ORDER BY id`)).rows.map(conflictOf));
  }

  async conflict(id: number): Promise<ConflictRecord | undefined> {
    return this.client(async (c) => {
      const r = (await c.query('SELECT * FROM ferry_conflicts WHERE id = $1', [id])).rows[0];
      return r ? conflictOf(r) : undefined;
    });
  }

  async resolveConflict(id: number, keep: 'current' | 'other', o: { at: Date; hubId: string; resolution: string }): Promise<ResolveOutcome> {
    return this.client((c) => resolveConflictIn(c, id, keep, o));
  }

  async originSummaries(): Promise<OriginSummary[]> {
    return this.client(async (c) =>
      (await c.query('SELECT origin, count(*) AS bundles, max(applied_at) AS last_import, max(last_seq) AS highest_seq FROM ferry_bundles GROUP BY origin ORDER BY origin')).rows.map((r) => ({
        origin: r.origin,
        bundles: Number(r.bundles),
        last_import: r.last_import,
        highest_seq: Number(r.highest_seq),
      })),
    );
  }

  async tables(): Promise<HubTable[]> {
    return this.client((c) => hubTables(c));
  }

  async recentBundles(limit: number): Promise<LedgerEntry[]> {
    return this.client(async (c) => (await c.query('SELECT * FROM ferry_bundles ORDER BY applied_at DESC, n DESC LIMIT $1', [limit])).rows.map(ledgerRow));
  }

  async openConflictCount(): Promise<number> {
    return this.client(async (c) => Number((await c.query('SELECT count(*) AS n FROM ferry_conflicts WHERE resolved_at IS NULL')).rows[0].n));
  }

  async rejectedChanges(o: { bundle?: { origin: string; bundleId: string } } = {}): Promise<RejectedChanges[]> {
    const grouped = `SELECT origin, tbl AS "table", reason, count(*) AS changes, min(seq) AS first_seq, max(seq) AS last_seq,
      max(attempts) AS attempts, max(at) AS last_at FROM ferry_rejected`;
    const order = 'GROUP BY origin, tbl, reason ORDER BY origin, tbl, min(seq)';
    return this.client(async (c) => {
      const res = o.bundle ? await c.query(`${grouped} WHERE origin = $1 AND bundle_id = $2 ${order}`, [o.bundle.origin, o.bundle.bundleId]) : await c.query(`${grouped} ${order}`);
      return res.rows.map((r) => ({ origin: r.origin, table: r.table, reason: r.reason, changes: Number(r.changes), first_seq: Number(r.first_seq), last_seq: Number(r.last_seq), attempts: Number(r.attempts), last_at: r.last_at }));
    });
  }

  async rowCount(table: string): Promise<number> {
    return this.client(async (c) => {
      const t = await hubTable(c, table);
      if (!t) return 0;
      return Number((await one(c, `SELECT count(*) AS n FROM ${q(t.name)}`)).rows[0].n);
    });
  }

  async rowsByFacility(): Promise<TableRows[]> {
    return this.client(async (c) => {
      const out: TableRows[] = [];
      for (const t of await hubTables(c)) {
        if (t.scope === 'shared') {
          out.push({ table: t.name, scope: t.scope, origin: null, rows: Number((await one(c, `SELECT count(*) AS n FROM ${q(t.name)}`)).rows[0].n) });
          continue;
        }
        for (const r of (await one(c, `SELECT ${q(ORIGIN_COLUMN)} AS origin, count(*) AS n FROM ${q(t.name)} GROUP BY 1 ORDER BY 1`)).rows) out.push({ table: t.name, scope: t.scope, origin: r.origin, rows: Number(r.n) });
      }
      return out;
    });
  }

  async noteQuarantined(e: QuarantineEntry): Promise<void> {
    await this.client((c) =>
      c.query('INSERT INTO ferry_quarantine (station, file, original, at, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (station, file) DO UPDATE SET original = excluded.original, at = excluded.at, reason = excluded.reason', [e.station ?? this.station, e.file, e.original, e.at, JSON.stringify(e.reason)]),
    );
  }

  async quarantineRecords(): Promise<QuarantineEntry[]> {
    return this.client(async (c) =>
      (await c.query('SELECT station, file, original, at, reason FROM ferry_quarantine ORDER BY at, id')).rows.map((r) => ({
        file: r.file,
        original: r.original,
        at: r.at,
        reason: JSON.parse(r.reason) as QuarantineEntry['reason'],
        station: r.station,
      })),
    );
  }

  // The trust store and audit log: in the hub database, shared by every station.

  async peer(id: string): Promise<Peer | undefined> {
    return this.client(async (c) => {
      const r = (await c.query('SELECT * FROM ferry_peers WHERE id_key = $1', [nameKey(id)])).rows[0];
      return r ? peerOf(r) : undefined;
    });
  }

  async peers(): Promise<Peer[]> {
    return this.client(async (c) => (await c.query('SELECT * FROM ferry_peers ORDER BY id_key')).rows.map(peerOf));
  }

  async retiredKeys(id: string): Promise<RetiredKey[]> {
    return this.client(async (c) =>
      (await c.query('SELECT * FROM ferry_retired_keys WHERE peer_key = $1 ORDER BY retired_at DESC', [nameKey(id)])).rows.map((r) => ({
        fingerprint: r.fingerprint,
        signingKey: new Uint8Array(r.signing_key as Buffer),
        encryptionKey: new Uint8Array(r.encryption_key as Buffer),
        retiredAt: r.retired_at,
        replacedBy: r.replaced_by,
      })),
    );
  }

  async putPeer(p: PublicIdentity, at: string): Promise<void> {
    await this.client((c) =>
      c.query(
        `INSERT INTO ferry_peers (id, id_key, name, role, signing_key, encryption_key, fingerprint, trusted_at, revoked_at, revoked_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)
         ON CONFLICT (id_key) DO UPDATE SET id = excluded.id, name = excluded.name, role = excluded.role, signing_key = excluded.signing_key,
           encryption_key = excluded.encryption_key, fingerprint = excluded.fingerprint, trusted_at = excluded.trusted_at, revoked_at = NULL, revoked_reason = NULL`,
        [p.id, nameKey(p.id), p.name, p.role, Buffer.from(p.signingKey), Buffer.from(p.encryptionKey), p.fingerprint, at],
      ),
    );
  }

  async revokePeer(id: string, at: string, reason: string): Promise<void> {
    await this.client((c) => c.query('UPDATE ferry_peers SET revoked_at = $1, revoked_reason = $2 WHERE id_key = $3', [at, reason, nameKey(id)]));
  }

  async rotatePeer(peer: Peer, next: { signingKey: Uint8Array; encryptionKey: Uint8Array; fingerprint: string }, at: string): Promise<void> {
    await this.client(async (c) => {
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO ferry_retired_keys (peer_key, fingerprint, signing_key, encryption_key, retired_at, replaced_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (peer_key, fingerprint) DO UPDATE SET signing_key = excluded.signing_key, encryption_key = excluded.encryption_key, retired_at = excluded.retired_at, replaced_by = excluded.replaced_by`,
        [nameKey(peer.id), peer.fingerprint, Buffer.from(peer.signingKey), Buffer.from(peer.encryptionKey), at, next.fingerprint],
      );
      await c.query('UPDATE ferry_peers SET signing_key = $1, encryption_key = $2, fingerprint = $3 WHERE id_key = $4', [Buffer.from(next.signingKey), Buffer.from(next.encryptionKey), next.fingerprint, nameKey(peer.id)]);
      await c.query('COMMIT');
    });
  }

  async audit(e: AuditEvent): Promise<void> {
    const s = this.o.stamp();
    await this.client((c) =>
      c.query('INSERT INTO ferry_audit (at, node, station, action, peer, bundle_id, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        s.at,
        s.node,
        this.station,
        e.action,
        e.peer ?? null,
        e.bundle_id ?? null,
        e.outcome,
        e.detail ? JSON.stringify(e.detail) : null,
      ]),
    );
  }

  async readAudit(limit: number): Promise<AuditEntry[]> {
    return this.client(async (c) => {
      const rows = (await c.query('SELECT at, node, station, action, peer, bundle_id, outcome, detail FROM ferry_audit ORDER BY id DESC LIMIT $1', [limit])).rows;
      return rows.reverse().map((r) => ({
        at: r.at,
        node: r.node,
        action: r.action,
        peer: r.peer,
        bundle_id: r.bundle_id,
        outcome: r.outcome,
        detail: r.detail ? { ...(JSON.parse(r.detail) as Record<string, unknown>), station: r.station } : { station: r.station },
      }));
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.end();
  }

  /** A table's rows in key order, read through a cursor a page at a time, in one snapshot. */
  async *rows(table: string): AsyncIterable<Record<string, EncodedValue>> {
    await this.check();
    const pool = await this.pool!;
    let c: PoolClient;
    try {
      c = await pool.connect();
    } catch (err) {
      throw connectionFailure(err, this.o.location) ?? err;
    }
    try {
      const t = await hubTable(c, table);
      if (!t) return;
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const order = hubKey(t.scope, t.key).map((k) => q(k)).join(', ');
      await one(c, `DECLARE ferry_rows_cursor NO SCROLL CURSOR FOR SELECT * FROM ${q(t.name)} ORDER BY ${order}`);
      for (;;) {
        const page = await c.query('FETCH 1000 FROM ferry_rows_cursor');
        for (const row of page.rows) {
          const encoded = encodePgRow(row, page.fields);
          if (t.scope === 'facility') {
            const { [ORIGIN_COLUMN]: origin, ...rest } = encoded;
            yield { [ORIGIN_COLUMN]: origin ?? null, ...rest };
          } else yield encoded;
        }
        if (page.rows.length < 1000) break;
      }
      await c.query('COMMIT');
    } finally {
      c.release(true);
    }
  }
}

function peerOf(r: Record<string, unknown>): Peer {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as Role,
    signingKey: new Uint8Array(r.signing_key as Buffer),
    encryptionKey: new Uint8Array(r.encryption_key as Buffer),
    fingerprint: r.fingerprint as string,
    trustedAt: r.trusted_at as string,
    ...(r.revoked_at ? { revoked: { at: r.revoked_at as string, reason: (r.revoked_reason as string | null) ?? '' } } : {}),
  };
}
