/**
 * Key rotation notices: a node's new public keys, signed by its old key (so a peer can trust
 * them without a new enrolment) and by its new key (proof that the node holds it). A small zip
 * like an ack: rotation.json (canonical JSON), old-key.sig, new-key.sig.
 */
import nacl from 'tweetnacl';
import { FORMAT_VERSION, MAX_ROTATION_BYTES, ROTATION_ENTRIES, ROTATION_FORMAT, ROTATION_SIGNING_PREFIX, SIGNATURE_BYTES } from './constants.js';
import { containerBytes, openContainer } from './container.js';
import { canonicalJson, fromB64, toB64, utf8 } from './encoding.js';
import { parseSignedJson, signedMessage } from './manifest.js';
import { ErrorCodes, refusedError } from '../core/errors.js';
import { fingerprintOf, type PublicIdentity, type Role } from './identity.js';

export interface RotationKeys {
  signing_key: string;
  encryption_key: string;
  fingerprint: string;
}

export interface RotationNotice {
  format: typeof ROTATION_FORMAT;
  version: number;
  id: string;
  role: Role;
  old: RotationKeys;
  new: RotationKeys;
  created: string;
}

export const rotationKeys = (p: Pick<PublicIdentity, 'signingKey' | 'encryptionKey' | 'fingerprint'>): RotationKeys => ({
  signing_key: toB64(p.signingKey),
  encryption_key: toB64(p.encryptionKey),
  fingerprint: p.fingerprint,
});

export function makeRotationNotice(o: { id: string; role: Role; old: RotationKeys; new: RotationKeys; created: Date }): RotationNotice {
  return { format: ROTATION_FORMAT, version: FORMAT_VERSION, id: o.id, role: o.role, old: o.old, new: o.new, created: o.created.toISOString() };
}

/** The notice file's bytes, signed with both the old and the new signing secret keys. */
export async function encodeRotation(notice: RotationNotice, oldSigningSecretKey: Uint8Array, newSigningSecretKey: Uint8Array): Promise<Buffer> {
  const body = utf8(canonicalJson(notice));
  const message = signedMessage(ROTATION_SIGNING_PREFIX, body);
  return containerBytes([
    { name: ROTATION_ENTRIES.body, data: Buffer.from(body) },
    { name: ROTATION_ENTRIES.oldSignature, data: Buffer.from(nacl.sign.detached(message, oldSigningSecretKey)) },
    { name: ROTATION_ENTRIES.newSignature, data: Buffer.from(nacl.sign.detached(message, newSigningSecretKey)) },
  ]);
}

export interface OpenedRotation {
  path: string;
  notice: RotationNotice;
  body: Uint8Array;
  oldSignature: Uint8Array;
  newSignature: Uint8Array;
}

/** Open and parse a notice (container, schema, canonical form). Signatures are checked by verifyRotation. */
export async function openRotation(path: string): Promise<OpenedRotation> {
  const entries = await openContainer(path, [
    { name: ROTATION_ENTRIES.body, maxBytes: MAX_ROTATION_BYTES },
    { name: ROTATION_ENTRIES.oldSignature, maxBytes: SIGNATURE_BYTES },
    { name: ROTATION_ENTRIES.newSignature, maxBytes: SIGNATURE_BYTES },
  ]);
  const body = new Uint8Array(await entries.get(ROTATION_ENTRIES.body)!.read());
  const oldSignature = new Uint8Array(await entries.get(ROTATION_ENTRIES.oldSignature)!.read());
  const newSignature = new Uint8Array(await entries.get(ROTATION_ENTRIES.newSignature)!.read());
  const where = `${path}:${ROTATION_ENTRIES.body}`;
  const notice = parseSignedJson<RotationNotice>(body, where, { format: ROTATION_FORMAT, schema: 'rotation', code: ErrorCodes.ROTATION_INVALID });
  return { path, notice, body, oldSignature, newSignature };
}

export interface RotatedKeys {
  signingKey: Uint8Array;
  encryptionKey: Uint8Array;
  fingerprint: string;
}

function keysOf(k: RotationKeys, which: string, where: string): RotatedKeys {
  const signingKey = fromB64(k.signing_key, 32);
  const encryptionKey = fromB64(k.encryption_key, 32);
  if (!signingKey || !encryptionKey || fingerprintOf(signingKey, encryptionKey) !== k.fingerprint) {
    throw refusedError(ErrorCodes.ROTATION_INVALID, `${where}: the ${which} fingerprint ${k.fingerprint} does not match the ${which} keys`, { where, hint: 'the notice was altered; it was not used' });
  }
  return { signingKey, encryptionKey, fingerprint: k.fingerprint };
}

/**
 * Check a notice against the key the reader trusts for its sender: fingerprints match their
 * keys, the old key is the trusted one and signed it, and the new key signed it too.
 * Returns the new keys.
 */
export function verifyRotation(r: OpenedRotation, trustedSigningKey: Uint8Array): RotatedKeys {
  const where = r.path;
  const old = keysOf(r.notice.old, 'old', where);
  const next = keysOf(r.notice.new, 'new', where);
  if (old.fingerprint === next.fingerprint) throw refusedError(ErrorCodes.ROTATION_INVALID, `${where}: the old and new keys are the same`, { where });
  const message = signedMessage(ROTATION_SIGNING_PREFIX, r.body);
  if (r.oldSignature.length !== SIGNATURE_BYTES || !nacl.sign.detached.verify(message, r.oldSignature, trustedSigningKey) || toB64(trustedSigningKey) !== toB64(old.signingKey)) {
    throw refusedError(ErrorCodes.SIGNATURE_INVALID, `${where}: the notice is not signed by ${r.notice.id}'s trusted key`, {
      where,
      hint: 'it was altered or forged; the peer keeps its current key here',
    });
  }
  if (r.newSignature.length !== SIGNATURE_BYTES || !nacl.sign.detached.verify(message, r.newSignature, next.signingKey)) {
    throw refusedError(ErrorCodes.SIGNATURE_INVALID, `${where}: the notice is not signed by the new key it announces`, { where, hint: 'it was altered; it was not used' });
  }
  return next;
}
