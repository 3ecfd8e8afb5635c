/**
 * Durable writes onto a drive: write under a temporary `.partial` name, fsync, rename, fsync the
 * folder. A failure removes the partial file and is reported in plain words (full, read-only).
 */
import { closeSync, constants as fsConstants, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statfsSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, FerryError, ioError } from '../errors.js';
import { PARTIAL_SUFFIX } from './layout.js';

export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;

/** Turn an fs error on a drive into a typed, plain-words error. */
export function driveError(err: unknown, dir: string, neededBytes?: number): FerryError {
  if (err instanceof FerryError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    const free = freeBytes(dir);
    const need = neededBytes !== undefined && neededBytes > 0 ? `needs about ${mb(neededBytes)}` : 'needs more space';
    return ioError(ErrorCodes.DRIVE_FULL, `the drive at ${dir} is full: the export ${need}, ${free !== undefined ? `${mb(free)} was free` : 'free space unknown'}`, {
      where: dir,
      cause: err,
      hint: 'free space on the drive or use a bigger one, then export again; nothing was changed',
    });
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return ioError(ErrorCodes.DRIVE_READ_ONLY, `cannot write to ${dir}: the drive is read-only or not writable by this user (${code})`, {
      where: dir,
      cause: err,
      hint: 'check the write-protect switch on the drive, or remount it read-write; nothing was changed',
    });
  }
  if (code === 'ENOENT' || code === 'ENODEV' || code === 'EIO' || code === 'ENXIO') {
    return ioError(ErrorCodes.DRIVE_IO, `the drive at ${dir} failed (${code}): was it removed?`, {
      where: dir,
      cause: err,
      hint: 'plug the drive back in and run the command again; nothing was changed',
    });
  }
  return ioError(ErrorCodes.DRIVE_IO, `cannot write to ${dir}: ${(err as Error).message}`, { where: dir, cause: err });
}

/**
 * Create `dir` and its missing parents one level at a time: Node's recursive mkdir reports
 * ENOENT on a read-only file system, which would hide the real reason (EROFS) from the user.
 */
export function ensureDriveDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw driveError(err, d);
    }
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, fsConstants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems (and some FAT drivers) refuse fsync on a folder; the rename is still done.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface AtomicWriteResult<T> {
  path: string;
  value: T;
}

/**
 * Write `finalName` in `dir` through `produce`, which writes into the given stream and resolves
 * when the stream is closed. Only a complete, fsynced file ever carries the final name.
 */
export async function writeAtomically<T>(
  dir: string,
  finalName: string | ((value: T) => string),
  produce: (out: WriteStream) => Promise<T>,
  neededBytes?: () => number,
): Promise<AtomicWriteResult<T>> {
  ensureDriveDir(dir);
  const tmpPath = join(dir, `${typeof finalName === 'string' ? finalName : `.ferry-${process.pid}-${Date.now()}`}${PARTIAL_SUFFIX}`);
  let out: WriteStream | undefined;
  try {
    out = createWriteStream(tmpPath, { flags: 'w' });
    const value = await produce(out);
    const fd = openSync(tmpPath, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const finalPath = join(dir, typeof finalName === 'string' ? finalName : finalName(value));
    renameSync(tmpPath, finalPath);
    fsyncDir(dir);
    return { path: finalPath, value };
  } catch (err) {
    out?.destroy();
    try {
      rmSync(tmpPath, { force: true });
    } catch {
      /* the drive may be gone */
    }
    throw driveError(err, dir, neededBytes?.());
  }
}

/** Write a small buffer atomically. */
export async function writeBufferAtomically(dir: string, finalName: string, data: Buffer): Promise<string> {
  const r = await writeAtomically(dir, finalName, (out) =>
    new Promise<void>((resolve, reject) => {
      out.on('error', reject);
      out.on('close', resolve);
      out.end(data);
    }),
    () => data.length,
  );
  return r.path;
}
