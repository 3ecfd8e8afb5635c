/**
 * The restore fence as the facility's commands use it (src/capture/restore-fence.ts has the
 * mechanism): the evidence from this node's records and from the hub's acks on a drive.
 */
import type { Emr, RestoreFence } from '../capture/emr.js';
import { ackSignatureValid, openAck } from '../format/ack.js';
import { driveFileFailure } from '../node/item-failure.js';
import type { NodeSession } from '../node/node-session.js';

/**
 * Fence the change log if the EMR database went back in time (restored from a backup), before
 * anything is exported or pruned; audited, and returned so that the command can say it.
 * `hubHolds`: the highest number the hub's acks confirm.
 */
export async function fenceRestoredEmr(s: NodeSession, emr: Emr, hubHolds = 0): Promise<RestoreFence | undefined> {
  const fence = emr.fenceReusedSeqs(s.state.sentRanges(), hubHolds);
  if (fence) await s.audit({ action: 'restore-fence', outcome: fence.renumbered ? 'renumbered' : 'counter-advanced', detail: { ...fence } });
  return fence;
}

/** The highest of this facility's numbers that the hub's acks on a drive confirm (verified acks only). */
export async function hubHoldsOnDrive(s: NodeSession, ackFiles: string[], hub: { id: string; signingKey: Uint8Array }): Promise<number> {
  let top = 0;
  for (const file of ackFiles) {
    try {
      const a = await openAck(file);
      const k = a.ack;
      if (k.facility.toLowerCase() !== s.id.toLowerCase() || k.hub.toLowerCase() !== hub.id.toLowerCase() || !ackSignatureValid(a, hub.signingKey)) continue;
      for (const [, last] of k.applied_ranges) top = Math.max(top, last);
    } catch (err) {
      driveFileFailure(err, file); // a damaged, unreadable or foreign ack is no evidence; a bug in reading it is a bug
    }
  }
  return top;
}
