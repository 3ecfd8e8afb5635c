/**
 * `ferry export --to DIR` (facility): every change the hub has not acknowledged goes into one
 * or more bundles on the drive. Plan first (what the drive already carries), then write each
 * bundle durably and read it back before reporting it.
 */
import { lstatSync, statSync } from 'node:fs';
import type { Emr, EmrClock, PendingChange, RestoreFence } from '../capture/emr.js';
import { RangeSet, type Range } from '../store/ranges.js';
import type { Peer } from '../store/peer-directory.js';
import { writeAtomically } from '../drive/atomic-write.js';
import { removeDriveFile } from '../core/safe-file.js';
import { bundleFileName, driveLayout, listDrive, openDrive, type DriveLayout } from '../drive/layout.js';
import { ErrorCodes, FerryError, refusedError, usageError } from '../core/errors.js';
import { BundleWriter, sealedSize, type FinishedBundle } from '../format/bundle-writer.js';
import { checkPayloadHash, openBundle, signatureValid } from '../format/bundle-reader.js';
import { writeOwnRotations } from '../node/own-rotations.js';
import { driveFileFailure } from '../node/item-failure.js';
import { ownBundlesOnDrive } from './own-bundles.js';
import { MAX_PAYLOAD_BYTES, MAX_RECORD_BYTES, MIN_STREAM_ALLOWANCE } from '../format/constants.js';
import type { SeqRange } from '../format/manifest.js';
import { checkCancelled, type OpContext } from '../node/context.js';
import type { NodeKeys } from '../format/identity.js';
import { facilityEmr } from './facility-db.js';
import { fenceRestoredEmr, hubHoldsOnDrive } from './restore-fence.js';
import { withLockedSession, type NodeSession } from '../node/node-session.js';
import { writeOpenRequests } from './request.js';

export { DEFAULT_MAX_BUNDLE_BYTES, MIN_MAX_BUNDLE_BYTES } from '../drive/read-back.js';
import { DEFAULT_MAX_BUNDLE_BYTES, MIN_MAX_BUNDLE_BYTES, readBack } from '../drive/read-back.js';

export interface ExportOptions {
  to: string;
  maxBundleBytes?: number;
  compressionLevel?: number;
}

export interface ExportedBundle {
  file: string;
  bundle_id: string;
  seq: SeqRange;
  changes: number;
  bytes: number;
}

export interface ExportResult {
  drive: string;
  hub: string;
  /** changes pending before this export (captured, not acknowledged) */
  pending: number;
  written: ExportedBundle[];
  /** bundles already on the drive that hold pending changes; not written again */
  already_on_drive: ExportedBundle[];
  /** tables whose columns changed since tracking (re-queued) */
  columns_updated: string[];
  /** columns of tracked tables that are not sent, or sent without their declared type (`ferry track` says the same) */
  warnings: string[];
  /** this node's key rotation notices written to the drive (for the hub) */
  keys_written: string[];
  /** set when the EMR database was found restored from a backup, and its change log fenced */
  restore_fence?: RestoreFence;
  /** this facility's open record requests written to the drive for the hub */
  requests_written: string[];
  /** own bundles removed from the drive: signed with a retired key of this node, sealed for a retired hub key, already acknowledged, or brought back unanswered with every change they carried still pending; their changes are in the bundles written now */
  removed_superseded: string[];
}

/**
 * What an export will write, decided before the first byte goes to the drive: the changes (up
 * to which number, captured by which clock reading), the tables they belong to, the room each
 * bundle has, and what the drive already carries.
 */
export interface ExportPlan {
  layout: DriveLayout;
  hub: Peer;
  /** every change up to this number goes, and each was captured at or before `clock` */
  upTo: number;
  clock: EmrClock;
  /** changes pending (captured, not acknowledged) */
  pending: number;
  /** the tracked tables: each manifest may name them all */
  tables: string[];
  /** the largest a bundle may be, and the room in it kept for the zip structure, manifest and signature */
  maxBundleBytes: number;
  reserve: number;
  compressionLevel?: number;
  /** own intact bundles on the drive whose changes are not written again */
  alreadyOnDrive: Array<ExportedBundle & { carried: Range[] }>;
  /** own bundles the new ones replace (their changes are all in the log) */
  replaceable: string[];
  /** the changes the new bundles will hold */
  toWrite: number;
}

