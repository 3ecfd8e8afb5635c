/**
 * A node's trusted peers and its audit log, as the use cases reach them. Asynchronous so that a
 * hub can keep them in its own database (a PostgreSQL hub store, issue 15); a facility's, and
 * today's SQLite hub's, live in the node's state database (src/store/node-state.ts).
 */
import type { PublicIdentity } from '../format/identity.js';
import type { AuditEntry } from './state-db.js';
import type { Peer, RetiredKey } from './trust-store.js';

export type { Peer, RetiredKey } from './trust-store.js';
export type { AuditEntry } from './state-db.js';

/** An audit entry as a use case writes it: the store adds the time and the node. */
export type AuditEvent = Omit<AuditEntry, 'at' | 'node'>;

export interface PeerDirectory {
  /** a peer by id; ids compare without case, as file names on FAT32 do */
  peer(id: string): Promise<Peer | undefined>;
  peers(): Promise<Peer[]>;
  /** keys a peer used before its rotations, newest first */
  retiredKeys(id: string): Promise<RetiredKey[]>;
  putPeer(p: PublicIdentity, at: string): Promise<void>;
  revokePeer(id: string, at: string, reason: string): Promise<void>;
  /** replace a peer's keys after a verified rotation notice, keeping the old ones as retired: one transaction */
  rotatePeer(peer: Peer, next: { signingKey: Uint8Array; encryptionKey: Uint8Array; fingerprint: string }, at: string): Promise<void>;
  audit(e: AuditEvent): Promise<void>;
  readAudit(limit: number): Promise<AuditEntry[]>;
}
