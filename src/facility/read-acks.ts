/**
 * `ferry import --from DIR` at a facility: reads the acks addressed to it, verifies the hub's
 * signature, prunes what they confirm from the change log, and removes its own delivered bundles
 * from the drive. Everything else on the drive is left alone; a bad ack changes nothing.
 */
import { RangeSet } from '../store/ranges.js';
import { lastSeq, pendingCount, pruneRange } from '../capture/change-log.js';
import { removeDriveFile } from '../core/safe-file.js';
import { listDrive, openDrive } from '../drive/layout.js';
import { asFerryError, ErrorCodes, refusedError, type FerryError } from '../core/errors.js';
import { ackSignatureValid, openAck } from '../format/ack.js';
import { ownBundlesOnDrive } from './own-bundles.js';
import { acceptRotations, retiredSignerError, type RotationReport } from '../node/peer-rotations.js';
import { facilityDb } from './facility-db.js';
import { fenceRestoredEmr } from './restore-fence.js';
import type { RestoreFence } from '../capture/restore-fence.js';
import type { NodeSession } from '../node/node-session.js';

export interface AckReport {
  file: string;
  bundle_id?: string;
  hub?: string;
  seq?: { first: number; last: number };
  /** retired-key: signed with a key the hub has since replaced; not used, and not an error (the hub re-acknowledges under its new key) */
  outcome: 'accepted' | 'already-accepted' | 'refused' | 'not-ours' | 'retired-key';
  reason?: ReturnType<FerryError['toJSON']>;
}

export interface FacilityImportResult {
  role: 'facility';
  drive: string;
  acks: AckReport[];
  /** own bundles removed from the drive because the hub confirmed every change in them */
  removed_bundles: string[];
  /** changes removed from the change log because the hub confirmed them */
  pruned: number;
  pending: number;
  /** the hub's key rotation notices found on the drive */
  rotations: RotationReport[];
  /** set when the EMR database was found restored from a backup, and its change log fenced */
  restore_fence?: RestoreFence;
}

export async function importAtFacility(s: NodeSession, from: string): Promise<FacilityImportResult> {
  // A FERRY folder that is a link refuses the whole import (drive-unsafe): removing delivered
  // bundles through it would remove files off the drive.
  const layout = openDrive(from);
  const files = listDrive(layout);
  s.hub(); // a clear error before anything is read
  const rotations = await acceptRotations(s, files.rotations, 'hub');
  const hub = s.hub();
  const db = facilityDb(s);
  const confirmed = new RangeSet();
  const result: FacilityImportResult = { role: 'facility', drive: layout.root, acks: [], removed_bundles: [], pruned: 0, pending: 0, rotations };
  try {
    const top = lastSeq(db);
    let hubHolds = 0;
    for (const file of files.acks) {
      const report: AckReport = { file, outcome: 'refused' };
      result.acks.push(report);
      try {
        const a = await openAck(file);
        const k = a.ack;
        Object.assign(report, { bundle_id: k.bundle_id, hub: k.hub, seq: k.seq });
        if (k.facility.toLowerCase() !== s.id.toLowerCase()) {
          report.outcome = 'not-ours';
          continue;
        }
        if (k.hub.toLowerCase() !== hub.id.toLowerCase()) {
          throw refusedError(ErrorCodes.SIGNER_UNKNOWN, `ack from ${k.hub}, but this facility sends to ${hub.id}`, { hint: 'it was not used; check which hub the drive went to' });
        }
        if (!ackSignatureValid(a, hub.signingKey)) {
          const retired = retiredSignerError(s, hub.id, (key) => ackSignatureValid(a, key), 'the ack', file);
          if (retired) {
            report.outcome = 'retired-key';
            report.reason = retired.toJSON();
            continue;
          }
          throw refusedError(ErrorCodes.SIGNATURE_INVALID, `the ack's signature does not verify with ${hub.id}'s key (${hub.fingerprint})`, { hint: 'the ack was altered or forged; it was not used' });
        }
        for (const [x, y] of k.applied_ranges) {
          // Never trust an ack for changes that do not exist yet: a hub cannot have seqs we never made.
          if (x <= top) confirmed.add(x, Math.min(y, top));
          hubHolds = Math.max(hubHolds, y);
        }
        const seen = s.state.prepare('SELECT 1 FROM ferry_acks_received WHERE bundle_id = ?').get(k.bundle_id);
        s.state
          .prepare('INSERT OR REPLACE INTO ferry_acks_received (bundle_id, ack_id, at, hub, first_seq, last_seq, counts) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(k.bundle_id, k.ack_id, s.ctx.now().toISOString(), k.hub, k.seq.first, k.seq.last, JSON.stringify(k.counts));
        report.outcome = seen ? 'already-accepted' : 'accepted';
        if (!seen) s.audit({ action: 'ack-received', peer: k.hub, bundle_id: k.bundle_id, outcome: 'accepted', detail: { first: k.seq.first, last: k.seq.last, ...k.counts } });
      } catch (err) {
        const e = asFerryError(err);
        report.outcome = 'refused';
        report.reason = e.toJSON();
        s.audit({ action: 'ack-received', peer: report.hub ?? null, bundle_id: report.bundle_id ?? null, outcome: 'refused', detail: { file, code: e.code } });
      }
    }
    // Before pruning: if the EMR was restored from a backup, changes made since may carry numbers
    // these acks confirm; they are renumbered first, so that pruning cannot remove them.
    // Only the numbers matter here: the hub's clock and this site's may disagree.
    const fence = fenceRestoredEmr(s, db, hubHolds);
    if (fence) result.restore_fence = fence;
    let pruned = 0;
    for (const [a, b] of confirmed.toArray()) pruned += pruneRange(db, a, b);
    if (pruned) s.audit({ action: 'prune', outcome: 'ok', detail: { changes: pruned, ranges: confirmed.toArray() } });
    result.pruned = pruned;
    result.removed_bundles = await removeDeliveredBundles(s, files.bundles, confirmed, hub.id);
    result.pending = pendingCount(db);
  } finally {
    db.close();
  }
  return result;
}

/**
 * Our own bundles whose whole range the hub confirmed are dead weight on the courier's drive.
 * Those it did not acknowledge are noted: the hub refused them, or never saw them, and the next
 * export sends their changes again under a new id instead of counting on them.
 */
async function removeDeliveredBundles(s: NodeSession, files: string[], confirmed: RangeSet, hubId: string): Promise<string[]> {
  const acked = (s.state.prepare('SELECT bundle_id FROM ferry_acks_received').all() as Array<{ bundle_id: string }>).map((r) => r.bundle_id);
  const ackedIds = new Set(acked);
  const unanswered = s.state.prepare('INSERT OR IGNORE INTO ferry_unanswered (bundle_id, seen_at) VALUES (?, ?)');
  const removed: string[] = [];
  for await (const b of ownBundlesOnDrive(s, files, hubId)) {
    const m = b.manifest;
    if (!ackedIds.has(m.bundle_id) && !confirmed.covers(m.seq.first, m.seq.last)) {
      unanswered.run(m.bundle_id, s.ctx.now().toISOString());
      continue;
    }
    try {
      if (removeDriveFile(b.path)) removed.push(b.path);
    } catch {
      // a read-only drive: leave it
    }
  }
  return removed;
}
