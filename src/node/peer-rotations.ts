/**
 * Accepting peers' key rotation notices from a drive. A notice is applied only when it is signed
 * by the key this node trusts for that peer (and by the new key); chains of rotations are
 * followed in order; a revoked peer cannot rotate its way out of the revocation.
 */
import { basename } from 'node:path';
import { ErrorCodes, refusedError, type FerryError } from '../core/errors.js';
import { openRotation, verifyRotation, type OpenedRotation } from '../format/rotation.js';
import type { Role } from '../format/identity.js';
import type { PeerDirectory } from '../store/peer-directory.js';
import { itemFailure } from './item-failure.js';
import type { OpContext } from './context.js';

export interface RotationReport {
  file: string;
  id?: string;
  old_fingerprint?: string;
  new_fingerprint?: string;
  /** accepted: the peer's key was replaced now; known: nothing to do; ignored: not a peer of this node; refused: not used */
  outcome: 'accepted' | 'known' | 'ignored' | 'refused';
  reason?: ReturnType<FerryError['toJSON']>;
}

/**
 * Read the rotation notices on a drive and apply those of this node's peers of `peerRole`, in
 * `peers` (a facility's state database, or a hub's store).
 */
export async function acceptRotations(ctx: Pick<OpContext, 'now'>, peers: PeerDirectory, files: string[], peerRole: Role): Promise<RotationReport[]> {
  const reports: RotationReport[] = [];
  const waiting: Array<{ r: OpenedRotation; report: RotationReport }> = [];
  for (const file of files) {
    const report: RotationReport = { file, outcome: 'refused' };
    reports.push(report);
    try {
      const r = await openRotation(file);
      Object.assign(report, { id: r.notice.id, old_fingerprint: r.notice.old.fingerprint, new_fingerprint: r.notice.new.fingerprint });
      waiting.push({ r, report });
    } catch (err) {
      await refuse(peers, report, itemFailure(err));
    }
  }
  // A chain A→B, B→C may sit on the drive in any order: apply what the current key allows, repeat.
  for (let progress = true; progress && waiting.length > 0; ) {
    progress = false;
    for (const item of [...waiting]) {
      const { r, report } = item;
      const n = r.notice;
      const peer = await peers.peer(n.id);
      const settle = () => waiting.splice(waiting.indexOf(item), 1);
      if (!peer || peer.role !== peerRole || n.role !== peerRole) {
        report.outcome = 'ignored';
        settle();
      } else if (peer.fingerprint === n.new.fingerprint) {
        report.outcome = 'known';
        settle();
      } else if (peer.fingerprint === n.old.fingerprint) {
        settle();
        try {
          if (peer.revoked) {
            throw refusedError(ErrorCodes.SIGNER_REVOKED, `key rotation notice from ${peer.id}, which was revoked on ${peer.revoked.at} (${peer.revoked.reason})`, {
              where: r.path,
              hint: 'a revoked node stays revoked; re-enrol it with `ferry trust CARD --reinstate` if that is intended',
            });
          }
          const next = verifyRotation(r, peer.signingKey);
          await peers.rotatePeer(peer, next, ctx.now().toISOString());
          report.outcome = 'accepted';
          progress = true;
          await peers.audit({ action: 'key-rotation', peer: peer.id, outcome: 'accepted', detail: { file: r.path, old_fingerprint: n.old.fingerprint, new_fingerprint: n.new.fingerprint } });
        } catch (err) {
          await refuse(peers, report, itemFailure(err));
        }
      }
    }
  }
  for (const { r, report } of waiting) {
    const n = r.notice;
    if ((await peers.retiredKeys(n.id)).some((k) => k.fingerprint === n.new.fingerprint)) {
      report.outcome = 'known'; // an earlier link of a chain this node has already followed
      continue;
    }
    const peer = (await peers.peer(n.id))!;
    await refuse(
      peers,
      report,
      refusedError(ErrorCodes.ROTATION_INVALID, `${basename(r.path)} replaces ${n.id}'s key ${n.old.fingerprint}, but this node trusts ${peer.fingerprint} for ${n.id}`, {
        where: r.path,
        hint: `it was not used; if ${n.id} was re-enrolled since, the notice is stale; otherwise ask ${n.id} for its current identity card and compare fingerprints aloud`,
      }),
    );
  }
  return reports;
}

async function refuse(peers: PeerDirectory, report: RotationReport, e: FerryError): Promise<void> {
  report.outcome = 'refused';
  report.reason = e.toJSON();
  await peers.audit({ action: 'key-rotation', peer: report.id ?? null, outcome: 'refused', detail: { file: report.file, code: e.code } });
}

/**
 * Why a signature that fails with a peer's current key failed: if a retired key of that peer
 * made it, say so (the peer re-sends under its new key); else undefined.
 */
export async function retiredSignerError(peers: PeerDirectory, peerId: string, valid: (signingKey: Uint8Array) => boolean, what: string, where: string): Promise<FerryError | undefined> {
  const k = (await peers.retiredKeys(peerId)).find((r) => valid(r.signingKey));
  if (!k) return undefined;
  return refusedError(ErrorCodes.KEY_RETIRED, `${what} is signed with ${peerId}'s retired key ${k.fingerprint}, replaced by ${k.replacedBy} on ${k.retiredAt}`, {
    where,
    hint: `it was not used; ${peerId} sends the same data again under its new key`,
  });
}
