/**
 * `ferry import --from DIR` at a facility: reads the acks addressed to it, verifies the hub's
 * signature, prunes what they confirm from the change log, and removes its own delivered bundles
 * from the drive. Everything else on the drive is left alone; a bad ack changes nothing.
 */
import { RangeSet } from '../store/ranges.js';
import type { Emr } from '../capture/emr.js';
import type { Peer } from '../store/peer-directory.js';
import { removeDriveFile } from '../core/safe-file.js';
import { listDrive, openDrive } from '../drive/layout.js';
import { ErrorCodes, refusedError, type FerryError } from '../core/errors.js';
import { driveFileFailure, itemFailure } from '../node/item-failure.js';
import { ackSignatureValid, openAck } from '../format/ack.js';
import { ownBundlesOnDrive } from './own-bundles.js';
import { acceptRotations, retiredSignerError, type RotationReport } from '../node/peer-rotations.js';
import { facilityEmr } from './facility-db.js';
import { fenceRestoredEmr } from './restore-fence.js';
import type { RestoreFence } from '../capture/emr.js';
import type { NodeSession } from '../node/node-session.js';
import { receiveFromHub, type ReceivedReport } from './receive.js';

export interface AckReport {
  file: string;
  bundle_id?: string;
  hub?: string;
  seq?: { first: number; last: number };
  /** retired-key: signed with a key the hub has since replaced; not used, and not an error (the hub re-acknowledges under its new key) */
  outcome: 'accepted' | 'already-accepted' | 'refused' | 'failed' | 'not-ours' | 'retired-key';
  /**
   * An accepted ack's count of changes the hub could not apply (a table whose scope differs from
   * the hub's, a NULL key): left out of its confirmed ranges, so they stay pending and are sent
   * again. Said here because only the hub knows why, and a facility that only sees "pending"
   * would take it for a drive not yet delivered.
   */
  rejected?: number;
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
  /** the hub's bundles for this facility: applied into the received database, with a receipt written for each */
  received: ReceivedReport[];
  /** this facility's record requests that the rows received now answer */
  requests_answered: Array<{ request_id: string; table: string }>;
}

export async function importAtFacility(s: NodeSession, from: string): Promise<FacilityImportResult> {
  // A FERRY folder that is a link refuses the whole import (drive-unsafe): removing delivered
  // bundles through it would remove files off the drive.
  const layout = openDrive(from);
  const files = listDrive(layout);
  await s.hub(); // a clear error before anything is read
  const rotations = await acceptRotations(s.ctx, s.directory(), files.rotations, 'hub');
  const hub = await s.hub();
  const emr = facilityEmr(s);
  const result: FacilityImportResult = { role: 'facility', drive: layout.root, acks: [], removed_bundles: [], pruned: 0, pending: 0, rotations, received: [], requests_answered: [] };
  try {
    const evidence = new AckEvidence(emr.lastSeq());
    for (const file of files.acks) result.acks.push(await readAck(s, hub, file, evidence));
    // Before pruning: if the EMR was restored from a backup, changes made since may carry numbers
    // these acks confirm; they are renumbered first, so that pruning cannot remove them.
    // Only the numbers matter here: the hub's clock and this site's may disagree.
    const fence = await fenceRestoredEmr(s, emr, evidence.hubHolds);
    if (fence) result.restore_fence = fence;
    result.pruned = await prune(s, emr, evidence.confirmed);
    result.removed_bundles = await removeDeliveredBundles(s, files.bundles, evidence.confirmed, hub.id);
    result.pending = emr.pendingCount();
  } finally {
    emr.close();
  }
  const received = await receiveFromHub(s, hub, layout, files.bundles);
  result.received = received.reports;
  result.requests_answered = received.answered.map((r) => ({ request_id: r.request_id, table: r.table }));
  return result;
}

/** What the verified acks on the drive confirm, and the highest number they say the hub holds. */
class AckEvidence {
  readonly confirmed = new RangeSet();
  hubHolds = 0;

  /** `top`: the highest number this EMR has made */
  constructor(private readonly top: number) {}

