/**
 * Opening and removing files that came from a drive. Whoever carries a drive controls every byte
 * and every file type on it: a name may be a link (to hub.db, to /dev/zero), a FIFO (whose open
 * or read blocks for ever) or a device. Such a file is refused on lstat, before it is opened; the
 * open itself refuses a link (O_NOFOLLOW) and cannot block (O_NONBLOCK); and fstat on the open
 * descriptor proves that what was opened is the regular file that was checked, so swapping the
 * name in between gains nothing. Everything is then read through that descriptor.
 */
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, unlinkSync, type Stats } from 'node:fs';
import { open, lstat, type FileHandle } from 'node:fs/promises';
import { ErrorCodes, refusedError, type FerryError } from './errors.js';

const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/** Which file an open descriptor is: a later open of the same name must find the same one. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
}

const identityOf = (st: Stats): FileIdentity => ({ dev: st.dev, ino: st.ino, size: st.size });
const sameFile = (a: FileIdentity, b: FileIdentity) => a.dev === b.dev && a.ino === b.ino && a.size === b.size;

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

export function notRegularError(path: string, what: string): FerryError {
  return refusedError(ErrorCodes.NOT_A_FERRY_FILE, `${path} is ${what}, not a regular file: ferry never follows links or reads FIFOs or devices on a drive`, {
    where: path,
    hint: 'it was not opened, read or copied; a ferry file is always a plain file, so someone put this on the drive or the drive is damaged: remove it (rm removes a link, not what it points to)',
  });
}

const missingError = (path: string) => refusedError(ErrorCodes.NOT_A_FERRY_FILE, `${path} does not exist`, { where: path });

const changedError = (path: string) =>
  refusedError(ErrorCodes.NOT_A_FERRY_FILE, `${path} was replaced while it was being read`, { where: path, hint: 'nothing of it was used; run the command again' });

/** Errors of lstat/open turned into refusals where the name itself is the problem; others pass through. */
function openFailure(path: string, err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return missingError(path);
  // ELOOP: O_NOFOLLOW met a link (put there after the lstat); ENXIO: a socket.
  if (code === 'ELOOP' || code === 'EMLINK') return notRegularError(path, 'a symbolic link');
  if (code === 'ENXIO') return notRegularError(path, 'a socket or device');
  return err;
}

function checkRegular(path: string, st: Stats): void {
  if (!st.isFile()) throw notRegularError(path, kindOf(st));
}

/** Open a drive file for reading, or throw not-a-ferry-file. The caller closes the handle. */
export async function openDriveFile(path: string): Promise<{ handle: FileHandle; identity: FileIdentity }> {
  let before: Stats;
  try {
    before = await lstat(path);
  } catch (err) {
    throw openFailure(path, err);
  }
  checkRegular(path, before);
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    throw openFailure(path, err);
  }
  try {
    const st = await handle.stat();
    checkRegular(path, st);
    if (st.dev !== before.dev || st.ino !== before.ino) throw changedError(path);
    return { handle, identity: identityOf(st) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * The same, synchronously, for a file already checked once: `expected` is what the first open
 * found; anything else under that name now is refused. Returns a raw descriptor the caller closes.
 */
export function reopenDriveFileSync(path: string, expected: FileIdentity): number {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (err) {
    throw openFailure(path, err);
  }
  try {
    const st = fstatSync(fd);
    checkRegular(path, st);
    if (!sameFile(identityOf(st), expected)) throw changedError(path);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Remove a file ferry put on the drive (a delivered or superseded bundle). Only a regular file is
 * removed; unlink removes a name and never follows it, and the FERRY folders were checked to be
 * real folders on the drive, so nothing off the drive can be removed this way.
 * Returns false when there was nothing (or nothing removable) there.
 */
export function removeDriveFile(path: string): boolean {
  try {
    if (!lstatSync(path).isFile()) return false;
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw err;
  }
}

/** lstat that says whether a name is still there, whatever it is (existsSync follows links). */
export function nameExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a regular file holding exactly `bytes` (read without following a link or blocking). */
export async function holdsExactly(path: string, bytes: Buffer): Promise<boolean> {
  let opened;
  try {
    opened = await openDriveFile(path);
  } catch {
    return false;
  }
  try {
    if (opened.identity.size !== bytes.length) return false;
    const buf = Buffer.alloc(bytes.length);
    const { bytesRead } = await opened.handle.read(buf, 0, bytes.length, 0);
    return bytesRead === bytes.length && buf.equals(bytes);
  } finally {
    await opened.handle.close();
  }
}
