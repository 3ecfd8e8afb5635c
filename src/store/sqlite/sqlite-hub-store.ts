/**
 * The hub store in SQLite: the hub database (src/store/sqlite/hub-db.ts) for the ledger, rows
 * and conflicts, and the node's state database for the hub's peers and audit log. better-sqlite3
 * is synchronous; the methods are asynchronous because the HubStore interface is.
 *
 * Every method runs under one FIFO mutex. The hub database is one connection, and a bundle's
 * transaction stays open across the awaits of its record stream: without the mutex a call made
 * meanwhile (a resolution, a read, a second bundle) would run inside that transaction, see its
 * uncommitted rows, and be rolled back with it.
 */
import type { PayloadRecord } from '../../format/records.js';
import type { EncodedValue } from '../../format/values.js';
import { applyRecords, encodeRow, type ApplyRecordsOptions } from './apply-bundle.js';
import { appliedRanges, bundleIdOwner, gaps, hubKey, hubTables, ledgerEntry, openHubDb, ORIGIN_COLUMN, recentBundles, rowsByFacility, type Db } from './hub-db.js';
import type { ApplyOptions, ApplyResult, ConflictRecord, Gap, HubStore, HubTable, LedgerEntry, OriginSummary, RejectedChanges, ResolveOutcome, TableRows, VerifiedBundle } from '../hub-store.js';
import type { NodeState } from '../node-state.js';
import type { AuditEvent, PeerDirectory } from '../peer-directory.js';
import { q } from '../../core/sql-identifier.js';
import { Mutex } from '../mutex.js';
import { rejectedChanges } from './rejections.js';
import { conflictRecord, listConflictRecords, resolveConflictRecord } from './conflicts.js';
import { indexForLookup, answerRequest, decideRequest, listRequests, putRequest, acknowledgeOutgoing, addSubscription, hubReferences, listSubscriptions, noteOutgoingBundle, outgoingPage, outgoingSummary, queueOutgoing, rowsWhere, stopSubscriptions } from './outgoing.js';
import type { OutgoingChange, OutgoingStore, Subscription } from '../outgoing-store.js';

export interface SqliteHubStoreOptions {
  /** the hub database file */
  path: string;
  /** the node's state database: the hub's peers and audit log */
  state: NodeState;
  /** the time and node id an audit entry is stamped with */
  stamp: () => { at: string; node: string };
  /** tests only: a smaller conflict allowance per bundle */
  conflictBytesAllowance?: number;
  /** nothing is written (status, the log) */
  readOnly?: boolean;
}

export class SqliteHubStore implements HubStore {
  private readonly directory: PeerDirectory;
  readonly where: string;
  private readonly one = new Mutex();
  private opened: Db | undefined;

  private constructor(private readonly o: SqliteHubStoreOptions) {
    this.directory = o.state.directory(o.stamp);
    this.where = `SQLite database ${o.path}`;
  }

  /**
   * A missing database is a configuration error: only create() makes one, and one an older ferry
   * made is refused until `ferry migrate` converts it. To change state it is opened at once, so a
   * command that writes fails before it does anything. To read, it is opened on the first call
   * that needs it: the peers and audit log are in state.db, and `ferry log` and `ferry inspect`
   * must work while hub.db's disk is not mounted or an upgrade has not migrated it yet (they are
   * how an operator finds out why).
   */
  static open(o: SqliteHubStoreOptions): SqliteHubStore {
    const store = new SqliteHubStore(o);
    if (!o.readOnly) void store.db;
    return store;
  }

  private get db(): Db {
    this.opened ??= openHubDb(this.o.path, { readOnly: this.o.readOnly === true });
    return this.opened;
  }

  static create(path: string): void {
    openHubDb(path, { create: true }).close();
  }

  /** One station: the quarantine folder in the home is the record. */
  async noteQuarantined(): Promise<void> {}

  async quarantineRecords(): Promise<undefined> {
    return undefined;
  }

  async check(): Promise<void> {
    await this.one.run(() => void this.db);
  }

  async ledgerEntry(origin: string, bundleId: string): Promise<LedgerEntry | undefined> {
    return this.one.run(() => ledgerEntry(this.db, origin, bundleId));
  }

