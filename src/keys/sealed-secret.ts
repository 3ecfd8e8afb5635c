/**
 * Secret keys at rest: sealed with a key derived from a passphrase (scrypt from node:crypto,
 * then NaCl secretbox). A stolen laptop or a copied home folder gives the thief ciphertext and
 * the scrypt cost of every guess, not the node's keys.
 *
 * The scrypt cost is stored in the file, so a file written at a low cost (tests) or a high one
 * (a fast hub) opens anywhere; reading refuses costs outside [MIN_LOG_N, MAX_LOG_N] so that an
 * edited file cannot make ferry allocate gigabytes.
 */
import { scrypt } from 'node:crypto';
import nacl from 'tweetnacl';
import { ErrorCodes, usageError } from '../core/errors.js';
import { canonicalJson, fromB64, toB64, utf8 } from '../format/encoding.js';
import type { RandomBytes, SecretKeys } from '../format/identity.js';

/** 2^17 × r=8 × 128 bytes = 128 MiB and about 0.6 s per unlock on the reference machine (docs/SECURITY.md). */
export const DEFAULT_KDF_LOG_N = 17;
export const MIN_KDF_LOG_N = 10;
export const MAX_KDF_LOG_N = 20;
export const MIN_PASSPHRASE_CHARS = 8;

export interface KdfParams {
  name: 'scrypt';
  log_n: number;
  r: number;
  p: number;
  salt: string;
}

/** The part of secret-key.json (version 2) that this module reads and writes. */
export interface SealedSecret {
  kdf: KdfParams;
  nonce: string;
  sealed: string;
}

function deriveKey(passphrase: string, kdf: KdfParams, salt: Uint8Array): Promise<Uint8Array> {
  const N = 2 ** kdf.log_n;
  return new Promise((resolve, reject) => {
    // NFC so that the same passphrase typed on two keyboards derives the same key.
    scrypt(utf8(passphrase.normalize('NFC')), salt, nacl.secretbox.keyLength, { N, r: kdf.r, p: kdf.p, maxmem: 128 * N * kdf.r + 4 * 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key));
    });
  });
}

/** Refuse a passphrase too short to be worth a KDF; before anything is written. */
export function checkNewPassphrase(passphrase: string): void {
  if ([...passphrase.normalize('NFC')].length < MIN_PASSPHRASE_CHARS) {
    throw usageError(ErrorCodes.PASSPHRASE_WEAK, `the passphrase must have at least ${MIN_PASSPHRASE_CHARS} characters`, {
      hint: 'use a few unrelated words; write it down where the node’s IT officer keeps the site’s other credentials',
    });
  }
}

export async function sealSecretKeys(id: string, keys: SecretKeys, passphrase: string, o: { logN?: number; random: RandomBytes }): Promise<SealedSecret> {
  checkNewPassphrase(passphrase);
  const logN = o.logN ?? DEFAULT_KDF_LOG_N;
  if (!Number.isInteger(logN) || logN < MIN_KDF_LOG_N || logN > MAX_KDF_LOG_N) {
    throw usageError(ErrorCodes.USAGE, `the scrypt cost 2^${logN} is outside 2^${MIN_KDF_LOG_N}..2^${MAX_KDF_LOG_N}`, { hint: 'unset FERRY_SCRYPT_LOG_N to use the default' });
  }
  const salt = o.random(16);
  const kdf: KdfParams = { name: 'scrypt', log_n: logN, r: 8, p: 1, salt: toB64(salt) };
  const key = await deriveKey(passphrase, kdf, salt);
  const nonce = o.random(nacl.secretbox.nonceLength);
  // The id is sealed with the keys: a sealed blob moved into another node's file is refused.
  const plain = utf8(canonicalJson({ id, signing_seed: toB64(keys.signingSeed), encryption_secret: toB64(keys.encryptionSecret) }));
  return { kdf, nonce: toB64(nonce), sealed: toB64(nacl.secretbox(plain, nonce, key)) };
}

/**
 * Open a sealed secret with a passphrase. Throws `passphrase-wrong` when the passphrase does not
 * open it (secretbox cannot tell a wrong passphrase from a damaged file; the hint says both).
 */
export async function openSealedSecret(s: SealedSecret, id: string, passphrase: string, where: string): Promise<SecretKeys> {
  const bad = (what: string) => usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `${where}: ${what}`, { where, hint: 'restore the file from a backup' });
  const kdf = s.kdf as Partial<KdfParams> | undefined;
  const salt = fromB64(kdf?.salt ?? '', 16);
  const nonce = fromB64(s.nonce ?? '', nacl.secretbox.nonceLength);
  const sealed = fromB64(s.sealed ?? '');
  if (!kdf || kdf.name !== 'scrypt' || !salt || !nonce || !sealed) throw bad('the sealed key is incomplete');
  if (!Number.isInteger(kdf.log_n) || kdf.log_n! < MIN_KDF_LOG_N || kdf.log_n! > MAX_KDF_LOG_N || kdf.r !== 8 || kdf.p !== 1) {
    throw bad(`unsupported scrypt parameters (log_n ${String(kdf.log_n)}, r ${String(kdf.r)}, p ${String(kdf.p)})`);
  }
  const key = await deriveKey(passphrase, kdf as KdfParams, salt);
  const plain = nacl.secretbox.open(sealed, nonce, key);
  if (!plain) {
    throw usageError(ErrorCodes.PASSPHRASE_WRONG, `the passphrase does not open the secret key of ${id}`, {
      where,
      hint: 'check FERRY_PASSPHRASE (or what you typed) and try again; if it is right, the key file is damaged: restore it from a backup',
    });
  }
  let inner: { id?: unknown; signing_seed?: unknown; encryption_secret?: unknown };
  try {
    inner = JSON.parse(Buffer.from(plain).toString('utf8')) as typeof inner;
  } catch {
    throw bad('the sealed key is not ferry key material');
  }
  const signingSeed = typeof inner.signing_seed === 'string' ? fromB64(inner.signing_seed, 32) : undefined;
  const encryptionSecret = typeof inner.encryption_secret === 'string' ? fromB64(inner.encryption_secret, 32) : undefined;
  if (inner.id !== id || !signingSeed || !encryptionSecret) throw bad(`the sealed key is not the key of node ${id}`);
  return { signingSeed, encryptionSecret };
}
