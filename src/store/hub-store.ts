/**
 * Everything a hub does to its database, behind one interface. It is shaped so that a store in
 * another database (PostgreSQL, issue 15) can satisfy it: every method is asynchronous, no
 * driver type appears in it, and the store owns its transactions (a verified bundle is applied,
 * with its ledger row and applied ranges, in one transaction inside applyVerifiedBundle).
 *
 * Its methods may be called concurrently (the TUI refreshes beside a running import), and each is
 * atomic: it sees only committed state and what it does is committed or not at all, whatever else
 * is in flight. In particular nothing runs inside another call's transaction: a read during
 * applyVerifiedBundle sees none of the bundle's rows until it commits, a conflict resolved then
 * is never rolled back with the bundle, and two bundles applied at once are applied one after
 * the other. (The SQLite store queues its calls; a store with a connection pool gives each call
 * its own.)
 *
 * The hub's trusted peers and audit log are part of it (PeerDirectory): a hub store in its own
 * database keeps them there. The SQLite store (src/store/sqlite/) keeps them in the node's state
 * database, as before.
 */
import type { AckCounts } from '../format/ack.js';
import type { ColumnSpec, PayloadRecord, TableScope } from '../format/records.js';
import type { Manifest } from '../format/manifest.js';
import type { EncodedValue } from '../format/values.js';
import type { PeerDirectory } from './peer-directory.js';
import type { OutgoingStore } from './outgoing-store.js';
import type { Range } from './ranges.js';
import type { FerryError } from '../core/errors.js';

export interface Gap {
  origin: string;
  first: number;
  last: number;
}

export interface LedgerEntry {
  bundle_id: string;
  origin: string;
  first_seq: number;
  last_seq: number;
  changes: number;
  applied: number;
  already_present: number;
  conflicts: number;
  rejected: number;
  created: string;
  applied_at: string;
  file: string;
}

export interface HubTable {
  name: string;
  key: string[];
  columns: ColumnSpec[];
  /**
   * facility: the hub table has ferry_origin (the sending facility's id) first and is keyed by
   * (ferry_origin, key…), so two facilities' rows with the same key are two rows; shared: keyed by
   * key, rows from every facility merged. `key` and `columns` are the source's, without ferry_origin.
   */
  scope: TableScope;
}

/**
 * Rows a table holds now, per facility (status). A facility-owned table has one line per facility
 * that has rows in it, and none when it is empty (tables() lists every table).
 */
export interface TableRows {
  table: string;
  scope: TableScope;
  /** facility-owned tables: the facility the rows belong to; shared tables: null (one line, all facilities' rows merged) */
  origin: string | null;
  rows: number;
}

/**
 * Changes of one table the hub rejected for one reason (a scope or key that differs from the
 * hub's, a NULL key…): names, seqs and counts only, never a row value. The reason says what to do.
 */
export interface Rejections {
  table: string;
  reason: string;
  changes: number;
  first_seq: number;
  last_seq: number;
}

/** Rejected changes still waiting at their facility, per facility, table and reason. */
export interface RejectedChanges extends Rejections {
  /** the facility that sent them: they stay pending there and come again with every export */
  origin: string;
  /** the most tries of any of them */
  attempts: number;
  /** when the last of them was rejected */
  last_at: string;
}

export interface ApplyResult {
  counts: AckCounts;
  /** the changes of this bundle rejected, per table and reason (empty when none) */
  rejections: Rejections[];
  /** every range of the origin's seqs the hub holds after this bundle */
  appliedRanges: Range[];
  /** the seqs this bundle carried that the hub now holds, merged: what an ack must confirm first */
  carriedRanges: Range[];
  /**
   * Another import station applied this very bundle while this one waited for the facility's
   * lock (a courier's two copies of one drive): nothing was applied here, and the ledger row is
   * that station's. The import acknowledges it as already applied.
   */
  appliedBefore?: LedgerEntry;
}

/** A bundle whose container, signature, sender, recipient and payload hash were checked. */
export interface VerifiedBundle {
  manifest: Manifest;
  /** the sender as this hub trusts it: its exact id, whatever case the manifest used */
  origin: string;
  /** where it was read from, for the ledger */
  file: string;
}

export interface ApplyOptions {
  /** the hub's clock when the bundle arrived */
  receivedAt: Date;
  /** called every few thousand changes, inside the transaction: throwing from it rolls the bundle back */
  onProgress?: (done: number) => void;
}

export interface ConflictVersion {
  origin: string;
  seq: number;
  clock: string;
  /** null: the row was deleted in this version */
  row: Record<string, EncodedValue> | null;
}