  async bundleIdOwner(origin: string, bundleId: string): Promise<string | undefined> {
    return this.one.run(() => bundleIdOwner(this.db, origin, bundleId));
  }

  async appliedRanges(origin: string) {
    return this.one.run(() => appliedRanges(this.db, origin).toArray());
  }

  applyVerifiedBundle(bundle: VerifiedBundle, records: AsyncIterable<PayloadRecord>, o: ApplyOptions): Promise<ApplyResult> {
    const options: ApplyRecordsOptions = {
      origin: bundle.origin,
      now: () => o.receivedAt,
      file: bundle.file,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(this.o.conflictBytesAllowance !== undefined ? { conflictBytesAllowance: this.o.conflictBytesAllowance } : {}),
    };
    return this.one.run(() => applyRecords(this.db, bundle.manifest, records, options));
  }

  async gaps(): Promise<Gap[]> {
    return this.one.run(() => gaps(this.db));
  }

  async conflicts(o: { all?: boolean }): Promise<ConflictRecord[]> {
    return this.one.run(() => listConflictRecords(this.db, o));
  }

  async conflict(id: number): Promise<ConflictRecord | undefined> {
    return this.one.run(() => conflictRecord(this.db, id));
  }

  async resolveConflict(id: number, keep: 'current' | 'other', o: { at: Date; hubId: string; resolution: string }): Promise<ResolveOutcome> {
    return this.one.run(() => resolveConflictRecord(this.db, id, keep, o));
  }

  async originSummaries(): Promise<OriginSummary[]> {
    return this.one.run(() => this.db.prepare('SELECT origin, count(*) AS bundles, max(applied_at) AS last_import, max(last_seq) AS highest_seq FROM ferry_bundles GROUP BY origin').all() as OriginSummary[]);
  }

  async tables(): Promise<HubTable[]> {
    return this.one.run(() => hubTables(this.db));
  }

  async recentBundles(limit: number): Promise<LedgerEntry[]> {
    return this.one.run(() => recentBundles(this.db, limit));
  }

  async openConflictCount(): Promise<number> {
    return this.one.run(() => Number((this.db.prepare('SELECT count(*) AS n FROM ferry_conflicts WHERE resolved_at IS NULL').get() as { n: number }).n));
  }

  async rejectedChanges(o: { bundle?: { origin: string; bundleId: string } } = {}): Promise<RejectedChanges[]> {
    return this.one.run(() => rejectedChanges(this.db, o.bundle));
  }

  async rowCount(table: string): Promise<number> {
    return this.one.run(() => {
      const t = hubTables(this.db).find((x) => x.name.toLowerCase() === table.toLowerCase());
      if (!t) return 0;
      return Number((this.db.prepare(`SELECT count(*) AS n FROM ${q(t.name)}`).get() as { n: number }).n);
    });
  }

  async rowsByFacility(): Promise<TableRows[]> {
    return this.one.run(() => rowsByFacility(this.db));
  }

  // The hub's peers and audit log: in the node's state database, under the same mutex, so that
  // the store's calls keep one order whichever database holds what.
  peer = (id: string) => this.one.run(() => this.directory.peer(id));
  peers = () => this.one.run(() => this.directory.peers());
  retiredKeys = (id: string) => this.one.run(() => this.directory.retiredKeys(id));
  putPeer: PeerDirectory['putPeer'] = (p, at) => this.one.run(() => this.directory.putPeer(p, at));
  revokePeer: PeerDirectory['revokePeer'] = (id, at, reason) => this.one.run(() => this.directory.revokePeer(id, at, reason));
  rotatePeer: PeerDirectory['rotatePeer'] = (peer, next, at) => this.one.run(() => this.directory.rotatePeer(peer, next, at));
  audit = (e: AuditEvent) => this.one.run(() => this.directory.audit(e));
  readAudit = (limit: number) => this.one.run(() => this.directory.readAudit(limit));

