/**
 * A node's identity: an Ed25519 signing key pair, an X25519 encryption key pair, an id and a
 * fingerprint short enough to read aloud. The public half travels as an identity card.
 */
import nacl from 'tweetnacl';
import { FORMAT_VERSION, IDENTITY_FORMAT } from './constants.js';
import { crockford32, fromB64, sha256, toB64, utf8 } from './encoding.js';
import { schemaProblem } from './validate.js';
import { ErrorCodes, refusedError, usageError } from '../core/errors.js';

export type Role = 'facility' | 'hub';

/** Node ids become file names on FAT32 drives: letters, digits, '.', '_', '-'; 1–64 chars. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkNodeId(id: string): string {
  if (!NODE_ID_PATTERN.test(id) || id.endsWith('.')) {
    throw usageError(ErrorCodes.BAD_NODE_ID, `"${id}" is not a valid node id`, {
      hint: 'use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit and not ending with "."; e.g. RW-017',
    });
  }
  return id;
}

/** Public keys and the fingerprint derived from them. */
export interface PublicIdentity {
  id: string;
  name: string;
  role: Role;
  signingKey: Uint8Array;
  encryptionKey: Uint8Array;
  fingerprint: string;
  created: string;
}

export interface SecretKeys {
  /** 32-byte Ed25519 seed; the 64-byte tweetnacl secret key is derived from it */
  signingSeed: Uint8Array;
  encryptionSecret: Uint8Array;
}

export interface NodeKeys {
  identity: PublicIdentity;
  signingSecretKey: Uint8Array;
  encryptionSecretKey: Uint8Array;
}

/** fingerprint = Crockford base32 of the first 10 bytes of SHA-256(label || signing || encryption), in 4 groups */
export function fingerprintOf(signingKey: Uint8Array, encryptionKey: Uint8Array): string {
  const digest = sha256(utf8('ferry/v1/fingerprint\n'), signingKey, encryptionKey);
  const text = crockford32(digest.subarray(0, 10));
  return text.match(/.{4}/g)!.join('-');
}

export type RandomBytes = (n: number) => Uint8Array;
export const defaultRandom: RandomBytes = (n) => nacl.randomBytes(n);

export function generateKeys(random: RandomBytes = defaultRandom): SecretKeys {
  return { signingSeed: random(32), encryptionSecret: random(32) };
}

export function nodeKeysFrom(secret: SecretKeys, meta: { id: string; name: string; role: Role; created: string }): NodeKeys {
  const sign = nacl.sign.keyPair.fromSeed(secret.signingSeed);
  const box = nacl.box.keyPair.fromSecretKey(secret.encryptionSecret);
  return {
    identity: {
      ...meta,
      signingKey: sign.publicKey,
      encryptionKey: box.publicKey,
      fingerprint: fingerprintOf(sign.publicKey, box.publicKey),
    },
    signingSecretKey: sign.secretKey,
    encryptionSecretKey: box.secretKey,
  };
}

export interface IdentityCard {
  format: typeof IDENTITY_FORMAT;
  version: 1;
  id: string;
  name: string;
  role: Role;
  signing_key: string;
  encryption_key: string;
  fingerprint: string;
  created: string;
}

export function toCard(p: PublicIdentity): IdentityCard {
  return {
    format: IDENTITY_FORMAT,
    version: FORMAT_VERSION as 1,
    id: p.id,
    name: p.name,
    role: p.role,
    signing_key: toB64(p.signingKey),
    encryption_key: toB64(p.encryptionKey),
    fingerprint: p.fingerprint,
    created: p.created,
  };
}

/** Parse and check an identity card's text: schema, keys, and that the fingerprint matches the keys. */
export function parseCard(text: string, where: string): PublicIdentity {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw refusedError(ErrorCodes.CARD_INVALID, `${where} is not an identity card (not JSON)`, {
      where,
      hint: 'ask the peer for the file written by `ferry identity --out FILE`',
    });
  }
  const problem = schemaProblem('identity', value);
  if (problem) {
    throw refusedError(ErrorCodes.CARD_INVALID, `${where} is not a valid identity card: ${problem}`, {
      where,
      hint: 'ask the peer for the file written by `ferry identity --out FILE`',
    });
  }
  const card = value as IdentityCard;
  const signingKey = fromB64(card.signing_key, 32);
  const encryptionKey = fromB64(card.encryption_key, 32);
  if (!signingKey || !encryptionKey) {
    throw refusedError(ErrorCodes.CARD_INVALID, `${where}: a public key is not 32 bytes of base64`, { where });
  }
  const fingerprint = fingerprintOf(signingKey, encryptionKey);
  if (fingerprint !== card.fingerprint) {
    throw refusedError(ErrorCodes.CARD_INVALID, `${where}: the fingerprint ${card.fingerprint} does not match the keys in the card (${fingerprint})`, {
      where,
      hint: 'the card was altered; get a fresh copy from the peer and compare the fingerprint aloud',
    });
  }
  return { id: card.id, name: card.name, role: card.role, signingKey, encryptionKey, fingerprint, created: card.created };
}
