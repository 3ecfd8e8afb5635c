/**
 * What a hub sends back out to facilities (issue 16), as a hub store keeps it: the foreign keys
 * facilities declared, the standing sends, and per facility what was queued and acknowledged.
 * Part of HubStore: the SQLite and the PostgreSQL store both keep it.
 */
import type { ChangeRecord, TableRecord, TableScope } from '../format/records.js';
import type { EncodedValue } from '../format/values.js';
import type { Range } from './ranges.js';

/** A foreign key between two tables the hub holds, spelled as the hub spells them. */
export interface HubReference {
  table: string;
  scope: TableScope;
  /** the referencing table's key (its own, without ferry_origin): a reference made by exactly these columns is an "is a" (a patient is a person) */
  tableKey: string[];
  columns: string[];
  refTable: string;
  refScope: TableScope;
  to: string[];
}

/**
 * A standing send: one record of `origin` and what belongs to it (table and key), or, with table
 * null, everything `origin` sends; to `recipient`, until stopped.
 */
export interface Subscription {
  id: number;
  recipient: string;
  origin: string;
  table: string | null;
  key: EncodedValue[] | null;
  reason: string | null;
  created_at: string;
  /** the hub operator's node id, or `request:ID` for a facility's request answered */
  created_by: string;
  request_id: string | null;
  stopped_at: string | null;
}

/** One row as a facility-owned (origin, key) or shared (key) row of a hub table. */
export interface RowRef {
  table: string;
  origin: string;
  key: EncodedValue[];
}

/** What one recipient should hold besides every shared row. */
export interface SubscriptionWant {
  /** facilities whose every row it follows */
  allFrom: string[];
  /** the rows of the records sent to it, found through the foreign keys */
  rows: RowRef[];
}

export interface OutgoingChange {
  table: TableRecord;
  change: ChangeRecord;
}

export interface OutgoingSummary {
  recipient: string;
  /** rows the facility confirmed it holds in their current version */
  acknowledged: number;
  /** rows queued for it and not confirmed: the next export writes them */
  waiting: number;
  /** standing sends to it */
  sends: number;
  last_bundle_at: string | null;
  last_ack_at: string | null;
}

/**
 * A facility's request for a record, as the hub keeps it. `value` is what the facility typed
 * (an identifier): shown to the operator who decides, never written to a log or an audit entry.
 */
export interface RecordRequestEntry {
  id: number;
  request_id: string;
  facility: string;
  table: string;
  column: string;
  value: string;
  reason: string | null;
  created: string;
  received_at: string;
  /** held: waits for an operator; approved: answered as soon as the record is found; answered; denied */
  status: 'held' | 'approved' | 'answered' | 'denied';
  decided_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  answered_at: string | null;
  /** the sends it became */
  sends: number[];
}

/** At most this many indexes ferry makes on one hub table for lookups (foreign keys, requested columns): each slows every import into it. */
export const MAX_LOOKUP_INDEXES = 8;

export interface OutgoingStore {
  /**
   * Index a facility-owned table's column that requests look rows up by (an identifier), once,
   * within MAX_LOOKUP_INDEXES per table: a waiting request is looked up at every import and export.
   */
  indexForLookup(table: string, column: string): Promise<void>;
  /** Record a request once (by facility and request id); returns it, and whether it is new. */
  putRequest(r: Omit<RecordRequestEntry, 'id' | 'decided_at' | 'decided_by' | 'decision_reason' | 'answered_at' | 'sends'>): Promise<{ entry: RecordRequestEntry; created: boolean }>;
  requests(o?: { all?: boolean }): Promise<RecordRequestEntry[]>;
  decideRequest(id: number, d: { status: 'approved' | 'denied'; at: string; by: string; reason: string | null }): Promise<RecordRequestEntry | undefined>;
  answerRequest(id: number, at: string, sends: number[]): Promise<void>;
  /** Every foreign key between two tables the hub holds. */
  references(): Promise<HubReference[]>;
  /** Rows of a table whose columns hold these values (of one facility in a facility-owned table), with their keys. */
  rowsWhere(table: string, origin: string | null, columns: string[], values: EncodedValue[]): Promise<Array<{ key: EncodedValue[]; row: Record<string, EncodedValue> }>>;
  addSubscription(s: Omit<Subscription, 'id' | 'stopped_at'>): Promise<Subscription>;
  subscriptions(o?: { all?: boolean; recipient?: string }): Promise<Subscription[]>;
  stopSubscriptions(match: (s: Subscription) => boolean, at: string): Promise<Subscription[]>;
  /** Queue what the recipient should hold and does not; returns how many rows were queued now. */
  queueOutgoing(recipient: string, want: SubscriptionWant): Promise<number>;
  /** What the recipient has not acknowledged, in outgoing seq order, a page at a time. */
  outgoingChanges(recipient: string): AsyncIterable<OutgoingChange>;
  noteOutgoingBundle(b: { recipient: string; bundle_id: string; first_seq: number; last_seq: number; changes: number; written_at: string; file: string }): Promise<void>;
  /** A facility's receipt for one of the hub's bundles: the outgoing seqs it holds. */
  acknowledgeOutgoing(recipient: string, bundleId: string, held: readonly Range[], at: string): Promise<number>;
  outgoingSummary(): Promise<OutgoingSummary[]>;
}