  add(ranges: Array<[number, number]>): void {
    for (const [x, y] of ranges) {
      // Never trust an ack for changes that do not exist yet: a hub cannot have seqs we never made.
      if (x <= this.top) this.confirmed.add(x, Math.min(y, this.top));
      this.hubHolds = Math.max(this.hubHolds, y);
    }
  }
}

/** One ack file: checked, recorded and added to the evidence, or reported as refused (a bug is not a refusal). */
async function readAck(s: NodeSession, hub: Peer, file: string, evidence: AckEvidence): Promise<AckReport> {
  const report: AckReport = { file, outcome: 'refused' };
  try {
    const a = await openAck(file);
    const k = a.ack;
    Object.assign(report, { bundle_id: k.bundle_id, hub: k.hub, seq: k.seq });
    if (k.facility.toLowerCase() !== s.id.toLowerCase()) {
      report.outcome = 'not-ours';
      return report;
    }
    if (k.hub.toLowerCase() !== hub.id.toLowerCase()) {
      throw refusedError(ErrorCodes.SIGNER_UNKNOWN, `ack from ${k.hub}, but this facility sends to ${hub.id}`, { hint: 'it was not used; check which hub the drive went to' });
    }
    if (!ackSignatureValid(a, hub.signingKey)) {
      const retired = await retiredSignerError(s.directory(), hub.id, (key) => ackSignatureValid(a, key), 'the ack', file);
      if (retired) {
        report.outcome = 'retired-key';
        report.reason = retired.toJSON();
        return report;
      }
      throw refusedError(ErrorCodes.SIGNATURE_INVALID, `the ack's signature does not verify with ${hub.id}'s key (${hub.fingerprint})`, { hint: 'the ack was altered or forged; it was not used' });
    }
    evidence.add(k.applied_ranges);
    const seen = s.state.ackReceived(k.bundle_id);
    s.state.recordAck({ bundle_id: k.bundle_id, ack_id: k.ack_id, at: s.ctx.now().toISOString(), hub: k.hub, first_seq: k.seq.first, last_seq: k.seq.last, counts: k.counts });
    report.outcome = seen ? 'already-accepted' : 'accepted';
    if (!seen && k.counts.rejected > 0) report.rejected = k.counts.rejected;
    if (!seen) await s.audit({ action: 'ack-received', peer: k.hub, bundle_id: k.bundle_id, outcome: 'accepted', detail: { first: k.seq.first, last: k.seq.last, ...k.counts } });
  } catch (err) {
    const e = itemFailure(err);
    // An ack the drive failed to give is not a bad ack: it is read again when the drive is.
    report.outcome = e.kind === 'io' ? 'failed' : 'refused';
    report.reason = e.toJSON();
    await s.audit({ action: 'ack-received', peer: report.hub ?? null, bundle_id: report.bundle_id ?? null, outcome: report.outcome, detail: { file, code: e.code } });
  }
  return report;
}

/** Remove what the hub confirmed from the change log; returns how many changes. */
async function prune(s: NodeSession, emr: Emr, confirmed: RangeSet): Promise<number> {
  let pruned = 0;
  for (const [a, b] of confirmed.toArray()) pruned += emr.pruneRange(a, b);
  if (pruned) await s.audit({ action: 'prune', outcome: 'ok', detail: { changes: pruned, ranges: confirmed.toArray() } });
  return pruned;
}

/**
 * Our own bundles whose whole range the hub confirmed are dead weight on the courier's drive.
 * Those it did not acknowledge are noted: the hub refused them, or never saw them, and the next
 * export sends their changes again under a new id instead of counting on them.
 */
async function removeDeliveredBundles(s: NodeSession, files: string[], confirmed: RangeSet, hubId: string): Promise<string[]> {
  const ackedIds = s.state.acknowledgedBundles();
  const removed: string[] = [];
  for await (const b of ownBundlesOnDrive(s, files, hubId)) {
    const m = b.manifest;
    if (!ackedIds.has(m.bundle_id) && !confirmed.covers(m.seq.first, m.seq.last)) {
      s.state.noteUnanswered(m.bundle_id, s.ctx.now().toISOString());
      continue;
    }
    try {
      if (removeDriveFile(b.path)) removed.push(b.path);
    } catch (err) {
      driveFileFailure(err, b.path); // a read-only drive: leave it
    }
  }
  return removed;
}
