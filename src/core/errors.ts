/**
 * Typed errors with stable codes. Every failure a user can meet is a FerryError with a code
 * that scripts may rely on, a one-line message, and a hint that says what to do next.
 * The CLI maps `kind` (and a few codes) to exit codes; the core never exits.
 */

/** What sort of failure this is: decides the exit code and how it is shown. */
export type ErrorKind =
  /** bad flags, missing home, wrong role, unreadable config: exit 2 */
  | 'usage'
  /** an input (bundle, ack, card, drive) was refused; the operation could not do its job: exit 3 */
  | 'refused'
  /** the environment failed us: drive full, read-only, I/O error: exit 3 */
  | 'io'
  /** another ferry holds the lock: exit 4 */
  | 'busy'
  /** the user stopped it: exit 130 */
  | 'cancelled'
  /** a bug in ferry: exit 70 */
  | 'bug';

/** Stable error codes. Never rename one: scripts and docs refer to them. */
export const ErrorCodes = {
  // usage and configuration
  USAGE: 'usage',
  NO_HOME: 'home-missing',
  HOME_EXISTS: 'home-exists',
  BAD_NODE_ID: 'node-id-invalid',
  WRONG_ROLE: 'wrong-role',
  CONFIG_INVALID: 'config-invalid',
  DB_MISSING: 'database-missing',
  /** a database made by an older ferry: a state.db refused by a command that only reads (one that writes migrates it); a hub database refused by every command but `ferry migrate` */
  DB_OUTDATED: 'database-outdated',
  /** a database that is there but cannot be opened (permissions, a damaged file): not a missing one */
  DB_UNREADABLE: 'database-unreadable',
  NO_HUB: 'no-hub-trusted',
  /** a PostgreSQL hub database that refuses the login: wrong or missing password, no such role or database, not allowed by pg_hba.conf */
  DB_LOGIN: 'database-login',
  /** a PostgreSQL hub database that cannot be reached (server down, wrong host or socket) or went away during a command */
  DB_UNREACHABLE: 'database-unreachable',
  /** two import stations' transactions deadlocked (both changing the hub's tables): this bundle was rolled back whole */
  DB_BUSY: 'database-busy',
  /** a PostgreSQL database that holds something other than a ferry hub, or a newer ferry's */
  DB_NOT_FERRY: 'database-not-ferry',
  // keys and trust
  SECRET_KEY_UNREADABLE: 'secret-key-unreadable',
  SECRET_KEY_EXPOSED: 'secret-key-exposed',
  PASSPHRASE_NEEDED: 'passphrase-needed',
  PASSPHRASE_WRONG: 'passphrase-wrong',
  PASSPHRASE_WEAK: 'passphrase-too-short',
  PASSPHRASE_MISMATCH: 'passphrase-mismatch',
  CARD_INVALID: 'card-invalid',
  CARD_WRONG_ROLE: 'card-wrong-role',
  KEY_CHANGED: 'peer-key-changed',
  PEER_UNKNOWN: 'peer-unknown',
  /** trusting a card of a revoked peer without --reinstate */
  PEER_REVOKED: 'peer-revoked',
  // container and format
  NOT_A_FERRY_FILE: 'not-a-ferry-file',
  ZIP_INVALID: 'zip-invalid',
  ZIP_ENTRY_UNEXPECTED: 'zip-entry-unexpected',
  ZIP_ENTRY_DUPLICATE: 'zip-entry-duplicate',
  ZIP_ENTRY_MISSING: 'zip-entry-missing',
  ZIP_ENTRY_TOO_LARGE: 'zip-entry-too-large',
  MANIFEST_INVALID: 'manifest-invalid',
  VERSION_UNSUPPORTED: 'version-unsupported',
  // authenticity and integrity
  SIGNER_UNKNOWN: 'signer-unknown',
  SIGNER_REVOKED: 'signer-revoked',
  SIGNATURE_INVALID: 'signature-invalid',
  WRONG_RECIPIENT: 'wrong-recipient',
  NO_MATCHING_KEY: 'no-matching-key',
  PAYLOAD_HASH_MISMATCH: 'payload-hash-mismatch',
  PAYLOAD_UNAUTHENTICATED: 'payload-unauthenticated',
  PAYLOAD_TRUNCATED: 'payload-truncated',
  PAYLOAD_INVALID: 'payload-invalid',
  ACK_INVALID: 'ack-invalid',
  ROTATION_INVALID: 'rotation-invalid',
  /** a record request that breaks the format (docs/FORMAT.md "Record request") */
  REQUEST_INVALID: 'request-invalid',
  KEY_RETIRED: 'signer-key-retired',
  /** a bundle id another sender already used at this hub */
  BUNDLE_ID_REUSED: 'bundle-id-reused',
  /** a bundle over one of the documented limits (decompressed size, records, tables, columns, nesting) */
  LIMIT_EXCEEDED: 'limit-exceeded',
  // capture
  TABLE_MISSING: 'table-missing',
  TABLE_NO_KEY: 'table-no-key',
  KEY_NOT_UNIQUE: 'key-not-unique',
  TABLE_NOT_TRACKED: 'table-not-tracked',
  /** a table or column name that fails the name rules (docs/FORMAT.md "Names and types") */
  NAME_INVALID: 'name-invalid',
  /** a captured change whose clock a bundle cannot carry (beyond 2^53−1, negative, not an integer) */
  CLOCK_INVALID: 'clock-invalid',
  // drive and I/O
  DRIVE_MISSING: 'drive-missing',
  DRIVE_FULL: 'drive-full',
  DRIVE_READ_ONLY: 'drive-read-only',
  DRIVE_IO: 'drive-io-error',
  READBACK_FAILED: 'readback-failed',
  RECORD_TOO_LARGE: 'record-too-large',
  /** a FERRY folder (or a file in it) that is a link, or leads off the drive */
  DRIVE_UNSAFE: 'drive-unsafe',
  /** quarantine holds its documented maximum: a refused file was reported, not copied */
  QUARANTINE_FULL: 'quarantine-full',
  // hub
  CONFLICT_UNKNOWN: 'conflict-unknown',
  /** a table whose rows cannot take the scope asked for (ferry migrate, ferry rescope): nothing was changed */
  SCOPE_CHANGE_REFUSED: 'scope-change-refused',
  /** a backup of the hub database that could not be written or failed its check: nothing was changed */
  BACKUP_FAILED: 'backup-failed',
  /** a disk of the node itself (not a drive) too full for what the command must write */
  DISK_FULL: 'disk-full',
  LOCKED: 'locked',
  /** send: no row of that table and key from that facility at the hub */
  RECORD_NOT_FOUND: 'record-not-found',
  /** requests approve|deny: no such request, or one already decided */
  REQUEST_UNKNOWN: 'request-unknown',
  // generic
  CANCELLED: 'cancelled',
  INTERNAL: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface FerryErrorOptions {
  hint?: string;
  cause?: unknown;
  /** where the problem is: a file, a zip entry, a field */
  where?: string;
}

export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly where: string | undefined;

  constructor(code: ErrorCode, kind: ErrorKind, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.kind = kind;
    this.hint = options.hint;
    this.where = options.where;
  }

  /** A plain object for --json output and audit records. */
  toJSON(): { code: ErrorCode; kind: ErrorKind; message: string; hint?: string; where?: string } {
    return {
      code: this.code,
      kind: this.kind,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.where ? { where: this.where } : {}),
    };
  }
}

export const usageError = (code: ErrorCode, message: string, o?: FerryErrorOptions) =>
  new FerryError(code, 'usage', message, o);
export const refusedError = (code: ErrorCode, message: string, o?: FerryErrorOptions) =>
  new FerryError(code, 'refused', message, o);
export const ioError = (code: ErrorCode, message: string, o?: FerryErrorOptions) =>
  new FerryError(code, 'io', message, o);

/**
 * Wrap anything thrown into a FerryError; unknown errors are bugs. Their own message is not
 * copied: it may quote the data that tripped them (JSON.parse quotes its input, a TypeError the
 * value, SQLite the statement), and this message goes to the audit log and quarantine reasons.
 * The class and code say what kind of bug; FERRY_DEBUG=1 prints the whole error on stderr.
 */
export function asFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const name = err instanceof Error ? err.name : typeof err;
  const raw = (err as { code?: unknown } | null | undefined)?.code;
  const code = typeof raw === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(raw) ? raw : undefined;
  return new FerryError(ErrorCodes.INTERNAL, 'bug', `internal error: ${name}${code ? ` ${code}` : ''}`, {
    cause: err,
    hint: 'this is a bug in ferry; please report it with the command you ran (FERRY_DEBUG=1 shows the details)',
  });
}
