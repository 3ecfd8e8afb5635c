/**
 * `ferry export --to DIR` (facility): every change the hub has not acknowledged goes into one
 * or more bundles on the drive. Plan first (what the drive already carries), then write each
 * bundle durably and read it back before reporting it.
 */
import { lstatSync, rmSync, statSync } from 'node:fs';
import { allPending, lastSeq, pendingCount, trackedTables, type Db } from '../capture/change-log.js';
import { pendingChanges } from '../capture/pending-changes.js';
import { RangeSet, type Range } from '../store/ranges.js';
import { refreshTracking } from '../capture/track.js';
import { writeAtomically } from '../drive/atomic-write.js';
import { removeDriveFile } from '../core/safe-file.js';
import { bundleFileName, driveLayout, listDrive, openDrive } from '../drive/layout.js';
import { ErrorCodes, FerryError, ioError, refusedError, usageError } from '../core/errors.js';
import { BundleWriter, sealedSize, type FinishedBundle } from '../format/bundle-writer.js';
import { checkPayloadHash, openBundle, signatureValid, verifyBundle } from '../format/bundle-reader.js';
import { ownRotations, writeOwnRotations } from '../node/rotate.js';
import { ownBundlesOnDrive } from './own-bundles.js';
import { MAX_PAYLOAD_BYTES, MAX_RECORD_BYTES, MIN_STREAM_ALLOWANCE } from '../format/constants.js';
import type { SeqRange } from '../format/manifest.js';
import { checkCancelled, type OpContext } from '../node/context.js';
import type { NodeKeys } from '../format/identity.js';
import { facilityDb } from './facility-db.js';
import { fenceRestoredEmr, hubHoldsOnDrive } from './restore-fence.js';
import type { RestoreFence } from '../capture/restore-fence.js';
import { withLockedSession, type NodeSession } from '../node/node-session.js';

export const DEFAULT_MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
export const MIN_MAX_BUNDLE_BYTES = 64 * 1024;

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
  /** own bundles removed from the drive: signed with a retired key of this node, sealed for a retired hub key, already acknowledged, or brought back unanswered with every change they carried still pending; their changes are in the bundles written now */
  removed_superseded: string[];
}

/** Own bundles found on a drive unacknowledged after a trip to the hub (see import-facility). */
const unanswered = (s: NodeSession): Set<string> => new Set((s.state.prepare('SELECT bundle_id FROM ferry_unanswered').all() as Array<{ bundle_id: string }>).map((r) => r.bundle_id));
const acknowledged = (s: NodeSession): Set<string> => new Set((s.state.prepare('SELECT bundle_id FROM ferry_acks_received').all() as Array<{ bundle_id: string }>).map((r) => r.bundle_id));

