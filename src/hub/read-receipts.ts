/**
 * `ferry import` at a hub, for the facilities' receipts on the drive: each one addressed to this
 * hub and signed by the enrolled facility it names marks the rows it confirms as held there, so
 * the next export stops sending them. A receipt for another hub is left alone; a bad one changes
 * nothing and is reported.
 */
import { ackSignatureValid, openAck } from '../format/ack.js';
import { RECEIPT_FORMAT } from '../format/constants.js';
import { nameKey } from '../format/names.js';
import { removeDriveFile } from '../core/safe-file.js';
import { ErrorCodes, refusedError, type FerryError } from '../core/errors.js';
import { itemFailure } from '../node/item-failure.js';
import type { NodeSession } from '../node/node-session.js';
import type { HubStore } from '../store/hub-store.js';

export interface ReceiptReport {
  file: string;
  facility?: string;
  bundle_id?: string;
  /** accepted: its rows are confirmed (and the receipt removed from the drive); not-ours: for another hub */
  outcome: 'accepted' | 'refused' | 'failed' | 'not-ours';
  /** rows it confirmed now */
  rows?: number;
  reason?: ReturnType<FerryError['toJSON']>;
}

export async function readReceipts(s: NodeSession, store: HubStore, files: string[]): Promise<ReceiptReport[]> {
  const reports: ReceiptReport[] = [];
  for (const file of files) {
    const report: ReceiptReport = { file, outcome: 'refused' };
    reports.push(report);
    try {
      const a = await openAck(file, RECEIPT_FORMAT);
      const k = a.ack;
      Object.assign(report, { facility: k.facility, bundle_id: k.bundle_id });
      if (nameKey(k.hub) !== nameKey(s.id)) {
        report.outcome = 'not-ours';
        continue;
      }
      const peer = await store.peer(k.facility);
      if (!peer || peer.role !== 'facility') throw refusedError(ErrorCodes.SIGNER_UNKNOWN, `receipt from ${k.facility}, which this hub has not enrolled`, { hint: 'it was not used' });
      if (peer.revoked) throw refusedError(ErrorCodes.SIGNER_REVOKED, `receipt from ${peer.id}, revoked on ${peer.revoked.at}`, { hint: 'it was not used' });
      if (!ackSignatureValid(a, peer.signingKey)) {
        throw refusedError(ErrorCodes.SIGNATURE_INVALID, `the receipt's signature does not verify with ${peer.id}'s key (${peer.fingerprint})`, { hint: 'the receipt was altered or forged; it was not used' });
      }
      report.rows = await store.acknowledgeOutgoing(peer.id, k.bundle_id, k.applied_ranges, s.ctx.now().toISOString());
      report.outcome = 'accepted';
      await store.audit({ action: 'receipt-received', peer: peer.id, bundle_id: k.bundle_id, outcome: 'accepted', detail: { first: k.seq.first, last: k.seq.last, rows: report.rows } });
      // Read and recorded: it would only be read again.
      removeDriveFile(file);
    } catch (err) {
      const e = itemFailure(err);
      report.outcome = e.kind === 'io' ? 'failed' : 'refused';
      report.reason = e.toJSON();
      await store.audit({ action: 'receipt-received', peer: report.facility ?? null, bundle_id: report.bundle_id ?? null, outcome: report.outcome, detail: { file, code: e.code } });
    }
  }
  return reports;
}
