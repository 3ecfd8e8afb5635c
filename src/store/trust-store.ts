/** Trusted peers, kept in the node's state database. */
import type { Db } from './state-db.js';
import type { PublicIdentity, Role } from '../format/identity.js';

/** A trusted node: its public identity as its card gave it (less the card's date), and this node's decisions about it. */
export type Peer = Omit<PublicIdentity, 'created'> & {
  trustedAt: string;
  revoked?: { at: string; reason: string };
};

interface PeerRow {
  id: string;
  name: string;
  role: Role;
  signing_key: Buffer;
  encryption_key: Buffer;
  fingerprint: string;
  trusted_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
}

const fromRow = (r: PeerRow): Peer => ({
  id: r.id,
  name: r.name,
  role: r.role,
  signingKey: new Uint8Array(r.signing_key),
  encryptionKey: new Uint8Array(r.encryption_key),
  fingerprint: r.fingerprint,
  trustedAt: r.trusted_at,
  ...(r.revoked_at ? { revoked: { at: r.revoked_at, reason: r.revoked_reason ?? '' } } : {}),
});

/** Look a peer up by id; ids compare case-insensitively, as file names on FAT32 do. */
export function getPeer(db: Db, id: string): Peer | undefined {
  const r = db.prepare('SELECT * FROM ferry_peers WHERE id = ?').get(id) as PeerRow | undefined;
  return r ? fromRow(r) : undefined;
}

export function listPeers(db: Db): Peer[] {
  return (db.prepare('SELECT * FROM ferry_peers ORDER BY id').all() as PeerRow[]).map(fromRow);
}

export function putPeer(db: Db, p: PublicIdentity, at: string): void {
  db.prepare(
    `INSERT INTO ferry_peers (id, name, role, signing_key, encryption_key, fingerprint, trusted_at, revoked_at, revoked_reason)
     VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role, signing_key = excluded.signing_key,
       encryption_key = excluded.encryption_key, fingerprint = excluded.fingerprint, trusted_at = excluded.trusted_at,
       revoked_at = NULL, revoked_reason = NULL`,
  ).run(p.id, p.name, p.role, Buffer.from(p.signingKey), Buffer.from(p.encryptionKey), p.fingerprint, at);
}

export function revokePeer(db: Db, id: string, at: string, reason: string): void {
  db.prepare('UPDATE ferry_peers SET revoked_at = ?, revoked_reason = ? WHERE id = ?').run(at, reason, id);
}

export interface RetiredKey {
  fingerprint: string;
  signingKey: Uint8Array;
  encryptionKey: Uint8Array;
  retiredAt: string;
  replacedBy: string;
}

/** Keys a peer used before its rotations, newest first. */
export function retiredKeys(db: Db, id: string): RetiredKey[] {
  const rows = db.prepare('SELECT * FROM ferry_retired_keys WHERE peer = ? ORDER BY retired_at DESC').all(id) as Array<{
    fingerprint: string;
    signing_key: Buffer;
    encryption_key: Buffer;
    retired_at: string;
    replaced_by: string;
  }>;
  return rows.map((r) => ({ fingerprint: r.fingerprint, signingKey: new Uint8Array(r.signing_key), encryptionKey: new Uint8Array(r.encryption_key), retiredAt: r.retired_at, replacedBy: r.replaced_by }));
}

/** Replace a peer's keys after a verified rotation notice; the old ones are kept as retired. One transaction. */
export function rotatePeer(db: Db, peer: Peer, next: { signingKey: Uint8Array; encryptionKey: Uint8Array; fingerprint: string }, at: string): void {
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO ferry_retired_keys (peer, fingerprint, signing_key, encryption_key, retired_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?)').run(
      peer.id,
      peer.fingerprint,
      Buffer.from(peer.signingKey),
      Buffer.from(peer.encryptionKey),
      at,
      next.fingerprint,
    );
    db.prepare('UPDATE ferry_peers SET signing_key = ?, encryption_key = ?, fingerprint = ? WHERE id = ?').run(Buffer.from(next.signingKey), Buffer.from(next.encryptionKey), next.fingerprint, peer.id);
  })();
}
