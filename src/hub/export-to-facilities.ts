/**
 * `ferry export --to DRIVE` at a hub: for each enrolled facility with something outgoing, the
 * rows it should hold and has not acknowledged (every shared row; the records sent to it and what
 * belongs to them; everything of the facilities it follows) go into bundles addressed to it:
 * signed by the hub, encrypted to that facility with a fresh key, cut to size, read back. What a
 * facility has not acknowledged goes again on every export, until its receipt comes back.
 */
import { statSync } from 'node:fs';
import { writeAtomically } from '../drive/atomic-write.js';
import { removeDriveFile } from '../core/safe-file.js';
import { bundleFileName, driveLayout, listDrive, openDrive, type DriveLayout } from '../drive/layout.js';
import { ErrorCodes, FerryError, refusedError, usageError } from '../core/errors.js';
import { BundleWriter, type FinishedBundle } from '../format/bundle-writer.js';
import { openBundle } from '../format/bundle-reader.js';
import { MAX_RECORD_BYTES } from '../format/constants.js';
import type { NodeKeys } from '../format/identity.js';
import type { SeqRange } from '../format/manifest.js';
import { nameKey } from '../format/names.js';
import { checkCancelled, type OpContext } from '../node/context.js';
import { withLockedSession, type NodeSession } from '../node/node-session.js';
import { driveFileFailure } from '../node/item-failure.js';
import type { HubStore } from '../store/hub-store.js';
import type { OutgoingChange, RowRef, SubscriptionWant } from '../store/outgoing-store.js';
import type { Peer } from '../store/peer-directory.js';
import { DEFAULT_MAX_BUNDLE_BYTES, MIN_MAX_BUNDLE_BYTES, readBack } from '../drive/read-back.js';
import { subscriptionRows } from './send.js';
import { answerRequests } from './requests.js';

export interface HubExportOptions {
  to: string;
  /** only these facilities */
  for?: string[];
  maxBundleBytes?: number;
}

export interface HubExportedBundle {
  file: string;
  bundle_id: string;
  seq: SeqRange;
  changes: number;
  bytes: number;
}

export interface FacilityOutgoing {
  facility: string;
  /** rows queued by this export (new, changed or deleted since they were queued before) */
  queued: number;
  /** bundles written for it now: every row it has not acknowledged */
  written: HubExportedBundle[];
  /** rows in them */
  changes: number;
  /** the hub's older bundles for it removed from the drive: the new ones carry what they did */
  replaced: string[];
  /** sends to it whose record has grown past what one send may carry: left out, and why */
  skipped: Array<ReturnType<FerryError['toJSON']>>;
}

export interface HubExportResult {
  role: 'hub';
  drive: string;
  facilities: FacilityOutgoing[];
}

/**
 * What a facility should hold besides every shared row: the facilities it follows, and the rows of
 * the records sent to it. A record grown past what one send may carry is left out (and said),
 * never the reason the other records and facilities get nothing.
 */
export async function wantedBy(store: HubStore, recipient: string, skipped: FerryError[] = []): Promise<SubscriptionWant> {
  const subs = await store.subscriptions({ recipient });
  const allFrom = [...new Set(subs.filter((x) => x.table === null).map((x) => x.origin))];
  const rows: RowRef[] = [];
  for (const x of subs) {
    if (x.table === null) continue;
    try {
      rows.push(...((await subscriptionRows(store, x))?.rows ?? []));
    } catch (err) {
      if (!(err instanceof FerryError) || err.code !== ErrorCodes.RECORD_TOO_LARGE) throw err;
      skipped.push(err);
    }
  }
  return { allFrom, rows };
}

async function recipients(store: HubStore, only: string[] | undefined): Promise<Peer[]> {
  const enrolled = (await store.peers()).filter((p) => p.role === 'facility' && !p.revoked);
  if (!only?.length) return enrolled;
  return only.map((id) => {
    const p = enrolled.find((x) => nameKey(x.id) === nameKey(id));
    if (!p) throw usageError(ErrorCodes.PEER_UNKNOWN, `--for ${id}: not a facility this hub has enrolled (or it was revoked)`, { hint: 'list them with `ferry status`' });
    return p;
  });
}