async function planExport(s: NodeSession, emr: Emr, o: { layout: DriveLayout; hub: Peer; maxBundleBytes: number; compressionLevel?: number }): Promise<ExportPlan> {
  const upTo = emr.lastSeq();
  // Read with upTo, before anything else: every change up to upTo was captured at or before it.
  const clock = emr.clock();
  const pending = emr.pendingCount();
  const tables = emr.trackedTables().map((t) => t.name);
  const onDrive = pending === 0 ? { counted: [], replaceable: [] } : await ownBundlesToCount(s, emr, listDrive(o.layout).bundles, o.hub);
  return {
    ...o,
    upTo,
    clock,
    pending,
    tables,
    reserve: 4096 + tables.reduce((n, t) => n + Buffer.byteLength(JSON.stringify(t)) + 24, 0),
    alreadyOnDrive: onDrive.counted,
    replaceable: onDrive.replaceable,
    toWrite: pending - onDrive.counted.reduce((n, b) => n + b.changes, 0),
  };
}

interface OnDrive {
  /** intact bundles for the current hub key whose changes are not written again */
  counted: Array<ExportedBundle & { carried: Range[] }>;
  /** own bundles the next bundles replace: acknowledged already, or brought back unanswered with every change they carried still in the log */
  replaceable: string[];
}

/**
 * This node's bundles on the drive, for its current hub key and intact. One counts (its changes
 * are not written again) unless the hub acknowledged it (a copy put back on the drive must not
 * hold back the changes it left pending) or the drive brought it back unanswered; an unanswered
 * one is replaced only when every change it carried is still in the log (after an EMR restore,
 * the bundle may be the only copy left of some of them).
 */
async function ownBundlesToCount(s: NodeSession, emr: Emr, files: string[], hub: { id: string; fingerprint: string }): Promise<OnDrive> {
  const out: OnDrive = { counted: [], replaceable: [] };
  const stale = s.state.unansweredBundles();
  const acked = s.state.acknowledgedBundles();
  for await (const b of ownBundlesOnDrive(s, files, hub.id)) {
    const m = b.manifest;
    if (m.recipient_fingerprint !== hub.fingerprint) continue;
    const carried = s.state.exportCarried(m.bundle_id);
    if (acked.has(m.bundle_id) || (stale.has(m.bundle_id) && carried && carried.every(([a, z]) => emr.allPending(a, z)))) {
      out.replaceable.push(b.path);
      continue;
    }
    try {
      await checkPayloadHash(b);
      out.counted.push({ file: b.path, bundle_id: m.bundle_id, seq: m.seq, changes: m.changes, bytes: lstatSync(b.path).size, carried: carried ?? [[m.seq.first, m.seq.last]] });
    } catch (err) {
      driveFileFailure(err, b.path); // damaged on the drive: its changes are written again
    }
  }
  return out;
}

function checkedMaxBundleBytes(o: ExportOptions): number {
  const maxBytes = o.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_MAX_BUNDLE_BYTES || maxBytes > MAX_PAYLOAD_BYTES) {
    throw usageError(ErrorCodes.USAGE, `--max-bundle-bytes must be between ${MIN_MAX_BUNDLE_BYTES} and ${MAX_PAYLOAD_BYTES}`, { hint: 'the default (256 MiB) suits most drives' });
  }
  return maxBytes;
}