  // What the hub sends back out (outgoing.ts).
  references = () => this.one.run(() => hubReferences(this.db));
  indexForLookup: OutgoingStore['indexForLookup'] = (table, column) => this.one.run(() => indexForLookup(this.db, table, column));
  rowsWhere: OutgoingStore['rowsWhere'] = (table, origin, columns, values) => this.one.run(() => rowsWhere(this.db, table, origin, columns, values));
  addSubscription: OutgoingStore['addSubscription'] = (s) => this.one.run(() => addSubscription(this.db, s));
  subscriptions: OutgoingStore['subscriptions'] = (o) => this.one.run(() => listSubscriptions(this.db, o));
  stopSubscriptions = (match: (s: Subscription) => boolean, at: string) => this.one.run(() => stopSubscriptions(this.db, match, at));
  queueOutgoing: OutgoingStore['queueOutgoing'] = (recipient, want) => this.one.run(() => queueOutgoing(this.db, recipient, want));
  noteOutgoingBundle: OutgoingStore['noteOutgoingBundle'] = (b) => this.one.run(() => noteOutgoingBundle(this.db, b));
  acknowledgeOutgoing: OutgoingStore['acknowledgeOutgoing'] = (recipient, bundleId, held, at) => this.one.run(() => acknowledgeOutgoing(this.db, recipient, bundleId, held, at));
  outgoingSummary = () => this.one.run(() => outgoingSummary(this.db));
  putRequest: OutgoingStore['putRequest'] = (r) => this.one.run(() => putRequest(this.db, r));
  requests: OutgoingStore['requests'] = (o) => this.one.run(() => listRequests(this.db, o));
  decideRequest: OutgoingStore['decideRequest'] = (id, d) => this.one.run(() => decideRequest(this.db, id, d));
  answerRequest: OutgoingStore['answerRequest'] = (id, at, sends) => this.one.run(() => answerRequest(this.db, id, at, sends));

  /** A page at a time under the mutex, none held between pages. */
  async *outgoingChanges(recipient: string): AsyncIterable<OutgoingChange> {
    const PAGE = 1000;
    for (let after = 0; ; ) {
      const page = await this.one.run(() => outgoingPage(this.db, recipient, after, PAGE));
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.change.seq;
    }
  }

  /** After every call already made has settled: closing under a running bundle would cut it off. */
  close(): Promise<void> {
    return this.one.run(() => {
      this.opened?.close();
    });
  }

  /** Each page is read under the mutex, and none is held between pages (a bundle may commit between them). */
  async *rows(table: string): AsyncIterable<Record<string, EncodedValue>> {
    const PAGE = 1000;
    // Prepared under the mutex too: preparing reads the schema, which a running bundle may be changing.
    const found = await this.one.run(() => {
      const t = hubTables(this.db).find((x) => x.name.toLowerCase() === table.toLowerCase());
      if (!t) return undefined;
      // A facility-owned table: each facility's rows together, in key order.
      const order = hubKey(t.scope, t.key);
      const key = order.map(q).join(', ');
      // Keyset pages: each one read whole, so no statement stays open across a yield.
      return {
        t,
        order,
        first: this.db.prepare(`SELECT * FROM ${q(t.name)} ORDER BY ${key} LIMIT ${PAGE}`).safeIntegers(true),
        next: this.db.prepare(`SELECT * FROM ${q(t.name)} WHERE (${key}) > (${order.map(() => '?').join(', ')}) ORDER BY ${key} LIMIT ${PAGE}`).safeIntegers(true),
      };
    });
    if (!found) return;
    const { t, order, first, next } = found;
    for (let after: unknown[] | undefined; ; ) {
      const page = (await this.one.run(() => (after ? next.all(...after) : first.all()))) as Array<Record<string, unknown>>;
      for (const row of page) yield encodeRow(t.scope === 'facility' ? originFirst(row) : row)!;
      if (page.length < PAGE) return;
      after = order.map((k) => page[page.length - 1]![k]);
    }
  }
}

/** ferry_origin as the first member, wherever the table holds the column (a table ferry adopted has it last). */
function originFirst(row: Record<string, unknown>): Record<string, unknown> {
  const { [ORIGIN_COLUMN]: origin, ...rest } = row;
  return { [ORIGIN_COLUMN]: origin, ...rest };
}
