/**
 * `ferry import --from DIR` at a hub: every bundle on the drive addressed to this hub is verified
 * (container, manifest, trusted unrevoked sender, signature, recipient, ciphertext hash) before
 * anything is decrypted, applied in one transaction with its ledger row, and acknowledged with a
 * signed ack on the drive. A refused bundle is quarantined and does not stop the others.
 */
import { readReceipts, type ReceiptReport } from './read-receipts.js';
import { readRequests, type RequestReport } from './requests.js';
import { basename } from 'node:path';
import type { Gap, HubStore, LedgerEntry, Rejections } from '../store/hub-store.js';
import type { Range } from '../store/ranges.js';
import { writeBufferAtomically } from '../drive/atomic-write.js';
import { nameExists } from '../core/safe-file.js';
import { ackFileName, listDrive, openDrive } from '../drive/layout.js';
import { asFerryError, ErrorCodes, FerryError, ioError, refusedError } from '../core/errors.js';
import { encodeAck, type Ack, type AckCounts } from '../format/ack.js';
import { checkPayloadHash, openBundle, signatureValid, verifyBundle, type OpenedBundle } from '../format/bundle-reader.js';
import { readPayloadInWorker } from '../format/parallel-payload.js';
import { ACK_FORMAT, FORMAT_VERSION } from '../format/constants.js';
import { toHex } from '../format/encoding.js';
import { checkCancelled } from '../node/context.js';
import type { NodeSession } from '../node/node-session.js';
import { quarantine, type Standing } from './quarantine.js';
import type { NodeKeys } from '../format/identity.js';
import { acceptRotations, retiredSignerError, type RotationReport } from '../node/peer-rotations.js';
import { writeOwnRotations } from '../node/own-rotations.js';
import { itemFailure } from '../node/item-failure.js';
import { isFacility } from '../node/role.js';

/** refused: the bundle is bad (quarantined); failed: the drive failed (retry); skipped: for another hub */
export type BundleOutcome = 'applied' | 'already-applied' | 'refused' | 'failed' | 'skipped';

export interface BundleReport {
  file: string;
  bundle_id?: string;
  sender?: string;
  recipient?: string;
  seq?: { first: number; last: number };
  outcome: BundleOutcome;
  counts?: AckCounts;
  /** the changes the hub rejected (they wait at the facility), per table and reason: absent when none */
  rejections?: Rejections[];
  reason?: ReturnType<FerryError['toJSON']>;
  quarantined?: string;
  /** why a refused bundle was not copied into quarantine: quarantine-full */
  quarantine_error?: ReturnType<FerryError['toJSON']>;
  ack?: string;
  ack_error?: ReturnType<FerryError['toJSON']>;
}

export interface HubImportResult {
  role: 'hub';
  drive: string;
  bundles: BundleReport[];
  acks_written: string[];
  gaps: Gap[];
  /** facilities' key rotation notices found on the drive */
  rotations: RotationReport[];
  /** this hub's own rotation notices written to the drive for the facilities */
  keys_written: string[];
  keys_error?: ReturnType<FerryError['toJSON']>;
  /** facilities' receipts for this hub's bundles */
  receipts: ReceiptReport[];
  /** facilities' record requests */
  requests: RequestReport[];
}

