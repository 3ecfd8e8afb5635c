/**
 * The node's own state (HOME/state.db) behind one repository: trusted peers, the audit log, a
 * facility's exports and the acks it received, and the node's own key rotations. Local SQLite,
 * used by one process at a time under the node's lock, so it stays synchronous; what the hub
 * code reaches goes through the asynchronous PeerDirectory (directory()).
 */
import type { AckCounts } from '../format/ack.js';
import type { PublicIdentity } from '../format/identity.js';
import type { Range } from './ranges.js';
import { audit, openStateDb, openStateDbForReading, readAudit, readPendingRotationUnchecked, selectPendingRotation, type AuditEntry, type Db } from './state-db.js';
import { getPeer, listPeers, putPeer, retiredKeys, revokePeer, rotatePeer, type Peer, type RetiredKey } from './trust-store.js';
import type { AuditEvent, PeerDirectory } from './peer-directory.js';

/** One bundle this facility wrote, as recorded once it read back intact. */
export interface ExportRecord {
  bundle_id: string;
  run_id: string;
  at: string;
  drive: string;
  file: string;
  first_seq: number;
  last_seq: number;
  changes: number;
  bytes: number;
  /** the EMR's clock when the bundle was made (restore fence) */
  clock: { wall: number; counter: number };
  /** the seqs the bundle carried */
  carried: Range[];
}

/** A range of numbers this node sent in one bundle, with the EMR's clock when the bundle was made. */
export interface SentRange {
  first: number;
  last: number;
  wall: number;
  counter: number;
}

export interface LastExport {
  at: string;
  drive: string;
  bundles: Array<{ file: string; bundle_id: string; first_seq: number; last_seq: number; changes: number }>;
}

export interface ReceivedAck {
  bundle_id: string;
  ack_id: string;
  at: string;
  hub: string;
  first_seq: number;
  last_seq: number;
  counts: AckCounts;
}

export interface OwnRotation {
  oldFingerprint: string;
  newFingerprint: string;
  oldSigningKey: Uint8Array;
  /** the notice file's bytes */
  bytes: Buffer;
}

/** A rotation whose deciding transaction committed: the sealed key file and card it will write. */
export interface PendingRotation {
  id: number;
  secretKeyFile: string;
  card: string;
}

export class NodeState {
  private constructor(private readonly db: Db) {}

  /** To change it (under the node's lock); a missing state.db is an error, never made anew. */
  static open(home: string): NodeState {
    return new NodeState(openStateDb(home));
  }

  /** `ferry init`: the state database, created empty. */
  static create(home: string): NodeState {
    return new NodeState(openStateDb(home, { create: true }));
  }

  /** Only to read (status, inspect, the log): writes nothing, migrates nothing, creates nothing. */
  static openForReading(home: string): NodeState {
    return new NodeState(openStateDbForReading(home));
  }

  close(): void {
    this.db.close();
  }

  // Trusted peers and the audit log.

  peer(id: string): Peer | undefined {
    return getPeer(this.db, id);
  }

  peers(): Peer[] {
    return listPeers(this.db);
  }

  retiredKeys(id: string): RetiredKey[] {
    return retiredKeys(this.db, id);
  }

  putPeer(p: PublicIdentity, at: string): void {
    putPeer(this.db, p, at);
  }

  revokePeer(id: string, at: string, reason: string): void {
    revokePeer(this.db, id, at, reason);
  }

  rotatePeer(peer: Peer, next: { signingKey: Uint8Array; encryptionKey: Uint8Array; fingerprint: string }, at: string): void {
    rotatePeer(this.db, peer, next, at);
  }

  audit(e: AuditEntry): void {
    audit(this.db, e);
  }

  readAudit(limit: number): AuditEntry[] {
    return readAudit(this.db, limit);
  }

  /** The peers and audit log as the asynchronous directory the use cases share with a hub store. */
  directory(stamp: () => { at: string; node: string }): PeerDirectory {
    return {
      peer: async (id) => this.peer(id),
      peers: async () => this.peers(),
      retiredKeys: async (id) => this.retiredKeys(id),
      putPeer: async (p, at) => this.putPeer(p, at),
      revokePeer: async (id, at, reason) => this.revokePeer(id, at, reason),
      rotatePeer: async (peer, next, at) => this.rotatePeer(peer, next, at),
      audit: async (e: AuditEvent) => this.audit({ ...stamp(), ...e }),
      readAudit: async (limit) => this.readAudit(limit),
    };
  }

  // A facility's exports.

  recordExport(e: ExportRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO ferry_exports (bundle_id, run_id, at, drive, file, first_seq, last_seq, changes, bytes, clock_wall, clock_counter, carried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.bundle_id, e.run_id, e.at, e.drive, e.file, e.first_seq, e.last_seq, e.changes, e.bytes, e.clock.wall, e.clock.counter, JSON.stringify(e.carried));
  }

