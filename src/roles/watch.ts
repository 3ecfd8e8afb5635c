/**
 * `ferry watch`: poll mount roots for drives that carry a FERRY/ folder and import each one once
 * per insertion. A drive is identified by its folder's device and inode, so unplugging and
 * plugging it back in counts as a new insertion. Stops between imports when `signal` aborts.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { asFerryError, ErrorCodes, type FerryError } from '../core/errors.js';
import type { OpContext } from '../node/context.js';
import type { Verdict } from '../core/verdict.js';
import { importDrive, type DriveImport } from './import.js';
import { stoppedVerdict } from './verdict.js';

export const DEFAULT_MOUNT_ROOTS = ['/media', '/run/media', '/mnt'];

export interface WatchEvent {
  at: string;
  drive: string;
  /** the verdict's outcome, in the words watch has always used ('imported' for ok) */
  outcome: 'imported' | 'partial' | 'failed';
  verdict: Verdict;
  /** what was done (its verdict is the event's) */
  result?: DriveImport;
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

export const outcomeOf = (v: Verdict): WatchEvent['outcome'] => (v.outcome === 'ok' ? 'imported' : v.outcome);

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
        const { verdict, ...result } = await importDrive(ctx, { from: dir });
        o.onEvent({ at, drive: dir, outcome: outcomeOf(verdict), verdict, result: result as DriveImport });
      } catch (err) {
        const e = asFerryError(err);
        // A drive that failed (pulled out, lock held) is tried again when it is seen anew; an
        // unsafe one stays refused until it is plugged in again (not reported every poll).
        if (e.code !== ErrorCodes.DRIVE_UNSAFE) seen.delete(key);
        const verdict = stoppedVerdict('import', e.toJSON());
        o.onEvent({ at, drive: dir, outcome: outcomeOf(verdict), verdict, error: e.toJSON() });
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