export async function importAtHub(s: NodeSession, from: string): Promise<HubImportResult> {
  // A FERRY folder that is a link refuses the whole import (drive-unsafe) before anything is read.
  const layout = openDrive(from);
  const files = listDrive(layout);
  // Unlock before the first bundle: a passphrase problem stops the whole import, and is
  // never mistaken for a bad bundle (which would be quarantined).
  if (files.bundles.length > 0 || files.requests.length > 0) await s.nodeKeys();
  const store = s.hubStore();
  // A hub database that cannot be reached stops the import before anything is read or quarantined.
  await store.check();
  const result: HubImportResult = { role: 'hub', drive: layout.root, bundles: [], acks_written: [], gaps: [], rotations: [], keys_written: [], receipts: [], requests: [] };
  // Before any bundle: a facility's new key must be known to check what it signed with it.
  result.rotations = await acceptRotations(s.ctx, store, files.rotations, 'facility');
  const unverified = new UnverifiedTally();
  try {
    for (const file of files.bundles) {
      checkCancelled(s.ctx);
      const report = await new BundleImport(s, store, file, layout.acks, unverified).run();
      result.bundles.push(report);
      if (report.ack) result.acks_written.push(report.ack);
    }
    result.gaps = await store.gaps();
    if (files.receipts.length) result.receipts = await readReceipts(s, store, files.receipts);
    if (files.requests.length) result.requests = await readRequests(s, store, files.requests);
  } finally {
    await unverified.audit(store, layout.root);
  }
  try {
    result.keys_written = await writeOwnRotations(s.state, s.id, layout);
  } catch (err) {
    // The bundles are applied and acknowledged; the notice goes on the next drive.
    result.keys_error = itemFailure(err).toJSON();
  }
  return result;
}

/**
 * Refused files that no key this hub knows stands behind (junk, a manifest or signature that
 * fails, an unknown sender's bundle not kept): anyone can write thousands on a drive, so they
 * make one audit entry per import, with their count and codes, not one each. Each is still
 * reported in the import's result.
 */
class UnverifiedTally {
  private files = 0;
  /** one file to start looking from */
  private first: string | undefined;
  private readonly codes: Record<string, number> = {};
  private readonly notCopied: Record<string, number> = {};

  add(file: string, code: string, quarantineCode: string | undefined): void {
    this.files++;
    this.first ??= file;
    this.codes[code] = (this.codes[code] ?? 0) + 1;
    if (quarantineCode) this.notCopied[quarantineCode] = (this.notCopied[quarantineCode] ?? 0) + 1;
  }

  async audit(store: HubStore, drive: string): Promise<void> {
    if (this.files === 0) return;
    await store.audit({
      action: 'import',
      peer: null,
      bundle_id: null,
      outcome: 'refused-unverified',
      detail: { drive, files: this.files, codes: this.codes, first_file: this.first, ...(Object.keys(this.notCopied).length ? { quarantine: this.notCopied } : {}) },
    });
  }
}

/** One bundle file on the drive, taken through its checks in order, then applied and acknowledged. */
class BundleImport {
  private readonly report: BundleReport;
  private b: OpenedBundle | undefined;

  constructor(
    private readonly s: NodeSession,
    private readonly store: HubStore,
    private readonly file: string,
    private readonly acksDir: string,
    private readonly unverified: UnverifiedTally,
  ) {
    this.report = { file, outcome: 'refused' };
  }

  async run(): Promise<BundleReport> {
    try {
      const b = await this.open();
      if (!this.addressedHere(b)) return this.report;
      const origin = await this.verifySender(b);
      const known = await this.ledgerEntry(b, origin);
      if (known) await this.acknowledgeAgain(b, origin, known);
      else await this.apply(b, origin);
      return this.report;
    } catch (err) {
      return this.refused(err);
    }
  }

  private async open(): Promise<OpenedBundle> {
    this.s.ctx.progress({ phase: 'verify', item: basename(this.file) });
    this.b = await openBundle(this.file);
    const m = this.b.manifest;
    Object.assign(this.report, { bundle_id: m.bundle_id, sender: m.sender, recipient: m.recipient, seq: m.seq });
    return this.b;
  }

  /** For another hub on the courier's route: not ours to judge or to quarantine. */
  private addressedHere(b: OpenedBundle): boolean {
    const m = b.manifest;
    if (m.recipient.toLowerCase() === this.s.id.toLowerCase()) return true;
    this.report.outcome = 'skipped';
    if (m.sender.toLowerCase() === this.s.id.toLowerCase()) {
      this.report.reason = refusedError(ErrorCodes.WRONG_RECIPIENT, `this hub's own bundle for ${m.recipient}`, { hint: `leave it on the drive for ${m.recipient}` }).toJSON();
      return false;
    }
    this.report.reason = refusedError(ErrorCodes.WRONG_RECIPIENT, `addressed to ${m.recipient}, not to this hub`, { hint: `leave it on the drive for ${m.recipient}` }).toJSON();
    return false;
  }