export function exportToFacilities(ctx: OpContext, o: HubExportOptions): Promise<HubExportResult> {
  return withLockedSession(ctx, 'hub', 'export', async (s) => {
    const maxBundleBytes = o.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    if (!Number.isSafeInteger(maxBundleBytes) || maxBundleBytes < MIN_MAX_BUNDLE_BYTES) {
      throw usageError(ErrorCodes.USAGE, `--max-bundle-bytes must be at least ${MIN_MAX_BUNDLE_BYTES}`, { hint: 'the default (256 MiB) suits most drives' });
    }
    openDrive(o.to);
    const layout = driveLayout(o.to);
    const store = s.hubStore();
    const keys = await s.nodeKeys();
    const result: HubExportResult = { role: 'hub', drive: layout.root, facilities: [] };
    // Requests approved before their record arrived: the rows that came since may answer them.
    await answerRequests(s, store);
    for (const to of await recipients(store, o.for)) {
      checkCancelled(ctx);
      const skipped: FerryError[] = [];
      const queued = await store.queueOutgoing(to.id, await wantedBy(store, to.id, skipped));
      const f: FacilityOutgoing = { facility: to.id, queued, written: [], changes: 0, replaced: [], skipped: skipped.map((e) => e.toJSON()) };
      for (const e of skipped) await store.audit({ action: 'export', peer: to.id, outcome: 'send-skipped', detail: { code: e.code } });
      const changes = store.outgoingChanges(to.id)[Symbol.asyncIterator]();
      let next = await changes.next();
      if (!next.done) f.replaced = await removeOwnBundlesFor(s, layout, to.id);
      try {
        while (!next.done) {
          const written = await writeOneBundle(s, layout, keys, to, changes, next.value, maxBundleBytes);
          next = written.next;
          f.written.push(written.bundle);
          f.changes += written.bundle.changes;
          await store.noteOutgoingBundle({ recipient: to.id, bundle_id: written.bundle.bundle_id, first_seq: written.bundle.seq.first, last_seq: written.bundle.seq.last, changes: written.bundle.changes, written_at: ctx.now().toISOString(), file: written.bundle.file });
          await store.audit({ action: 'export', peer: to.id, bundle_id: written.bundle.bundle_id, outcome: 'written', detail: { file: written.bundle.file, first: written.bundle.seq.first, last: written.bundle.seq.last, changes: written.bundle.changes, bytes: written.bundle.bytes } });
        }
      } catch (err) {
        await store.audit({ action: 'export', peer: to.id, outcome: 'failed', detail: { drive: layout.root, error: err instanceof FerryError ? err.code : 'internal' } });
        throw err;
      }
      if (f.written.length || f.queued || f.skipped.length) result.facilities.push(f);
    }
    return result;
  });
}

/**
 * The hub's own earlier bundles for this facility: everything they carried that it has not
 * acknowledged is in the bundles written now, so they would only make it apply the same rows twice.
 */
async function removeOwnBundlesFor(s: NodeSession, layout: DriveLayout, facility: string): Promise<string[]> {
  const removed: string[] = [];
  for (const file of listDrive(layout).bundles) {
    let m;
    try {
      m = (await openBundle(file)).manifest;
    } catch (err) {
      driveFileFailure(err, file);
      continue;
    }
    if (nameKey(m.sender) !== nameKey(s.id) || nameKey(m.recipient) !== nameKey(facility)) continue;
    if (removeDriveFile(file)) removed.push(file);
  }
  return removed;
}

/** One bundle for one facility: changes until the next would not fit, written durably and read back. */
async function writeOneBundle(
  s: NodeSession,
  layout: DriveLayout,
  keys: NodeKeys,
  to: Peer,
  changes: AsyncIterator<OutgoingChange>,
  first: OutgoingChange,
  maxBundleBytes: number,
): Promise<{ bundle: HubExportedBundle; next: IteratorResult<OutgoingChange> }> {
  const ctx = s.ctx;
  let next: IteratorResult<OutgoingChange> = { done: false, value: first };
  let writer: BundleWriter | undefined;
  const limit = maxBundleBytes - 8192;
  const { path, value: finished } = await writeAtomically<FinishedBundle>(
    layout.bundles,
    (f) => bundleFileName(`${s.id}.to.${to.id}`, f.manifest.seq.first, f.manifest.seq.last, f.manifest.bundle_id),
    async (out) => {
      writer = new BundleWriter({
        sender: { id: keys.identity.id, fingerprint: keys.identity.fingerprint, signingSecretKey: keys.signingSecretKey },
        recipient: { id: to.id, fingerprint: to.fingerprint, encryptionKey: to.encryptionKey },
        out,
        bundleId: ctx.random(16),
        ephemeralSecret: ctx.random(32),
        created: ctx.now(),
        direction: 'to-facility',
      });
      const described = new Set<string>();
      while (!next.done) {
        const { table, change } = next.value;
        const changeLine = `${JSON.stringify(change)}\n`;
        const tableLine = described.has(table.table) ? '' : `${JSON.stringify(table)}\n`;
        const line = Buffer.byteLength(changeLine) + Buffer.byteLength(tableLine);
        if (Buffer.byteLength(changeLine) - 1 > MAX_RECORD_BYTES) {
          throw refusedError(ErrorCodes.RECORD_TOO_LARGE, `a row of ${change.table} is too large for a bundle`, { hint: 'make its values smaller at the facility it came from' });
        }
        if (writer.recordCount > 0 && writer.sealedUpperBound(line) > limit) {
          await writer.syncFlush();
          if (writer.sealedUpperBound(line) > limit) break;
        }
        if (writer.recordCount > 0 && !(await writer.fits(line, tableLine ? table : undefined))) break;
        if (tableLine) {
          await writer.writeLine(table, tableLine);
          described.add(table.table);
        }
        await writer.writeLine(change, changeLine);
        if ((writer.recordCount & 1023) === 0) checkCancelled(ctx);
        next = await changes.next();
      }
      return writer.finish();
    },
  );
  await readBack(path, keys.identity, keys.identity.id);
  const m = finished.manifest;
  return { bundle: { file: path, bundle_id: m.bundle_id, seq: m.seq, changes: m.changes, bytes: statSync(path).size }, next };
}