/** The seqs a bundle of this node carried, as recorded when it was written (unknown for bundles made before ferry recorded them). */
function carriedBy(s: NodeSession, bundleId: string): Range[] | undefined {
  const r = s.state.prepare('SELECT carried FROM ferry_exports WHERE bundle_id = ?').get(bundleId) as { carried: string | null } | undefined;
  return r?.carried ? (JSON.parse(r.carried) as Range[]) : undefined;
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
async function ownBundlesToCount(s: NodeSession, db: Db, files: string[], hub: { id: string; fingerprint: string }): Promise<OnDrive> {
  const out: OnDrive = { counted: [], replaceable: [] };
  const stale = unanswered(s);
  const acked = acknowledged(s);
  for await (const b of ownBundlesOnDrive(s, files, hub.id)) {
    const m = b.manifest;
    if (m.recipient_fingerprint !== hub.fingerprint) continue;
    const carried = carriedBy(s, m.bundle_id);
    if (acked.has(m.bundle_id) || (stale.has(m.bundle_id) && carried && carried.every(([a, z]) => allPending(db, a, z)))) {
      out.replaceable.push(b.path);
      continue;
    }
    try {
      await checkPayloadHash(b);
      out.counted.push({ file: b.path, bundle_id: m.bundle_id, seq: m.seq, changes: m.changes, bytes: lstatSync(b.path).size, carried: carried ?? [[m.seq.first, m.seq.last]] });
    } catch {
      // damaged on the drive: its changes are written again
    }
  }
  return out;
}

export function exportChanges(ctx: OpContext, o: ExportOptions): Promise<ExportResult> {
  return withLockedSession(ctx, 'facility', 'export', async (s) => {
    const maxBytes = o.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_MAX_BUNDLE_BYTES || maxBytes > MAX_PAYLOAD_BYTES) {
      throw usageError(ErrorCodes.USAGE, `--max-bundle-bytes must be between ${MIN_MAX_BUNDLE_BYTES} and ${MAX_PAYLOAD_BYTES}`, { hint: 'the default (256 MiB) suits most drives' });
    }
    // A FERRY folder that is a link refuses the whole export (drive-unsafe) before anything is written.
    openDrive(o.to);
    const hub = s.hub();
    const keys = await s.nodeKeys();
    const db = facilityDb(s);
    try {
      // The hub's acks on this drive are evidence too: they may know numbers this node's state forgot.
      const restoreFence = fenceRestoredEmr(s, db, await hubHoldsOnDrive(s, listDrive(driveLayout(o.to)).acks, hub));
      const { updated, warnings } = refreshTracking(db, ctx.now().getTime());
      const columnsUpdated = updated.map((t) => t.table);
      const upTo = lastSeq(db);
      // Every change up to upTo was captured at or before this clock reading.
      const clock = db.prepare('SELECT wall, counter FROM ferry_clock WHERE id = 1').get() as { wall: number; counter: number };
      const pending = pendingCount(db);
      const layout = driveLayout(o.to);
      const result: ExportResult = { drive: layout.root, hub: hub.id, pending, written: [], already_on_drive: [], columns_updated: columnsUpdated, warnings, keys_written: [], removed_superseded: [], ...(restoreFence ? { restore_fence: restoreFence } : {}) };
      // Even with nothing pending: the hub must learn this node's new key from the next drive.
      result.keys_written = await writeOwnRotations(s, layout);
      if (pending === 0) {
        s.audit({ action: 'export', peer: hub.id, outcome: 'nothing-pending', detail: { drive: layout.root } });
        return result;
      }
      const onDrive = await ownBundlesToCount(s, db, listDrive(layout).bundles, hub);
      result.already_on_drive = onDrive.counted.map(({ carried: _, ...b }) => b);
      // Only the seqs a counted bundle carried are skipped, never the rest of its range.
      const covered = new RangeSet(onDrive.counted.flatMap((b) => b.carried));
      const skip = (seq: number) => covered.has(seq);
      try {
        // Before writing: their changes are all in the log, and a small drive needs the room.
        for (const file of onDrive.replaceable) if (removeDriveFile(file)) result.removed_superseded.push(file);
        await writeBundles(s, db, o, maxBytes, upTo, skip, hub, keys, result, pending, clock);
        result.removed_superseded.push(...(await removeSupersededBundles(s, listDrive(layout).bundles, hub)));
      } catch (err) {
        if (err instanceof FerryError && result.written.length > 0) {
          err.message += ` (${result.written.length} bundle(s) written before that are complete and valid)`;
        }
        s.audit({ action: 'export', peer: hub.id, outcome: 'failed', detail: { drive: layout.root, error: err instanceof FerryError ? err.code : 'internal', written: result.written.map((b) => b.bundle_id) } });
        throw err;
      }
      return result;
    } finally {
      db.close();
    }
  });
}

