/**
 * `ferry watch`: poll mount roots for drives that carry a FERRY/ folder and import each one once
 * per insertion. A drive is identified by its folder's device and inode, so unplugging and
 * plugging it back in counts as a new insertion. Stops between imports when `signal` aborts.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { asFerryError, ErrorCodes, type FerryError } from '../core/errors.js';
import type { OpContext } from '../node/context.js';
import { importDrive, type ImportResult } from './import.js';

export { DEFAULT_MOUNT_ROOTS } from '../drive/mount-roots.js';

export interface WatchEvent {
  at: string;
  drive: string;
  outcome: 'imported' | 'partial' | 'failed';
  result?: ImportResult;
  error?: ReturnType<FerryError['toJSON']>;
}

export interface WatchOptions {
  mountRoots: string[];
  intervalMs: number;
  signal: AbortSignal;
  onEvent: (e: WatchEvent) => void;
  /** stop after this many polls (cron-style `--once` is 1) */
  maxPolls?: number;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

/** Folders under the roots (the root itself, and two levels down: /media/USER/LABEL) that hold FERRY/. */
export function findDrives(roots: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const root of roots) {
    for (const dir of [root, ...subdirs(root), ...subdirs(root).flatMap(subdirs)]) {
      const ferry = join(dir, 'FERRY');
      try {
        // lstat: a FERRY that is a link is never followed; it is still a drive, whose import
        // then refuses it (drive-unsafe) so that the operator hears of it.
        const st = lstatSync(ferry);
        if (st.isDirectory() || st.isSymbolicLink()) found.set(`${dir}\u0000${st.dev}:${st.ino}`, dir);
      } catch {
        // a drive being unmounted: skip it this round
      }
    }
  }
  return found;
}

export function outcomeOf(r: ImportResult): WatchEvent['outcome'] {
  if (r.role === 'hub') return r.bundles.some((b) => b.outcome === 'refused' || b.outcome === 'failed' || b.ack_error) ? 'partial' : 'imported';
  return r.acks.some((a) => a.outcome === 'refused') ? 'partial' : 'imported';
}

export async function watch(ctx: OpContext, o: WatchOptions): Promise<void> {
  const seen = new Set<string>();
  let polls = 0;
  while (!o.signal.aborted) {
    const drives = findDrives(o.mountRoots);
    for (const key of [...seen]) if (!drives.has(key)) seen.delete(key);
    for (const [key, dir] of drives) {
      if (seen.has(key) || o.signal.aborted) continue;
      seen.add(key);
      const at = ctx.now().toISOString();
      try {
        const result = await importDrive(ctx, { from: dir });
        o.onEvent({ at, drive: dir, outcome: outcomeOf(result), result });
      } catch (err) {
        const e = asFerryError(err);
        // A drive that failed (pulled out, lock held) is tried again when it is seen anew; an
        // unsafe one stays refused until it is plugged in again (not reported every poll).
        if (e.code !== ErrorCodes.DRIVE_UNSAFE) seen.delete(key);
        o.onEvent({ at, drive: dir, outcome: 'failed', error: e.toJSON() });
      }
    }
    polls++;
    if (o.maxPolls !== undefined && polls >= o.maxPolls) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, o.intervalMs);
      o.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