  /**
   * Signed by a trusted, unrevoked facility; returns the peer's own id, exactly as trusted: a
   * manifest naming it in another case is the same facility, never a new origin whose rows and
   * ranges would be kept apart.
   */
  private async verifySender(b: OpenedBundle): Promise<string> {
    const m = b.manifest;
    const peer = await this.store.peer(m.sender);
    const facility = peer && isFacility(peer) ? peer : undefined;
    try {
      verifyBundle(b, facility ? { signingKey: facility.signingKey, fingerprint: facility.fingerprint, ...(facility.revoked ? { revoked: facility.revoked } : {}) } : undefined, { id: this.s.id });
    } catch (err) {
      const retired = err instanceof FerryError && err.code === ErrorCodes.SIGNATURE_INVALID && peer ? await retiredSignerError(this.store, peer.id, (key) => signatureValid(b, key), `bundle from ${m.sender}`, this.file) : undefined;
      throw retired ?? err;
    }
    return peer!.id;
  }

  /** The ledger row if this bundle was applied before; refused when another sender used its id. */
  private async ledgerEntry(b: OpenedBundle, origin: string): Promise<LedgerEntry | undefined> {
    const m = b.manifest;
    const known = await this.store.ledgerEntry(origin, m.bundle_id);
    if (known) return known;
    const owner = await this.store.bundleIdOwner(origin, m.bundle_id);
    if (owner) {
      throw refusedError(ErrorCodes.BUNDLE_ID_REUSED, `bundle from ${m.sender} reuses the id ${m.bundle_id}, which ${owner} already used at this hub`, {
        where: this.file,
        hint: `nothing was applied and no ack written; once ${m.sender} has read this drive (ferry import) its next export sends the same changes under a new id and removes this bundle. Bundle ids are random: a reused one means ${owner} or ${m.sender} copied it; check both (ferry log)`,
      });
    }
    return undefined;
  }

  /**
   * Recognised by id: nothing is decrypted or applied (so the key it was sealed for does not
   * matter); the ack is written again, with this hub's current key, in case the first was lost.
   */
  private async acknowledgeAgain(b: OpenedBundle, origin: string, known: LedgerEntry): Promise<void> {
    const m = b.manifest;
    this.report.outcome = 'already-applied';
    // Nothing is applied again; what the hub rejected the first time is still not held.
    this.report.counts = { applied: 0, already_present: known.changes - known.rejected, conflicts: 0, rejected: known.rejected };
    if (known.rejected > 0) this.reportRejections((await this.store.rejectedChanges({ bundle: { origin, bundleId: m.bundle_id } })).map(({ table, reason, changes, first_seq, last_seq }) => ({ table, reason, changes, first_seq, last_seq })));
    await writeAck(this.s, this.store, b, origin, 'already-applied', { applied: known.applied, already_present: known.already_present, conflicts: known.conflicts, rejected: known.rejected }, this.acksDir, this.report);
    await this.store.audit({ action: 'import', peer: m.sender, bundle_id: m.bundle_id, outcome: 'already-applied', detail: { file: this.file } });
  }

  /** Why changes were rejected, for the operator: the reasons say what to do. */
  private reportRejections(rejections: Rejections[]): void {
    if (rejections.length > 0) this.report.rejections = rejections;
  }