async function writeBundles(
  s: NodeSession,
  db: Db,
  o: ExportOptions,
  maxBytes: number,
  upTo: number,
  skip: (seq: number) => boolean,
  hub: ReturnType<NodeSession['hub']>,
  keys: NodeKeys,
  result: ExportResult,
  pending: number,
  clock: { wall: number; counter: number },
): Promise<void> {
  const ctx = s.ctx;
  const layout = driveLayout(o.to);
  const changes = pendingChanges(db, s.id, upTo, skip);
  const runId = Buffer.from(ctx.random(8)).toString('hex');
  let next = changes.next();
  let done = 0;
  const total = pending - result.already_on_drive.reduce((n, b) => n + b.changes, 0);
  // Room for the zip structure, the manifest (which names every table) and the signature.
  const reserve = 4096 + trackedTables(db).reduce((n, t) => n + Buffer.byteLength(JSON.stringify(t.name)) + 24, 0);
  while (!next.done) {
    const bundleId = ctx.random(16);
    const created = ctx.now();
    let writer: BundleWriter | undefined;
    let streamDone = 0;
    const carried = new RangeSet();
    const { path, value: finished } = await writeAtomically<FinishedBundle>(
      layout.bundles,
      (f) => bundleFileName(s.id, f.manifest.seq.first, f.manifest.seq.last, f.manifest.bundle_id),
      async (out) => {
        writer = new BundleWriter({
          sender: { id: keys.identity.id, fingerprint: keys.identity.fingerprint, signingSecretKey: keys.signingSecretKey },
          recipient: { id: hub.id, fingerprint: hub.fingerprint, encryptionKey: hub.encryptionKey },
          out,
          bundleId,
          ephemeralSecret: ctx.random(32),
          created,
          ...(o.compressionLevel !== undefined ? { compressionLevel: o.compressionLevel } : {}),
        });
        const described = new Set<string>();
        while (!next.done) {
          const { table, change } = next.value;
          const changeLine = `${JSON.stringify(change)}\n`;
          const tableLine = described.has(table.table) ? '' : `${JSON.stringify(table)}\n`;
          const changeBytes = Buffer.byteLength(changeLine);
          const line = changeBytes + Buffer.byteLength(tableLine);
          // The reader's limits hold for every bundle written: a record too large for any bundle
          // stops the export here (later changes cannot skip it), with no value in the message.
          if (changeBytes - 1 > MAX_RECORD_BYTES || line > MIN_STREAM_ALLOWANCE) {
            throw refusedError(ErrorCodes.RECORD_TOO_LARGE, `change ${change.seq} (table ${change.table}) makes a record of ${changeBytes - 1} bytes, too large for a bundle (at most ${MAX_RECORD_BYTES} bytes, with its table's description)`, {
              hint: `a row of ${change.table} holds values too large to carry (together over about 48 MiB); make them smaller in the EMR (keep large files outside the database), then export again`,
            });
          }
          if (writer.recordCount > 0 && writer.sealedUpperBound(line) > maxBytes - reserve) {
            await writer.syncFlush();
            if (writer.sealedUpperBound(line) > maxBytes - reserve) break;
          }
          if (writer.recordCount === 0 && sealedSize(line + 64) > maxBytes - reserve) {
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
          done++;
          if ((done & 1023) === 0) {
            ctx.progress({ phase: 'export', changesDone: done, changesTotal: total, bytesDone: streamDone });
            // The partial file is removed by writeAtomically; the change log is untouched.
            checkCancelled(ctx);
          }
          next = changes.next();
        }
        return writer.finish();
      },
      // The whole export's size, from what this bundle's changes took so far.
      () => (writer && writer.recordCount ? Math.round((writer.bytesOut / writer.recordCount) * (total - done + writer.recordCount)) : 0),
    );
    const m = finished.manifest;
    await readBack(path, keys.identity, keys.identity.id);
    const bytes = statSync(path).size;
    const entry: ExportedBundle = { file: path, bundle_id: m.bundle_id, seq: m.seq, changes: m.changes, bytes };
    result.written.push(entry);
    s.state
      .prepare('INSERT OR REPLACE INTO ferry_exports (bundle_id, run_id, at, drive, file, first_seq, last_seq, changes, bytes, clock_wall, clock_counter, carried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.bundle_id, runId, created.toISOString(), layout.root, path, m.seq.first, m.seq.last, m.changes, bytes, clock.wall, clock.counter, JSON.stringify(carried.toArray()));
    s.audit({ action: 'export', peer: hub.id, bundle_id: m.bundle_id, outcome: 'written', detail: { file: path, first: m.seq.first, last: m.seq.last, changes: m.changes, bytes } });
    ctx.progress({ phase: 'export', item: path, changesDone: done, changesTotal: total });
  }
}

/**
 * Own bundles that the hub would refuse after a rotation: signed with a retired key of this node,
 * or sealed for a key the hub has replaced. Called once every pending change is in a bundle
 * made with the current keys, so removing them loses nothing and spares the hub a refusal.
 */
async function removeSupersededBundles(s: NodeSession, files: string[], hub: { id: string; fingerprint: string }): Promise<string[]> {
  const retired = ownRotations(s.state).map((r) => r.oldSigningKey);
  const current = s.identity().signingKey;
  const removed: string[] = [];
  for (const file of files) {
    let b;
    try {
      b = await openBundle(file);
    } catch {
      continue; // damaged or foreign: not ours to delete
    }
    const m = b.manifest;
    if (m.sender !== s.id || m.recipient !== hub.id) continue;
    const oldSigner = retired.some((k) => signatureValid(b, k));
    const oldHubKey = m.recipient_fingerprint !== hub.fingerprint && signatureValid(b, current);
    if (!oldSigner && !oldHubKey) continue;
    if (!removeDriveFile(file)) continue;
    removed.push(file);
    s.audit({ action: 'export', peer: hub.id, bundle_id: m.bundle_id, outcome: 'superseded-removed', detail: { file, reason: oldSigner ? 'signed with a retired key of this node' : `sealed for ${hub.id}'s retired key ${m.recipient_fingerprint}` } });
  }
  return removed;
}

/** Read the bundle back from the drive and verify it as the hub will, except decryption. */
async function readBack(path: string, signer: { signingKey: Uint8Array; fingerprint: string }, self: string): Promise<void> {
  try {
    const b = await openBundle(path);
    verifyBundle(b, { signingKey: signer.signingKey, fingerprint: signer.fingerprint }, undefined);
    if (b.manifest.sender !== self) throw new Error('sender changed');
    await checkPayloadHash(b);
  } catch (err) {
    rmSync(path, { force: true });
    throw ioError(ErrorCodes.READBACK_FAILED, `the bundle written to ${path} did not read back intact, so it was removed`, {
      where: path,
      cause: err,
      hint: 'the drive may be failing or fake (lying about its size); try another drive',
    });
  }
}
