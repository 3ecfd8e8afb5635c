/**
 * `ferry import --from DRIVE` at a facility, for what the hub sent it: each hub bundle addressed
 * to this facility is checked exactly as a hub checks a facility's (the trusted hub's signature,
 * the recipient, the payload hash, then decryption and every record), applied into the received
 * database in one transaction (never into the EMR), and answered with a signed receipt on the
 * drive, so that the hub stops sending what arrived. The same bundle twice, or bundles out of
 * order, leave the received database as if each row arrived once.
 */
import { basename, join, resolve } from 'node:path';
import { writeBufferAtomically } from '../drive/atomic-write.js';
import { receiptFileName, type DriveLayout } from '../drive/layout.js';
import { encodeAck, type Ack } from '../format/ack.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../format/bundle-reader.js';
import { RECEIPT_FORMAT } from '../format/constants.js';
import { toHex } from '../format/encoding.js';
import { nameKey } from '../format/names.js';
import { itemFailure } from '../node/item-failure.js';
import { checkCancelled } from '../node/context.js';
import type { NodeSession } from '../node/node-session.js';
import { HOME_FILES, readConfig } from '../store/home.js';
import type { Peer } from '../store/peer-directory.js';
import { ReceivedDb, type OwnRequest } from '../store/received-db.js';
import type { FerryError } from '../core/errors.js';

export interface ReceivedReport {
  file: string;
  bundle_id?: string;
  seq?: { first: number; last: number };
  /** applied now, applied before (a receipt is written again), refused (nothing applied), failed (the drive failed) */
  outcome: 'applied' | 'already-applied' | 'refused' | 'failed';
  applied?: number;
  already_present?: number;
  receipt?: string;
  receipt_error?: ReturnType<FerryError['toJSON']>;
  reason?: ReturnType<FerryError['toJSON']>;
}

/** The facility's received database: node.json's "received_db" (relative to the home), else HOME/received.db. */
export function receivedDbPath(home: string): string {
  const configured = readConfig(home).received_db;
  return configured ? resolve(home, configured) : join(home, HOME_FILES.received);
}

/** The hub's bundles on the drive that are addressed to this facility; anything else is left alone. */
async function bundlesForMe(s: NodeSession, hub: Peer, files: string[]): Promise<string[]> {
  const mine: string[] = [];
  for (const file of files) {
    try {
      const m = (await openBundle(file)).manifest;
      if (nameKey(m.sender) === nameKey(hub.id) && nameKey(m.recipient) === nameKey(s.id)) mine.push(file);
    } catch {
      // Not readable as a bundle: a facility's own, another site's, or damaged; the hub reports those.
    }
  }
  return mine;
}

export async function receiveFromHub(s: NodeSession, hub: Peer, layout: DriveLayout, files: string[]): Promise<{ reports: ReceivedReport[]; answered: OwnRequest[] }> {
  const mine = await bundlesForMe(s, hub, files);
  if (mine.length === 0) return { reports: [], answered: [] };
  const keys = await s.nodeKeys();
  const db = ReceivedDb.open(receivedDbPath(s.ctx.home));
  const reports: ReceivedReport[] = [];
  try {
    for (const file of mine) {
      checkCancelled(s.ctx);
      const report: ReceivedReport = { file, outcome: 'refused' };
      reports.push(report);
      try {
        const b = await openBundle(file);
        const m = b.manifest;
        Object.assign(report, { bundle_id: m.bundle_id, seq: m.seq });
        // Verify before decrypting: the hub's key as this facility trusts it, this facility as the recipient.
        verifyBundle(b, { signingKey: hub.signingKey, fingerprint: hub.fingerprint, ...(hub.revoked ? { revoked: hub.revoked } : {}) }, { id: s.id });
        await checkPayloadHash(b);
        const records = readPayloadRecords(b, { encryptionSecretKey: keys.encryptionSecretKey, encryptionKey: keys.identity.encryptionKey, direction: 'to-facility' });
        const r = await db.apply({ hub: hub.id, bundle_id: m.bundle_id, first: m.seq.first, last: m.seq.last, changes: m.changes, created: m.created, file: basename(file) }, records, s.ctx.now().toISOString());
        report.outcome = r.before ? 'already-applied' : 'applied';
        report.applied = r.applied;
        report.already_present = r.already_present;
        if (!r.before) await s.audit({ action: 'receive', peer: hub.id, bundle_id: m.bundle_id, outcome: 'applied', detail: { first: m.seq.first, last: m.seq.last, applied: r.applied, already_present: r.already_present } });
        try {
          report.receipt = await writeReceipt(s, hub, layout, m, r);
        } catch (err) {
          report.receipt_error = itemFailure(err).toJSON();
        }
      } catch (err) {
        const e = itemFailure(err);
        report.outcome = e.kind === 'io' ? 'failed' : 'refused';
        report.reason = e.toJSON();
        await s.audit({ action: 'receive', peer: hub.id, bundle_id: report.bundle_id ?? null, outcome: report.outcome, detail: { file, code: e.code } });
      }
    }
    const answered = db.markAnswered(s.ctx.now().toISOString());
    for (const r of answered) await s.audit({ action: 'request', peer: hub.id, outcome: 'answered', detail: { request: r.request_id, table: r.table } });
    return { reports, answered };
  } finally {
    db.close();
  }
}

async function writeReceipt(s: NodeSession, hub: Peer, layout: DriveLayout, m: { bundle_id: string; seq: { first: number; last: number } }, r: { applied: number; already_present: number; held: Array<[number, number]>; before?: unknown }): Promise<string> {
  const keys = await s.nodeKeys();
  const receipt: Ack = {
    format: RECEIPT_FORMAT,
    version: 1,
    ack_id: toHex(s.ctx.random(16)),
    hub: hub.id,
    hub_fingerprint: hub.fingerprint,
    facility: s.id,
    bundle_id: m.bundle_id,
    seq: m.seq,
    applied_ranges: r.held,
    outcome: r.before ? 'already-applied' : 'applied',
    counts: { applied: r.applied, already_present: r.already_present, conflicts: 0, rejected: 0 },
    created: s.ctx.now().toISOString(),
  };
  const bytes = await encodeAck(receipt, keys.signingSecretKey);
  return writeBufferAtomically(layout.receipts, receiptFileName(s.id, hub.id, m.seq.first, m.seq.last, m.bundle_id), bytes);
}
