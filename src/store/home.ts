/**
 * A node's home folder: node.json (public config), identity.json (public card),
 * secret-key.json (0600), state.db (trust store, audit log, exports, acks).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, existsSync, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrorCodes, FerryError, refusedError, usageError } from '../core/errors.js';
import { fromB64 } from '../format/encoding.js';
import { parseCard, type PublicIdentity, type Role, type SecretKeys } from '../format/identity.js';
import type { SealedSecret } from '../keys/sealed-secret.js';

export interface NodeConfig {
  format: 'ferry-node';
  version: 1;
  id: string;
  name: string;
  role: Role;
  created: string;
  /** hub: the hub database; facility: the EMR database whose tables are tracked (set by `track`) */
  db?: string;
  /** hub on PostgreSQL: a file only its owner may read holding the database password (never the password itself) */
  db_password_file?: string;
  /** facility: where the rows the hub sends it go (default HOME/received.db): never the EMR's own database */
  received_db?: string;
  /** hub: how facilities' record requests are answered: auto (the default: at once, for enrolled facilities) or approve (held for an operator) */
  request_policy?: RequestPolicy;
}

export type RequestPolicy = 'auto' | 'approve';
export const REQUEST_POLICIES: readonly RequestPolicy[] = ['auto', 'approve'];

export const HOME_FILES = {
  config: 'node.json',
  card: 'identity.json',
  secret: 'secret-key.json',
  state: 'state.db',
  quarantine: 'quarantine',
  /** a facility's received database: the rows its hub sent it */
  received: 'received.db',
} as const;

/** --home, else FERRY_HOME, else ~/.ferry */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.FERRY_HOME ?? join(homedir(), '.ferry'));
}

export function readConfig(home: string): NodeConfig {
  const path = join(home, HOME_FILES.config);
  if (!existsSync(path)) {
    throw usageError(ErrorCodes.NO_HOME, `no ferry node in ${home}`, {
      where: home,
      hint: 'create one with `ferry init --role facility|hub --id ID`, or point --home / FERRY_HOME at an existing node',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `${path} is not valid JSON`, { where: path, cause: err, hint: 'restore it from a backup' });
  }
  const c = value as Partial<NodeConfig>;
  if (c?.format !== 'ferry-node' || c.version !== 1 || typeof c.id !== 'string' || (c.role !== 'facility' && c.role !== 'hub')) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `${path} is not a ferry node configuration`, { where: path, hint: 'restore it from a backup' });
  }
  if (c.received_db !== undefined && (typeof c.received_db !== 'string' || c.received_db === '' || (c.db !== undefined && resolve(home, c.received_db) === resolve(home, c.db)))) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `${path}: received_db must be a file path other than the EMR's database`, { where: path, hint: 'give the received database a file of its own, or remove "received_db" to use the home folder' });
  }
  if (c.request_policy !== undefined && !REQUEST_POLICIES.includes(c.request_policy)) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `${path}: request_policy must be "auto" or "approve"`, { where: path, hint: 'set it with `ferry requests policy auto|approve`' });
  }
  return c as NodeConfig;
}

/**
 * Write a small file durably: a temp file beside it (created exclusively, 0600 until it holds
 * everything), fsync, its final mode, rename over the old one, fsync the folder. A power cut
 * leaves the old file or the new one, never a mix; a link planted at the name is replaced, not
 * followed; a reader holding the old file keeps reading the old content.
 */