export function exportChanges(ctx: OpContext, o: ExportOptions): Promise<ExportResult> {
  return withLockedSession(ctx, 'facility', 'export', async (s) => {
    const maxBundleBytes = checkedMaxBundleBytes(o);
    // A FERRY folder that is a link refuses the whole export (drive-unsafe) before anything is written.
    openDrive(o.to);
    const hub = await s.hub();
    const keys = await s.nodeKeys();
    const emr = facilityEmr(s);
    try {
      const layout = driveLayout(o.to);
      // The hub's acks on this drive are evidence too: they may know numbers this node's state forgot.
      const restoreFence = await fenceRestoredEmr(s, emr, await hubHoldsOnDrive(s, listDrive(layout).acks, hub));
      const { updated, warnings } = emr.refreshTracking(ctx.now().getTime());
      const plan = await planExport(s, emr, { layout, hub, maxBundleBytes, ...(o.compressionLevel !== undefined ? { compressionLevel: o.compressionLevel } : {}) });
      const result: ExportResult = {
        drive: layout.root,
        hub: hub.id,
        pending: plan.pending,
        written: [],
        already_on_drive: [],
        columns_updated: updated.map((t) => t.table),
        warnings,
        keys_written: [],
        requests_written: [],
        removed_superseded: [],
        ...(restoreFence ? { restore_fence: restoreFence } : {}),
      };
      // Even with nothing pending: the hub must learn this node's new key from the next drive.
      result.keys_written = await writeOwnRotations(s.state, s.id, layout);
      // Also with nothing pending: a patient may be waiting for the record asked for.
      result.requests_written = await writeOpenRequests(s, hub, layout);
      if (plan.pending === 0) {
        await s.audit({ action: 'export', peer: hub.id, outcome: 'nothing-pending', detail: { drive: layout.root } });
        return result;
      }
      result.already_on_drive = plan.alreadyOnDrive.map(({ carried: _, ...b }) => b);
      try {
        // Before writing: their changes are all in the log, and a small drive needs the room.
        for (const file of plan.replaceable) if (removeDriveFile(file)) result.removed_superseded.push(file);
        await writeBundles(s, emr, plan, keys, (b) => result.written.push(b));
        result.removed_superseded.push(...(await removeSupersededBundles(s, listDrive(layout).bundles, hub)));
      } catch (err) {
        if (err instanceof FerryError && result.written.length > 0) {
          err.message += ` (${result.written.length} bundle(s) written before that are complete and valid)`;
        }
        await s.audit({ action: 'export', peer: hub.id, outcome: 'failed', detail: { drive: layout.root, error: err instanceof FerryError ? err.code : 'internal', written: result.written.map((b) => b.bundle_id) } });
        throw err;
      }
      return result;
    } finally {
      emr.close();
    }
  });
}

/** Write the plan's changes as bundles, each read back before it is recorded and reported. */
async function writeBundles(s: NodeSession, emr: Emr, plan: ExportPlan, keys: NodeKeys, onWritten: (b: ExportedBundle) => void): Promise<void> {
  // Only the seqs a counted bundle carried are skipped, never the rest of its range.
  const covered = new RangeSet(plan.alreadyOnDrive.flatMap((b) => b.carried));
  const changes = new ChangeStream(emr.pendingChanges(s.id, plan.upTo, (seq) => covered.has(seq)));
  const runId = Buffer.from(s.ctx.random(8)).toString('hex');
  const progress = { done: 0 };
  while (!changes.done) {
    const created = s.ctx.now();
    const { path, finished, carried } = await writeOneBundle(s, plan, keys, changes, created, progress);
    const m = finished.manifest;
    await readBack(path, keys.identity, keys.identity.id);
    const bytes = statSync(path).size;
    onWritten({ file: path, bundle_id: m.bundle_id, seq: m.seq, changes: m.changes, bytes });
    s.state.recordExport({ bundle_id: m.bundle_id, run_id: runId, at: created.toISOString(), drive: plan.layout.root, file: path, first_seq: m.seq.first, last_seq: m.seq.last, changes: m.changes, bytes, clock: plan.clock, carried: carried.toArray() });
    await s.audit({ action: 'export', peer: plan.hub.id, bundle_id: m.bundle_id, outcome: 'written', detail: { file: path, first: m.seq.first, last: m.seq.last, changes: m.changes, bytes } });
    s.ctx.progress({ phase: 'export', item: path, changesDone: progress.done, changesTotal: plan.toWrite });
  }
}

/** The pending changes, one looked ahead: a change that does not fit one bundle opens the next. */
class ChangeStream {
  private next: IteratorResult<PendingChange>;

  constructor(private readonly changes: Generator<PendingChange>) {
    this.next = changes.next();
  }

  get done(): boolean {
    return this.next.done === true;
  }

  peek(): PendingChange {
    return (this.next as IteratorYieldResult<PendingChange>).value;
  }

  advance(): void {
    this.next = this.changes.next();
  }
}

