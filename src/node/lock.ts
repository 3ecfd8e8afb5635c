/**
 * One ferry process at a time per node (cron overlap, two drives plugged in at once). The lock
 * is a file created with O_EXCL holding the owner's pid, host and start time. A lock whose
 * process is gone (same host, pid not running) is stale: it is removed and taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, FerryError } from '../core/errors.js';

export const LOCK_FILE = 'lock';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
  command: string;
}

function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

export interface HeldLock {
  release(): void;
  /** true when a stale lock of a dead process was cleared to take this one */
  clearedStale?: LockInfo;
}

function tryTake(path: string, command: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), command }));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return false;
    throw err;
  }
}

/** Take the node's lock, waiting up to `waitMs`; throws a `busy` FerryError if it stays held. */
export async function acquireLock(home: string, command: string, waitMs: number): Promise<HeldLock> {
  const path = join(home, LOCK_FILE);
  const deadline = Date.now() + waitMs;
  let clearedStale: LockInfo | undefined;
  for (;;) {
    if (tryTake(path, command)) {
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          const now = readLock(path);
          if (now && now.pid === process.pid) rmSync(path, { force: true });
        },
        ...(clearedStale ? { clearedStale } : {}),
      };
    }
    const holder = readLock(path);
    if (holder && holder.host === hostname() && !alive(holder.pid)) {
      // Stale: its process was killed. Remove it only if it is still the same lock.
      const again = readLock(path);
      if (again && again.pid === holder.pid && again.since === holder.since) {
        rmSync(path, { force: true });
        clearedStale = holder;
        continue;
      }
    }
    if (!holder) {
      // Being written right now, or unreadable: give it a moment.
      await new Promise((r) => setTimeout(r, 50));
      if (Date.now() > deadline && !readLock(path)) rmSync(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new FerryError(ErrorCodes.LOCKED, 'busy', `another ferry (${holder.command}, pid ${holder.pid} on ${holder.host}, since ${holder.since}) is working on this node`, {
        hint: waitMs > 0 ? 'it is still running; try again later or give a longer --wait' : 'wait for it to finish, or pass --wait SECONDS to queue behind it',
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