/** A conflict as the store keeps it. */
export interface ConflictRecord {
  id: number;
  /** always a shared table: rows of a facility-owned table belong to one facility and never conflict */
  table: string;
  key: EncodedValue[];
  detected_at: string;
  bundle_id: string;
  /** the version the rule chose, now in the table (unless overridden) */
  current: ConflictVersion;
  other: ConflictVersion;
  resolved_at: string | null;
  resolution: string | null;
  /** `clock-ahead`: a version's clock was more than a day ahead of the hub's when it arrived (it could not win) */
  flag: string | null;
}

/**
 * The operator's choice for a conflict, applied in one transaction. Keeping the other version
 * needs the row to hold the version the rule chose still; otherwise nothing changes and the
 * version it holds now is returned.
 */
export type ResolveOutcome = { resolved: true; changed: boolean } | { resolved: false; rowNow: { origin: string; seq: number } | undefined };

/** A refused bundle copied into a station's quarantine folder, with why it was refused. */
export interface QuarantineEntry {
  /** the copy, at the station that refused it */
  file: string;
  /** where it was read from */
  original: string;
  at: string;
  reason: ReturnType<FerryError['toJSON']>;
  /** the station (host name) that keeps the copy: stations of a PostgreSQL hub share these records */
  station?: string;
}

export interface OriginSummary {
  origin: string;
  bundles: number;
  last_import: string;
  highest_seq: number;
}

export interface HubStore extends PeerDirectory, OutgoingStore {
  /** Which store and where, for status and messages: never a password. */
  readonly where: string;
  /** Reach the database now and check it is a current hub's: an import says so before it reads a drive. */
  check(): Promise<void>;
  /** The ledger row of a bundle of this origin: a re-import is recognised by it. */
  ledgerEntry(origin: string, bundleId: string): Promise<LedgerEntry | undefined>;
  /** Another origin that already used this bundle id, if any (ids are in the clear on a drive). */
  bundleIdOwner(origin: string, bundleId: string): Promise<string | undefined>;
  /** Every range of the origin's seqs the hub holds. */
  appliedRanges(origin: string): Promise<Range[]>;
  /**
   * Apply a verified bundle's records (streamed, so a bundle of any size stays within memory),
   * its ledger row and the origin's applied ranges, in one transaction: all of it or none.
   */
  applyVerifiedBundle(bundle: VerifiedBundle, records: AsyncIterable<PayloadRecord>, o: ApplyOptions): Promise<ApplyResult>;
  /** Per origin, the seqs that have not arrived although later ones have (rejected ones did arrive). */
  gaps(): Promise<Gap[]>;

  conflicts(o: { all?: boolean }): Promise<ConflictRecord[]>;
  conflict(id: number): Promise<ConflictRecord | undefined>;
  resolveConflict(id: number, keep: 'current' | 'other', o: { at: Date; hubId: string; resolution: string }): Promise<ResolveOutcome>;

  /** For status: the ledger per origin, the tables held, the latest imports, and what waits. */
  originSummaries(): Promise<OriginSummary[]>;
  tables(): Promise<HubTable[]>;
  recentBundles(limit: number): Promise<LedgerEntry[]>;
  openConflictCount(): Promise<number>;
  /**
   * The rejected changes that still wait, per facility, table and reason; with `bundle`, only
   * those one bundle of that facility carried last (a re-import shows what it still leaves out).
   */
  rejectedChanges(o?: { bundle?: { origin: string; bundleId: string } }): Promise<RejectedChanges[]>;
  /** Rows a table holds now, all facilities together (the demo shows them); 0 for a table it does not hold. */
  rowCount(table: string): Promise<number>;
  /** Rows of every table, per facility for facility-owned tables (status). */
  rowsByFacility(): Promise<TableRows[]>;

  /** Record a bundle this station copied into its quarantine folder (a no-op where that folder is the only record). */
  noteQuarantined(e: QuarantineEntry): Promise<void>;
  /**
   * Every station's quarantine records (a PostgreSQL hub), or undefined where the home's
   * quarantine folder is the only record (SQLite: one station).
   */
  quarantineRecords(): Promise<QuarantineEntry[] | undefined>;

  close(): Promise<void>;

  /**
   * A table's rows as the hub holds them now, values encoded as bundles carry them, in key order
   * and read a page at a time (the store is free between pages). No table of that name: no rows.
   * A facility-owned table's rows include ferry_origin as their first member, and come ordered by
   * ferry_origin, then key: each facility's rows together. The harnesses compare them with the
   * facilities' rows.
   */
  rows(table: string): AsyncIterable<Record<string, EncodedValue>>;
}
