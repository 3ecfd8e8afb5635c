/**
 * What a failure while reading a ferry file means. Only the file's own fault is a refusal: a
 * zip that unzipper cannot parse, a stream zlib cannot inflate, or a check of ferry's own. A
 * failed system call is the drive failing under the file (an I/O error: the bundle is not to
 * blame and is read again next time). Anything else is a bug in ferry and is rethrown as it is,
 * so that it stops the command (exit 70) instead of quarantining a good bundle as "inconsistent".
 * The same rules as node/item-failure.ts's driveFileFailure, which format/ may not import.
 */
import { ErrorCodes, FerryError, ioError } from '../core/errors.js';

/** A failed system call (EIO, EACCES, ENOENT, ENXIO...): Node sets `syscall` on exactly those. */
export function isSystemCallError(err: unknown): err is Error & { code: string; syscall: string } {
  const e = err as { code?: unknown; syscall?: unknown } | null;
  return typeof e?.syscall === 'string' && typeof e.code === 'string';
}

/** zlib's own errors for a stream it cannot inflate (Z_DATA_ERROR, Z_BUF_ERROR, ...). */
export function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}

/**
 * unzipper's errors for a malformed directory: it reads past the end of the file (FILE_ENDED) or
 * meets a broken ZIP64 record. It throws plain Errors, told apart only by their message.
 */
export function isZipParseError(err: unknown): boolean {
  return err instanceof Error && !isSystemCallError(err) && (err.message === 'FILE_ENDED' || err.message.startsWith('invalid zip64 end of central dir'));
}

/**
 * The failure as a FerryError: ferry's own as it is, a failed system call as an I/O error of
 * `path`, one that `isFilesFault` says is the file's as `refusal()`. Rethrows everything else.
 */
export function readFailure(err: unknown, path: string, isFilesFault: (err: unknown) => boolean, refusal: () => FerryError): FerryError {
  if (err instanceof FerryError) return err;
  if (isSystemCallError(err)) return ioError(ErrorCodes.DRIVE_IO, `${path}: ${err.code}`, { where: path, cause: err, hint: 'the drive failed while it was read; check it and import again' });
  if (isFilesFault(err)) return refusal();
  throw err;
}

/** For reads where nothing but a system call can fail (ferry's checks come as FerryErrors). */
export const neverFilesFault = () => false;
