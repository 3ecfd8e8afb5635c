/**
 * The hub store in SQLite: the hub database (src/store/hub-db.ts) for the ledger, rows and
 * conflicts, and the node's state database for the hub's peers and audit log. better-sqlite3
 * is synchronous; the methods are asynchronous because the HubStore interface is.
 */
import type { PayloadRecord } from '../../format/records.js';
import type { EncodedValue } from '../../format/values.js';
import { applyRecords, encodeRow, type ApplyRecordsOptions } from './apply-bundle.js';
import { appliedRanges, bundleIdOwner, gaps, hubTables, ledgerEntry, openHubDb, recentBundles, type Db } from './hub-db.js';
import type { ApplyOptions, ApplyResult, ConflictRecord, Gap, HubStore, HubTable, LedgerEntry, OriginSummary, ResolveOutcome, VerifiedBundle } from '../hub-store.js';
import type { NodeState } from '../node-state.js';
import type { AuditEvent, PeerDirectory } from '../peer-directory.js';
import { q } from '../../core/sql-identifier.js';
import { conflictRecord, listConflictRecords, resolveConflictRecord } from './conflicts.js';

export interface SqliteHubStoreOptions {
  /** the hub database file */
  path: string;
  /** the node's state database: the hub's peers and audit log */
  state: NodeState;
  /** the time and node id an audit entry is stamped with */
  stamp: () => { at: string; node: string };
  /** tests only: a smaller conflict allowance per bundle */
  conflictBytesAllowance?: number;
}

export class SqliteHubStore implements HubStore {
  private readonly directory: PeerDirectory;

  private constructor(
    private readonly db: Db,
    private readonly o: SqliteHubStoreOptions,
  ) {
    this.directory = o.state.directory(o.stamp);
  }

  /** A missing database is a configuration error: only create() makes one. */
  static open(o: SqliteHubStoreOptions): SqliteHubStore {
    return new SqliteHubStore(openHubDb(o.path), o);
  }

  static create(path: string): void {
    openHubDb(path, { create: true }).close();
  }

  async ledgerEntry(origin: string, bundleId: string): Promise<LedgerEntry | undefined> {
    return ledgerEntry(this.db, origin, bundleId);
  }

  async bundleIdOwner(origin: string, bundleId: string): Promise<string | undefined> {
    return bundleIdOwner(this.db, origin, bundleId);
  }

  async appliedRanges(origin: string) {
    return appliedRanges(this.db, origin).toArray();
  }

  applyVerifiedBundle(bundle: VerifiedBundle, records: AsyncIterable<PayloadRecord>, o: ApplyOptions): Promise<ApplyResult> {
    const options: ApplyRecordsOptions = {
      origin: bundle.origin,
      now: () => o.receivedAt,
      file: bundle.file,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(this.o.conflictBytesAllowance !== undefined ? { conflictBytesAllowance: this.o.conflictBytesAllowance } : {}),
    };
    return applyRecords(this.db, bundle.manifest, records, options);
  }

  async gaps(): Promise<Gap[]> {
    return gaps(this.db);
  }

  async conflicts(o: { all?: boolean }): Promise<ConflictRecord[]> {
    return listConflictRecords(this.db, o);
  }

  async conflict(id: number): Promise<ConflictRecord | undefined> {
    return conflictRecord(this.db, id);
  }

  async resolveConflict(id: number, keep: 'current' | 'other', o: { at: Date; hubId: string; resolution: string }): Promise<ResolveOutcome> {
    return resolveConflictRecord(this.db, id, keep, o);
  }

  async originSummaries(): Promise<OriginSummary[]> {
    return this.db.prepare('SELECT origin, count(*) AS bundles, max(applied_at) AS last_import, max(last_seq) AS highest_seq FROM ferry_bundles GROUP BY origin').all() as OriginSummary[];
  }

  async tables(): Promise<HubTable[]> {
    return hubTables(this.db);
  }

  async recentBundles(limit: number): Promise<LedgerEntry[]> {
    return recentBundles(this.db, limit);
  }

  async openConflictCount(): Promise<number> {
    return Number((this.db.prepare('SELECT count(*) AS n FROM ferry_conflicts WHERE resolved_at IS NULL').get() as { n: number }).n);
  }

  async rejectedCount(): Promise<number> {
    return Number((this.db.prepare('SELECT count(*) AS n FROM ferry_rejected').get() as { n: number }).n);
  }

  async rowCount(table: string): Promise<number> {
    const t = hubTables(this.db).find((x) => x.name.toLowerCase() === table.toLowerCase());
    if (!t) return 0;
    return Number((this.db.prepare(`SELECT count(*) AS n FROM ${q(t.name)}`).get() as { n: number }).n);
  }

  // The hub's peers and audit log: in the node's state database.
  peer = (id: string) => this.directory.peer(id);
  peers = () => this.directory.peers();
  retiredKeys = (id: string) => this.directory.retiredKeys(id);
  putPeer: PeerDirectory['putPeer'] = (p, at) => this.directory.putPeer(p, at);
  revokePeer: PeerDirectory['revokePeer'] = (id, at, reason) => this.directory.revokePeer(id, at, reason);
  rotatePeer: PeerDirectory['rotatePeer'] = (peer, next, at) => this.directory.rotatePeer(peer, next, at);
  audit = (e: AuditEvent) => this.directory.audit(e);
  readAudit = (limit: number) => this.directory.readAudit(limit);

  async close(): Promise<void> {
    this.db.close();
  }

  async *rows(table: string): AsyncIterable<Record<string, EncodedValue>> {
    const t = hubTables(this.db).find((x) => x.name.toLowerCase() === table.toLowerCase());
    if (!t) return;
    const PAGE = 1000;
    const key = t.key.map(q).join(', ');
    // Keyset pages: each one read whole, so no statement stays open across a yield.
    const first = this.db.prepare(`SELECT * FROM ${q(t.name)} ORDER BY ${key} LIMIT ${PAGE}`).safeIntegers(true);
    const next = this.db.prepare(`SELECT * FROM ${q(t.name)} WHERE (${key}) > (${t.key.map(() => '?').join(', ')}) ORDER BY ${key} LIMIT ${PAGE}`).safeIntegers(true);
    for (let after: unknown[] | undefined; ; ) {
      const page = (after ? next.all(...after) : first.all()) as Array<Record<string, unknown>>;
      for (const row of page) yield encodeRow(row)!;
      if (page.length < PAGE) return;
      after = t.key.map((k) => page[page.length - 1]![k]);
    }
  }
}
