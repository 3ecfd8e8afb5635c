/**
 * A copy of the hub database taken before `ferry migrate` or `ferry rescope` change it: made by
 * SQLite itself (VACUUM INTO: a consistent snapshot, WAL included), private to the owner like the
 * database, synced, and opened again to check it before anything is changed.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, mkdirSync, openSync, statSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, ioError } from '../../core/errors.js';
import { megabytes } from '../../core/format-numbers.js';
import { freeBytes } from '../../drive/atomic-write.js';
import { createPrivateFile } from '../home.js';
import type { HubBackup } from '../hub-maintenance.js';
import type { Db } from './hub-db.js';

/** Bytes the database's pages hold (free pages are not copied): about what a copy or a rebuild of it needs. */
export function usedBytes(db: Db): number {
  const pages = Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
  return pages * Number(db.pragma('page_size', { simple: true }));
}

/** Room to leave beyond the copy itself: SQLite's own journal, and the disk not left at zero. */
const margin = (bytes: number) => Math.max(Math.ceil(bytes / 10), 16 * 1024 * 1024);

/**
 * Refuse before writing when the disk holding `dir` has less free space than `bytes` and a margin:
 * what `what` needs would otherwise fail half-way.
 */
export function checkFreeSpace(dir: string, bytes: number, what: string, then: string): void {
  const free = freeBytes(dir);
  if (free === undefined || free >= bytes + margin(bytes)) return;
  throw ioError(ErrorCodes.DISK_FULL, `not enough free space in ${dir} for ${what}: it needs about ${megabytes(bytes + margin(bytes))}, ${megabytes(free)} is free`, {
    where: dir,
    hint: `free some space on that disk (old backups in it can go to other media), then run it again; ${then}`,
  });
}

/**
 * Back the database at `dbPath` up into `folder` (made private if new) as `name`, or `name` with a
 * number when that file exists already (a backup is never overwritten). Nothing is changed in the
 * database.
 */
export function backupHubDb(db: Db, dbPath: string, folder: string, name: string): HubBackup {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const needed = usedBytes(db);
  // The change after the backup needs about as much again beside the database (its WAL): when
  // both are on one disk, there must be room for both before the backup takes its share.
  if (statSync(folder).dev === statSync(dirname(dbPath)).dev) checkFreeSpace(folder, 2 * needed, 'a backup of the hub database and the change after it', 'nothing was changed');
  else checkFreeSpace(folder, needed, 'a backup of the hub database', 'nothing was changed');
  const path = claimName(folder, name);
  try {
    db.prepare('VACUUM INTO ?').run(path);
    syncFile(path);
    syncFile(dirname(path));
    checkBackup(path);
  } catch (err) {
    unlinkSync(path);
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
      throw ioError(ErrorCodes.DISK_FULL, `the disk holding ${folder} filled up while the hub database was backed up`, { where: folder, cause: err, hint: 'free some space on that disk, then run it again; nothing was changed' });
    }
    throw err;
  }
  return { path, bytes: statSync(path).size };
}

/** An empty private file at `folder/name` (or name-2, name-3 …), created here and so never someone else's. */
function claimName(folder: string, name: string): string {
  const dot = name.lastIndexOf('.');
  for (let n = 1; ; n++) {
    const path = join(folder, n === 1 ? name : `${name.slice(0, dot)}-${n}${name.slice(dot)}`);
    if (createPrivateFile(path)) return path;
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, fsConstants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The copy opens, and SQLite finds every page and index of it sound. */
function checkBackup(path: string): void {
  const copy = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const result = copy.pragma('integrity_check', { simple: true });
    if (result !== 'ok') {
      throw ioError(ErrorCodes.BACKUP_FAILED, `the backup written to ${path} fails SQLite's integrity check`, {
        where: path,
        hint: 'the disk holding it may be failing: back up to another disk (move the node folder\'s backups folder) and run it again; nothing was changed',
      });
    }
  } finally {
    copy.close();
  }
}