  /** Sealed for this hub's current key; a bundle for a retired one says so. */
  private async checkSealedForUs(b: OpenedBundle, self: NodeKeys): Promise<void> {
    const m = b.manifest;
    if (m.recipient_fingerprint === self.identity.fingerprint) return;
    const mine = this.s.state.ownRotations().find((r) => r.oldFingerprint === m.recipient_fingerprint);
    if (mine) {
      throw refusedError(ErrorCodes.NO_MATCHING_KEY, `bundle from ${m.sender} was sealed for this hub's retired key ${m.recipient_fingerprint}`, {
        where: this.file,
        hint: `it was not used; ${m.sender} sends the same changes again for the new key once it has read the rotation notice this import wrote on the drive`,
      });
    }
    throw refusedError(ErrorCodes.NO_MATCHING_KEY, `bundle from ${m.sender} was sealed for key ${m.recipient_fingerprint}, not this hub's key ${self.identity.fingerprint}`, {
      hint: `${m.sender} holds an old identity card of this hub; give it the current one and export again`,
    });
  }

  private async apply(b: OpenedBundle, origin: string): Promise<void> {
    const ctx = this.s.ctx;
    const m = b.manifest;
    const self = await this.s.nodeKeys();
    await this.checkSealedForUs(b, self);
    await checkPayloadHash(b);
    const item = basename(this.file);
    ctx.progress({ phase: 'apply', item, changesDone: 0, changesTotal: m.changes });
    const records = readPayloadInWorker(b, { encryptionSecretKey: self.encryptionSecretKey, encryptionKey: self.identity.encryptionKey });
    const applied = await this.store.applyVerifiedBundle({ manifest: m, origin, file: this.file }, records, {
      receivedAt: ctx.now(),
      onProgress: (done) => {
        ctx.progress({ phase: 'apply', item, changesDone: done, changesTotal: m.changes });
        checkCancelled(ctx); // inside the transaction: rolled back
      },
    });
    // Another station applied it while this one waited for the facility's lock: its ledger row
    // stands, and this station acknowledges it as already applied (both acks are valid).
    if (applied.appliedBefore) return this.acknowledgeAgain(b, origin, applied.appliedBefore);
    this.report.outcome = 'applied';
    this.report.counts = applied.counts;
    this.reportRejections(applied.rejections);
    await this.store.audit({ action: 'import', peer: m.sender, bundle_id: m.bundle_id, outcome: 'applied', detail: { file: this.file, ...applied.counts } });
    await writeAck(this.s, this.store, b, origin, 'applied', applied.counts, this.acksDir, this.report, applied.carriedRanges);
  }

  /**
   * A refusal or I/O failure of this bundle: reported, and the bundle quarantined if a key this
   * hub knows stands behind it. Anything else is a bug and stops the import (nothing quarantined).
   */
  private async refused(err: unknown): Promise<BundleReport> {
    const e = asFerryError(err);
    // The hub database failed, not the bundle: stop here, quarantine nothing (it is retried whole).
    if (e.kind === 'cancelled' || e.code === ErrorCodes.DB_UNREACHABLE || e.code === ErrorCodes.DB_LOGIN) throw e;
    const report = this.report;
    if (!nameExists(this.file)) {
      // The drive went away under us (pulled out): the transaction rolled back; retry next time.
      report.outcome = 'failed';
      report.reason = ioError(ErrorCodes.DRIVE_IO, 'the drive went away during the import; nothing of this bundle was applied', {
        hint: 'plug the drive in again: it will be imported from the start',
      }).toJSON();
      await this.store.audit({ action: 'import', peer: report.sender ?? null, bundle_id: report.bundle_id ?? null, outcome: 'failed', detail: { file: this.file, code: ErrorCodes.DRIVE_IO } });
      return report;
    }
    if (e.code === ErrorCodes.DB_BUSY) {
      // Not the bundle's fault: rolled back whole, retried at the next import, never quarantined.
      report.outcome = 'failed';
      report.reason = e.toJSON();
      await this.store.audit({ action: 'import', peer: report.sender ?? null, bundle_id: report.bundle_id ?? null, outcome: 'failed', detail: { file: this.file, code: e.code } });
      return report;
    }
    itemFailure(e);
    report.outcome = 'refused';
    report.reason = e.toJSON();
    const standing = await standingOf(this.store, this.b, e.code);
    const q = await quarantine(this.s.ctx.home, this.file, e, this.s.ctx.now().toISOString(), standing);
    if (q.file) {
      report.quarantined = q.file;
      await this.store.noteQuarantined({ file: q.file, original: this.file, at: this.s.ctx.now().toISOString(), reason: e.toJSON() });
    }
    if (q.error) report.quarantine_error = q.error.toJSON();
    if (standing === 'signed' || q.file) {
      await this.store.audit({ action: 'import', peer: report.sender ?? null, bundle_id: report.bundle_id ?? null, outcome: 'refused', detail: { file: this.file, code: e.code, message: e.message, quarantined: q.file ?? null, ...(q.error ? { quarantine: q.error.code } : {}) } });
    } else {
      this.unverified.add(this.file, e.code, q.error?.code);
    }
    return report;
  }
}

