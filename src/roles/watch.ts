/**
 * `ferry watch`: poll mount roots for drives that carry a FERRY/ folder and import each one once
 * per insertion. A drive is identified by its folder's device and inode, so unplugging and
 * plugging it back in counts as a new insertion. Stops between imports when `signal` aborts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { asFerryError, ErrorCodes, type FerryError } from '../core/errors.js';
import { discoverDrives } from '../drive/discover.js';
import type { OpContext } from '../node/context.js';
import type { Verdict } from '../core/verdict.js';
import { importDrive, type DriveImport } from './import.js';
import { stoppedVerdict } from './verdict.js';

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
  /** called after each look at the mount roots: lets a test unplug a drive between two looks */
  onPoll?: (polls: number) => void;
}

/** The drives under the roots that carry FERRY/, keyed by folder and FERRY's device:inode. */
export function findDrives(roots: string[]): Map<string, string> {
  return new Map(discoverDrives(roots).flatMap((d) => (d.ferry ? [[`${d.path}\u0000${d.ferry}`, d.path] as const] : [])));
}

/** Usage errors that are about the drive (pulled out before or while it was read), not the configuration. */
const DRIVE_USAGE_CODES: ReadonlySet<string> = new Set([ErrorCodes.DRIVE_MISSING]);
const aboutTheDrive = (e: FerryError) => DRIVE_USAGE_CODES.has(e.code);

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
        // A bug is ferry's, not this drive's: reporting the drive failed and trying it again every
        // poll would hide it, and `watch --once` from cron must exit 70 as `import` does. So is a
        // configuration error (no hub.db, no passphrase without a terminal): every drive would
        // fail the same way, and `watch --once` must exit 2 as `import` does. A cancelled import
        // means the whole watch was asked to stop.
        if (e.kind === 'bug' || e.kind === 'cancelled' || (e.kind === 'usage' && !aboutTheDrive(e))) throw e;
        // A drive that failed (pulled out, lock held) is tried again when it is seen anew; an
        // unsafe one stays refused until it is plugged in again (not reported every poll).
        if (e.code !== ErrorCodes.DRIVE_UNSAFE) seen.delete(key);
        const verdict = stoppedVerdict('import', e.toJSON());
        o.onEvent({ at, drive: dir, outcome: outcomeOf(verdict), verdict, error: e.toJSON() });
      }
    }
    polls++;
    o.onPoll?.(polls);
    if (o.maxPolls !== undefined && polls >= o.maxPolls) break;
    // Aborting ends the wait. The promise timer takes its abort listener off the signal when the
    // wait ends; one added per poll would pile up on a watch that runs for weeks.
    await sleep(o.intervalMs, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
