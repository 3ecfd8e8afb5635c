/**
 * Commands that go through a drive item by item (bundles, acks, rotation notices) report a bad
 * item and go on with the next. Only a refusal (the item is bad) or an I/O failure (the drive
 * failed under it) is such a report; anything else is a bug in ferry, which must stop the
 * command (exit 70) instead of being blamed on the item, quarantining a good bundle.
 */
import { asFerryError, ErrorCodes, FerryError, ioError } from '../core/errors.js';

/** The error as a FerryError if it is an item's refusal or I/O failure; rethrows everything else. */
export function itemFailure(err: unknown): FerryError {
  const e = asFerryError(err);
  if (e.kind === 'refused' || e.kind === 'io') return e;
  throw e;
}

/**
 * A system call on a drive file that failed (a read-only drive, an I/O error, a file removed
 * meanwhile) as an I/O failure of that item; anything else (a bug) is rethrown.
 */
export function driveFileFailure(err: unknown, path: string): FerryError {
  if (err instanceof FerryError) return itemFailure(err);
  const code = (err as { code?: unknown; syscall?: unknown } | null)?.code;
  if (typeof (err as { syscall?: unknown } | null)?.syscall !== 'string' || typeof code !== 'string') throw err;
  return ioError(ErrorCodes.DRIVE_IO, `${path}: ${code}`, { where: path, cause: err });
}