  /** The seqs a bundle of this node carried, as recorded when it was written (unknown for bundles made before ferry recorded them). */
  exportCarried(bundleId: string): Range[] | undefined {
    const r = this.db.prepare('SELECT carried FROM ferry_exports WHERE bundle_id = ?').get(bundleId) as { carried: string | null } | undefined;
    return r?.carried ? (JSON.parse(r.carried) as Range[]) : undefined;
  }

  /** Every range of numbers this node has sent, each with the EMR's clock when its bundle was made. */
  sentRanges(): SentRange[] {
    const rows = this.db.prepare('SELECT first_seq, last_seq, clock_wall, clock_counter FROM ferry_exports WHERE clock_wall IS NOT NULL').all() as Array<{ first_seq: number; last_seq: number; clock_wall: number; clock_counter: number }>;
    return rows.map((r) => ({ first: r.first_seq, last: r.last_seq, wall: r.clock_wall, counter: r.clock_counter }));
  }

  lastExport(): LastExport | undefined {
    const run = this.db.prepare('SELECT run_id, min(at) AS at, drive FROM ferry_exports GROUP BY run_id ORDER BY max(rowid) DESC LIMIT 1').get() as { run_id: string; at: string; drive: string } | undefined;
    if (!run) return undefined;
    const bundles = this.db.prepare('SELECT file, bundle_id, first_seq, last_seq, changes FROM ferry_exports WHERE run_id = ? ORDER BY first_seq').all(run.run_id) as LastExport['bundles'];
    return { at: run.at, drive: run.drive, bundles };
  }

  // The hub's acks, and own bundles a drive brought back unanswered.

  ackReceived(bundleId: string): boolean {
    return this.db.prepare('SELECT 1 FROM ferry_acks_received WHERE bundle_id = ?').get(bundleId) !== undefined;
  }

  recordAck(a: ReceivedAck): void {
    this.db
      .prepare('INSERT OR REPLACE INTO ferry_acks_received (bundle_id, ack_id, at, hub, first_seq, last_seq, counts) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.bundle_id, a.ack_id, a.at, a.hub, a.first_seq, a.last_seq, JSON.stringify(a.counts));
  }

  acknowledgedBundles(): Set<string> {
    return new Set((this.db.prepare('SELECT bundle_id FROM ferry_acks_received').all() as Array<{ bundle_id: string }>).map((r) => r.bundle_id));
  }

  lastAck(): { at: string; hub: string; bundle_id: string; first_seq: number; last_seq: number } | undefined {
    return this.db.prepare('SELECT at, hub, bundle_id, first_seq, last_seq FROM ferry_acks_received ORDER BY at DESC LIMIT 1').get() as
      | { at: string; hub: string; bundle_id: string; first_seq: number; last_seq: number }
      | undefined;
  }

  unansweredBundles(): Set<string> {
    return new Set((this.db.prepare('SELECT bundle_id FROM ferry_unanswered').all() as Array<{ bundle_id: string }>).map((r) => r.bundle_id));
  }

  noteUnanswered(bundleId: string, at: string): void {
    this.db.prepare('INSERT OR IGNORE INTO ferry_unanswered (bundle_id, seen_at) VALUES (?, ?)').run(bundleId, at);
  }

  // The node's own key rotations.

  /** Oldest first (peers apply them as a chain). */
  ownRotations(): OwnRotation[] {
    const rows = this.db.prepare('SELECT old_fingerprint, new_fingerprint, old_signing_key, notice FROM ferry_own_rotations ORDER BY id').all() as Array<{
      old_fingerprint: string;
      new_fingerprint: string;
      old_signing_key: Buffer;
      notice: Buffer;
    }>;
    return rows.map((r) => ({ oldFingerprint: r.old_fingerprint, newFingerprint: r.new_fingerprint, oldSigningKey: new Uint8Array(r.old_signing_key), bytes: r.notice }));
  }

  /** The transaction that decides a rotation: from its commit on, the new keys are this node's. */
  decideRotation(r: { created: string; oldFingerprint: string; newFingerprint: string; oldSigningKey: Uint8Array; notice: Uint8Array; secretKeyFile: string; card: string }): void {
    this.db
      .prepare('INSERT INTO ferry_own_rotations (created, old_fingerprint, new_fingerprint, old_signing_key, notice, pending_secret, pending_card) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.created, r.oldFingerprint, r.newFingerprint, Buffer.from(r.oldSigningKey), Buffer.from(r.notice), r.secretKeyFile, r.card);
  }

  pendingRotation(): PendingRotation | undefined {
    return selectPendingRotation(this.db);
  }

  /** The pending rotation alone, from a state.db of any age (unlocking and `ferry identity` need nothing else). */
  static pendingRotationOf(home: string): PendingRotation | undefined {
    return readPendingRotationUnchecked(home);
  }

  rotationFilesWritten(id: number): void {
    this.db.prepare('UPDATE ferry_own_rotations SET pending_secret = NULL, pending_card = NULL WHERE id = ?').run(id);
  }
}