export function writeFileDurably(path: string, data: string, mode = 0o644): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.partial`);
  const fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
  try {
    try {
      writeSync(fd, data);
      fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const errCode = (err: unknown) => (err as { code?: string }).code;

/**
 * Create a file that will hold private data (a SQLite database) with mode 0600, before SQLite
 * opens it: SQLite would create it 0644 less the umask, whatever the folder's mode, and its
 * -wal and -shm files take the database's mode. Created exclusively; a file already there and
 * empty (left by a crash between this and SQLite's first write) is set to 0600; one with
 * content is left as it is. Returns true when this call created the file.
 */
export function createPrivateFile(path: string): boolean {
  try {
    const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
    try {
      fchmodSync(fd, 0o600); // a umask such as 0277 would have taken the owner's write too
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
  }
  withExistingFile(path, (fd, st) => {
    if (st.size === 0 && (st.mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
  });
  return false;
}

/**
 * Take group's and others' access away from a file of ferry's own (in its home); absent is fine,
 * and so is a file of another user (the owner's to fix; SQLite says so if it matters).
 */
export function keepPrivate(path: string): void {
  withExistingFile(path, (fd, st) => {
    if ((st.mode & 0o077) === 0) return;
    try {
      fchmodSync(fd, st.mode & 0o700);
    } catch (err) {
      if (errCode(err) !== 'EPERM') throw err;
    }
  });
}

/** Open an existing regular file without blocking (a FIFO planted at the name), for fstat and fchmod. */
function withExistingFile(path: string, fn: (fd: number, st: Stats) => void): void {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile()) fn(fd, st);
  } finally {
    closeSync(fd);
  }
}

export function writeConfig(home: string, c: NodeConfig): void {
  writeFileDurably(join(home, HOME_FILES.config), `${JSON.stringify(c, null, 2)}\n`);
}

/** secret-key.json: version 2 holds the keys sealed with a passphrase; version 1 (plain) is read for migration only. */
type SecretKeyFile =
  | { format: 'ferry-secret-key'; version: 1; id: string; signing_seed: string; encryption_secret: string }
  | ({ format: 'ferry-secret-key'; version: 2; id: string } & SealedSecret);

export type StoredSecret = { version: 1; keys: SecretKeys } | { version: 2; sealed: SealedSecret };

export const secretKeyFileText = (id: string, sealed: SealedSecret): string =>
  `${JSON.stringify({ format: 'ferry-secret-key', version: 2, id, kdf: sealed.kdf, nonce: sealed.nonce, sealed: sealed.sealed } satisfies SecretKeyFile, null, 2)}\n`;

function writeExclusive(path: string, data: string, mode = 0o600): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Create the secret key file: created 0600 with O_EXCL, never readable by others even for a moment. */
export function writeSecretKeys(home: string, id: string, sealed: SealedSecret): void {
  writeExclusive(join(home, HOME_FILES.secret), secretKeyFileText(id, sealed));
}

/**
 * Replace a file in the home folder: the new one is written (with its final mode) beside the
 * old one and renamed over it, so a power cut leaves the old file or the new one, never neither.
 */
export function replaceHomeFile(home: string, name: string, data: string, mode: number): void {
  writeFileDurably(join(home, name), data, mode);
}

/** A new passphrase, or rotated keys: the secret key file is replaced, 0600 throughout. */
export function replaceSecretKeys(home: string, id: string, sealed: SealedSecret): void {
  replaceHomeFile(home, HOME_FILES.secret, secretKeyFileText(id, sealed), 0o600);
}

/** Read secret-key.json, refusing it if other users can read it. Nothing is decrypted here. */
export function readSecretKeyFile(home: string, id: string): StoredSecret {
  const path = join(home, HOME_FILES.secret);
  let text: string;
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0) {
      throw refusedError(ErrorCodes.SECRET_KEY_EXPOSED, `${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)})`, {
        where: path,
        hint: `run \`chmod 600 ${path}\`; if others may have copied it, make a new node and re-enrol it`,
      });
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `cannot read the secret key ${path}`, { where: path, cause: err, hint: 'check the file exists and that you run ferry as its owner' });
  }
  let f: Partial<SecretKeyFile>;
  try {
    f = JSON.parse(text) as Partial<SecretKeyFile>;
  } catch (err) {
    throw usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `${path} is not valid JSON`, { where: path, cause: err, hint: 'restore it from a backup' });
  }
  const notOurs = () => usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `${path} is not the secret key of node ${id}`, { where: path, hint: 'restore it from a backup' });
  if (f.format !== 'ferry-secret-key' || f.id !== id) throw notOurs();
  if (f.version === 2) return { version: 2, sealed: { kdf: f.kdf!, nonce: f.nonce!, sealed: f.sealed! } };
  if (f.version === 1) {
    const signingSeed = fromB64(f.signing_seed ?? '', 32);
    const encryptionSecret = fromB64(f.encryption_secret ?? '', 32);
    if (!signingSeed || !encryptionSecret) throw notOurs();
    return { version: 1, keys: { signingSeed, encryptionSecret } };
  }
  throw usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `${path} has an unknown version (${String((f as { version?: unknown }).version)})`, { where: path, hint: 'use the ferry release that wrote it, or restore it from a backup' });
}

/** The node's public card (identity.json): what status, inspect and identity show without unlocking anything. */
export function readOwnCard(home: string, config: NodeConfig): PublicIdentity {
  const path = join(home, HOME_FILES.card);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `cannot read ${path}`, { where: path, cause: err, hint: 'restore it from a backup' });
  }
  return parseOwnCard(text, path, config);
}

/** The node's card from its text (identity.json, or the one a decided rotation will write there). */
export function parseOwnCard(text: string, path: string, config: NodeConfig): PublicIdentity {
  const card = parseCard(text, path);
  if (card.id !== config.id || card.role !== config.role) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `${path} is the card of ${card.id} (${card.role}), not of this node ${config.id} (${config.role})`, { where: path, hint: 'restore it from a backup' });
  }
  return card;
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}
