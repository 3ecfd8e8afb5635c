/**
 * Where passphrases come from. The core asks a PassphraseSource; the default reads the
 * environment (unattended hubs), the CLI adds a prompt on a terminal. Passphrases are never
 * logged, audited or printed.
 */
import { readFileSync, statSync } from 'node:fs';
import { ErrorCodes, FerryError, refusedError, usageError } from '../core/errors.js';
import { DEFAULT_KDF_LOG_N } from '../keys/sealed-secret.js';

/** unlock: open the key; create: seal a new node's key; change: the new passphrase of `ferry passphrase`. */
export type PassphrasePurpose = 'unlock' | 'create' | 'change';

export interface PassphraseRequest {
  purpose: PassphrasePurpose;
  node: string;
  /** 1 for the first ask; more after a wrong passphrase from a source that can ask again */
  attempt: number;
}

export interface PassphraseAnswer {
  passphrase: string;
  /** true when asking again may give another answer (a person at a prompt) */
  canRetry: boolean;
}

/** undefined: this source has no passphrase to give */
export type PassphraseSource = (r: PassphraseRequest) => Promise<PassphraseAnswer | undefined>;

const ENV_NAMES: Record<PassphrasePurpose, { value: string; file: string }> = {
  unlock: { value: 'FERRY_PASSPHRASE', file: 'FERRY_PASSPHRASE_FILE' },
  create: { value: 'FERRY_PASSPHRASE', file: 'FERRY_PASSPHRASE_FILE' },
  change: { value: 'FERRY_NEW_PASSPHRASE', file: 'FERRY_NEW_PASSPHRASE_FILE' },
};

/** The first line of a passphrase file, which must be readable by its owner only (like the key). */
function passphraseFromFile(path: string, variable: string): string {
  let text: string;
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0) {
      throw refusedError(ErrorCodes.SECRET_KEY_EXPOSED, `${path} (${variable}) can be read by other users (mode ${(st.mode & 0o777).toString(8)})`, {
        where: path,
        hint: `run \`chmod 600 ${path}\``,
      });
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw usageError(ErrorCodes.PASSPHRASE_NEEDED, `cannot read ${path} (${variable})`, { where: path, cause: err, hint: `check ${variable} names a file you can read` });
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

/** FERRY_PASSPHRASE / FERRY_PASSPHRASE_FILE; FERRY_NEW_PASSPHRASE / FERRY_NEW_PASSPHRASE_FILE for a change. */
export function envPassphrase(env: NodeJS.ProcessEnv = process.env): PassphraseSource {
  return async ({ purpose }) => {
    const names = ENV_NAMES[purpose];
    const value = env[names.value];
    if (value !== undefined && value !== '') return { passphrase: value, canRetry: false };
    const file = env[names.file];
    if (file) return { passphrase: passphraseFromFile(file, names.file), canRetry: false };
    return undefined;
  };
}

/** Ask each source in turn; the first with an answer wins. */
export function firstOf(...sources: PassphraseSource[]): PassphraseSource {
  return async (r) => {
    for (const source of sources) {
      const answer = await source(r);
      if (answer) return answer;
    }
    return undefined;
  };
}

export function passphraseNeeded(r: PassphraseRequest): Error {
  const names = ENV_NAMES[r.purpose];
  const what = r.purpose === 'change' ? `the new passphrase for ${r.node}` : r.purpose === 'create' ? `a passphrase to protect the keys of ${r.node}` : `the passphrase of ${r.node}`;
  return usageError(ErrorCodes.PASSPHRASE_NEEDED, `${what} is needed and there is no terminal to ask on`, {
    hint: `run it on a terminal, or set ${names.value} (or ${names.file}, a file readable by you only) for unattended use`,
  });
}

/** The scrypt cost for key files written now: FERRY_SCRYPT_LOG_N lowers it for tests, raises it for fast machines. */
export function kdfLogNFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FERRY_SCRYPT_LOG_N;
  if (raw === undefined || raw === '') return DEFAULT_KDF_LOG_N;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw usageError(ErrorCodes.USAGE, `FERRY_SCRYPT_LOG_N must be an integer, not "${raw}"`, { hint: 'unset it to use the default (17)' });
  return n;
}

/**
 * A source that remembers the passphrase that unlocked the keys, for reuse: sealing rotated
 * keys with it, handing it to the TUI's worker. After a wrong try, the last answer is the one.
 */
export function rememberingUnlock(source: PassphraseSource): { source: PassphraseSource; unlockedWith: () => string | undefined } {
  let given: string | undefined;
  return {
    source: async (r) => {
      const answer = await source(r);
      if (r.purpose === 'unlock') given = answer?.passphrase;
      return answer;
    },
    unlockedWith: () => given,
  };
}

/** A passphrase known to the program itself: the demo's throw-away nodes, benchmarks and tests. */
export const fixedPassphrase =
  (passphrase: string): PassphraseSource =>
  async () => ({ passphrase, canRetry: false });
