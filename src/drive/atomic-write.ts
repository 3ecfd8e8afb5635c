/**
 * Durable writes onto a drive: write under a temporary `.partial` name, fsync, rename, fsync the
 * folder. A failure removes the partial file and is reported in plain words (full, read-only).
 *
 * The temporary name is unpredictable (`.<name>.<16 random hex>.partial`) and created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, so a link planted on the drive can never be written through; the
 * final name is reached by rename, which replaces whatever is there (a link included) without
 * following it. The folder is checked (real folder, on the drive) just before each write.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, createWriteStream, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, statfsSync, unlinkSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, FerryError, ioError } from '../core/errors.js';
import { megabytes } from '../core/format-numbers.js';
import { checkDriveFolder, PARTIAL_SUFFIX } from './layout.js';

export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/** Turn an fs error on a drive into a typed, plain-words error. */
export function driveError(err: unknown, dir: string, neededBytes?: number): FerryError {
  if (err instanceof FerryError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    const free = freeBytes(dir);
    const need = neededBytes !== undefined && neededBytes > 0 ? `needs about ${megabytes(neededBytes)}` : 'needs more space';
    return ioError(ErrorCodes.DRIVE_FULL, `the drive at ${dir} is full: the export ${need}, ${free !== undefined ? `${megabytes(free)} was free` : 'free space unknown'}`, {
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

const absent = (path: string) => {
  try {
    lstatSync(path);
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return true;
    throw err;
  }
};

/**
 * Create a FERRY folder (DRIVE/FERRY/<kind>) and FERRY itself if missing, one level at a time:
 * Node's recursive mkdir reports ENOENT on a read-only file system, which would hide the real
 * reason (EROFS) from the user. Then both must be real folders on the drive (drive-unsafe).
 */
export function ensureDriveDir(dir: string): void {
  const ferry = dirname(dir);
  const root = dirname(ferry);
  for (const d of [ferry, dir]) {
    try {
      // lstat, not exists: a dangling link is there, and must be refused, not mkdir'ed through.
      if (absent(d)) mkdirSync(d);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw driveError(err, d);
    }
    checkDriveFolder(root, d);
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
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
  // A bundle's name depends on what went into it: its temporary name says only what it is.
  const stem = typeof finalName === 'string' ? finalName : 'ferry';
  // Real randomness, never the injectable ctx.random: the name must be unpredictable to a courier.
  const tmpPath = join(dir, `.${stem}.${randomBytes(8).toString('hex')}${PARTIAL_SUFFIX}`);
  let out: WriteStream | undefined;
  let created = false;
  try {
    const fd = openSync(tmpPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o666);
    created = true;
    // flush: fsync before the descriptor is closed, so 'close' means durable.
    out = createWriteStream(tmpPath, { fd, flush: true });
    const value = await produce(out);
    const finalPath = join(dir, typeof finalName === 'string' ? finalName : finalName(value));
    renameSync(tmpPath, finalPath);
    fsyncDir(dir);
    return { path: finalPath, value };
  } catch (err) {
    out?.destroy();
    if (created) {
      try {
        unlinkSync(tmpPath);
      } catch {
        /* the drive may be gone */
      }
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