/**
 * How far a refused file got (src/hub/quarantine.ts keeps it or not by this). The signature is
 * checked again here, against every key the sender was ever trusted with: a revoked sender's
 * bundle is refused before its signature is checked, and a forged one must not be kept.
 */
async function standingOf(store: HubStore, b: OpenedBundle | undefined, code: string): Promise<Standing> {
  if (!b) return 'unverified'; // refused before its manifest passed
  const peer = await store.peer(b.manifest.sender);
  if (!peer || !isFacility(peer)) return code === ErrorCodes.SIGNER_UNKNOWN ? 'unknown-sender' : 'unverified';
  const keys = [peer.signingKey, ...(await store.retiredKeys(peer.id)).map((k) => k.signingKey)];
  return keys.some((k) => signatureValid(b, k)) ? 'signed' : 'unverified';
}

/**
 * An ack lists at most this many ranges: a range of two 16-digit seqs takes 35 bytes, so 1,500
 * take 52,500 and the whole ack stays under its 64 KiB limit. Listing fewer than the hub holds is
 * always safe: what is not listed stays pending at the facility and is sent again.
 */
export const MAX_ACK_RANGES = 1500;

/**
 * The ranges an ack confirms: everything the hub holds for the facility, or, when rejected
 * changes have cut that into more pieces than an ack can carry, the pieces of what this bundle
 * carried (so that every ack lets the facility prune something new and no round is wasted).
 */
export function rangesForAck(held: Range[], carried: Range[] | undefined, bundle: { first: number; last: number }): Range[] {
  if (held.length <= MAX_ACK_RANGES) return held;
  const own = carried ?? held.filter(([a, b]) => b >= bundle.first && a <= bundle.last);
  return own.slice(0, MAX_ACK_RANGES);
}

async function writeAck(s: NodeSession, store: HubStore, b: OpenedBundle, origin: string, outcome: Ack['outcome'], counts: AckCounts, acksDir: string, report: BundleReport, carried?: Range[]): Promise<void> {
  const m = b.manifest;
  const keys = await s.nodeKeys();
  const ack: Ack = {
    format: ACK_FORMAT,
    version: FORMAT_VERSION,
    ack_id: toHex(s.ctx.random(16)),
    hub: s.id,
    hub_fingerprint: keys.identity.fingerprint,
    facility: m.sender,
    bundle_id: m.bundle_id,
    seq: m.seq,
    applied_ranges: rangesForAck(await store.appliedRanges(origin), carried, m.seq),
    outcome,
    counts,
    created: s.ctx.now().toISOString(),
  };
  try {
    const bytes = await encodeAck(ack, keys.signingSecretKey);
    report.ack = await writeBufferAtomically(acksDir, ackFileName(m.sender, m.seq.first, m.seq.last, m.bundle_id), bytes);
  } catch (err) {
    // Applied but not acknowledged: the next import of this drive (or a re-export) writes the ack.
    const e = itemFailure(err);
    report.ack_error = e.toJSON();
    await store.audit({ action: 'ack', peer: m.sender, bundle_id: m.bundle_id, outcome: 'failed', detail: { code: e.code } });
    return;
  }
  await store.audit({ action: 'ack', peer: m.sender, bundle_id: m.bundle_id, outcome: 'written', detail: { file: report.ack } });
}

