/**
 * A node's home folder: node.json (public config), identity.json (public card),
 * secret-key.json (0600), state.db (trust store, audit log, exports, acks).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, FerryError, refusedError, usageError } from '../errors.js';
import { fromB64, toB64 } from '../format/encoding.js';
import { nodeKeysFrom, type NodeKeys, type Role, type SecretKeys } from '../keys/identity.js';

export interface NodeConfig {
  format: 'ferry-node';
  version: 1;
  id: string;
  name: string;
  role: Role;
  created: string;
  /** hub: the hub database; facility: the EMR database whose tables are tracked (set by `track`) */
  db?: string;
}

export const HOME_FILES = {
  config: 'node.json',
  card: 'identity.json',
  secret: 'secret-key.json',
  state: 'state.db',
  quarantine: 'quarantine',
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
  return c as NodeConfig;
}

/** Write a small file durably: temp name, fsync, rename. */
export function writeFileDurably(path: string, data: string, mode = 0o644): void {
  const fd = openSync(path, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeConfig(home: string, c: NodeConfig): void {
  writeFileDurably(join(home, HOME_FILES.config), `${JSON.stringify(c, null, 2)}\n`);
}

interface SecretKeyFile {
  format: 'ferry-secret-key';
  version: 1;
  id: string;
  signing_seed: string;
  encryption_secret: string;
}

/** Create the secret key file: created 0600 with O_EXCL, never world-readable even for a moment. */
export function writeSecretKeys(home: string, id: string, keys: SecretKeys): void {
  const path = join(home, HOME_FILES.secret);
  const body: SecretKeyFile = { format: 'ferry-secret-key', version: 1, id, signing_seed: toB64(keys.signingSeed), encryption_secret: toB64(keys.encryptionSecret) };
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function loadNodeKeys(home: string, config: NodeConfig): NodeKeys {
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
  const signingSeed = fromB64(f.signing_seed ?? '', 32);
  const encryptionSecret = fromB64(f.encryption_secret ?? '', 32);
  if (f.format !== 'ferry-secret-key' || f.id !== config.id || !signingSeed || !encryptionSecret) {
    throw usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `${path} is not the secret key of node ${config.id}`, { where: path, hint: 'restore it from a backup' });
  }
  return nodeKeysFrom({ signingSeed, encryptionSecret }, { id: config.id, name: config.name, role: config.role, created: config.created });
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}