/** One bundle: changes from the stream until the next would not fit, written durably to the drive. */
async function writeOneBundle(s: NodeSession, plan: ExportPlan, keys: NodeKeys, changes: ChangeStream, created: Date, progress: { done: number }): Promise<{ path: string; finished: FinishedBundle; carried: RangeSet }> {
  const ctx = s.ctx;
  const bundleId = ctx.random(16);
  const limit = plan.maxBundleBytes - plan.reserve;
  let writer: BundleWriter | undefined;
  let streamDone = 0;
  const carried = new RangeSet();
  const { path, value: finished } = await writeAtomically<FinishedBundle>(
    plan.layout.bundles,
    (f) => bundleFileName(s.id, f.manifest.seq.first, f.manifest.seq.last, f.manifest.bundle_id),
    async (out) => {
      writer = new BundleWriter({
        sender: { id: keys.identity.id, fingerprint: keys.identity.fingerprint, signingSecretKey: keys.signingSecretKey },
        recipient: { id: plan.hub.id, fingerprint: plan.hub.fingerprint, encryptionKey: plan.hub.encryptionKey },
        out,
        bundleId,
        ephemeralSecret: ctx.random(32),
        created,
        ...(plan.compressionLevel !== undefined ? { compressionLevel: plan.compressionLevel } : {}),
      });
      const described = new Set<string>();
      while (!changes.done) {
        const { table, change } = changes.peek();
        const changeLine = `${JSON.stringify(change)}\n`;
        const tableLine = described.has(table.table) ? '' : `${JSON.stringify(table)}\n`;
        const line = Buffer.byteLength(changeLine) + Buffer.byteLength(tableLine);
        checkRecordSize(change, Buffer.byteLength(changeLine), line);
        if (writer.recordCount > 0 && writer.sealedUpperBound(line) > limit) {
          await writer.syncFlush();
          if (writer.sealedUpperBound(line) > limit) break;
        }
        if (writer.recordCount === 0 && sealedSize(line + 64) > limit) {
          throw usageError(ErrorCodes.RECORD_TOO_LARGE, `change ${change.seq} (table ${change.table}) is larger than --max-bundle-bytes allows`, { hint: 'raise --max-bundle-bytes' });
        }
        // The format's own limits (stream size, changes, tables): cut the bundle here.
        if (writer.recordCount > 0 && !(await writer.fits(line, tableLine ? table : undefined))) break;
        if (tableLine) {
          await writer.writeLine(table, tableLine);
          described.add(table.table);
        }
        await writer.writeLine(change, changeLine);
        carried.append(change.seq);
        streamDone += line;
        progress.done++;
        if ((progress.done & 1023) === 0) {
          ctx.progress({ phase: 'export', changesDone: progress.done, changesTotal: plan.toWrite, bytesDone: streamDone });
          // The partial file is removed by writeAtomically; the change log is untouched.
          checkCancelled(ctx);
        }
        changes.advance();
      }
      return writer.finish();
    },
    // The whole export's size, from what this bundle's changes took so far.
    () => (writer && writer.recordCount ? Math.round((writer.bytesOut / writer.recordCount) * (plan.toWrite - progress.done + writer.recordCount)) : 0),
  );
  return { path, finished, carried };
}

/**
 * The reader's limits hold for every bundle written: a record too large for any bundle stops
 * the export here (later changes cannot skip it), with no value in the message.
 */
function checkRecordSize(change: PendingChange['change'], changeBytes: number, line: number): void {
  if (changeBytes - 1 > MAX_RECORD_BYTES || line > MIN_STREAM_ALLOWANCE) {
    throw refusedError(ErrorCodes.RECORD_TOO_LARGE, `change ${change.seq} (table ${change.table}) makes a record of ${changeBytes - 1} bytes, too large for a bundle (at most ${MAX_RECORD_BYTES} bytes, with its table's description)`, {
      hint: `a row of ${change.table} holds values too large to carry (together over about 48 MiB); make them smaller in the EMR (keep large files outside the database), then export again`,
    });
  }
}

/**
 * Own bundles that the hub would refuse after a rotation: signed with a retired key of this node,
 * or sealed for a key the hub has replaced. Called once every pending change is in a bundle
 * made with the current keys, so removing them loses nothing and spares the hub a refusal.
 */
async function removeSupersededBundles(s: NodeSession, files: string[], hub: { id: string; fingerprint: string }): Promise<string[]> {
  const retired = s.state.ownRotations().map((r) => r.oldSigningKey);
  const current = s.identity().signingKey;
  const removed: string[] = [];
  for (const file of files) {
    let b;
    try {
      b = await openBundle(file);
    } catch (err) {
      driveFileFailure(err, file);
      continue; // damaged, unreadable or foreign: not ours to delete
    }
    const m = b.manifest;
    if (m.sender !== s.id || m.recipient !== hub.id) continue;
    const oldSigner = retired.some((k) => signatureValid(b, k));
    const oldHubKey = m.recipient_fingerprint !== hub.fingerprint && signatureValid(b, current);
    if (!oldSigner && !oldHubKey) continue;
    if (!removeDriveFile(file)) continue;
    removed.push(file);
    await s.audit({ action: 'export', peer: hub.id, bundle_id: m.bundle_id, outcome: 'superseded-removed', detail: { file, reason: oldSigner ? 'signed with a retired key of this node' : `sealed for ${hub.id}'s retired key ${m.recipient_fingerprint}` } });
  }
  return removed;
}
