/**
 * What `ferry migrate` and `ferry rescope` share: where backups go, what they are called, and what
 * a failure after the backup says (the transaction left the database as it was; the backup is there).
 */
import { join } from 'node:path';
import { asFerryError, FerryError, type FerryErrorOptions } from '../core/errors.js';
import type { OpContext } from '../node/context.js';

/** The node folder's backups folder: private, beside the keys and state the node already keeps there. */
export const backupsFolder = (ctx: OpContext): string => join(ctx.home, 'backups');

/** e.g. hub-before-migrate-20260301T101500Z.db: sorts by time, and says what it was taken before. */
export function backupName(command: string, at: Date): string {
  const stamp = at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  return `hub-before-${command}-${stamp}.db`;
}

/** The error, saying that the database is unchanged and where the backup taken before is. */
export function unchangedSince(err: unknown, backup: string): FerryError {
  const e = asFerryError(err);
  const o: FerryErrorOptions = { cause: err };
  if (e.hint !== undefined) o.hint = e.hint;
  if (e.where !== undefined) o.where = e.where;
  return new FerryError(e.code, e.kind, `${e.message}; the hub database was left as it was (the backup taken before is ${backup})`, o);
}
