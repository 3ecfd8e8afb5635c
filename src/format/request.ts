/**
 * Record requests (docs/FORMAT.md "Record request"): a facility asks its hub for a record it
 * knows only by one value (the identifier on a patient's card). A small zip: request.json
 * (canonical JSON, clear: who asks whom, when) and request.sig (the facility's Ed25519
 * signature). What is asked for (table, column, value, reason) is sealed to the hub with a fresh
 * X25519 key, so a courier or a thief reading the drive learns only that a request was made.
 */
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import { MAX_REQUEST_BYTES, REQUEST_ENTRIES, REQUEST_FORMAT, REQUEST_KEY_LABEL, REQUEST_SIGNING_PREFIX, SIGNATURE_BYTES } from './constants.js';
import { containerBytes, openContainer } from './container.js';
import { canonicalJson, fromB64, toB64, toHex, utf8 } from './encoding.js';
import { parseSignedJson, signedMessage } from './manifest.js';
import { schemaProblem } from './validate.js';
import { ErrorCodes, refusedError } from '../core/errors.js';

export interface RecordRequest {
  format: typeof REQUEST_FORMAT;
  version: 1;
  request_id: string;
  facility: string;
  facility_fingerprint: string;
  hub: string;
  hub_fingerprint: string;
  created: string;
  /** the request's ephemeral X25519 public key, base64 */
  ephemeral_key: string;
  /** base64 of secretbox(canonical JSON of the body) */
  sealed: string;
}

/** What is asked for: the rows of `table` whose `column` holds `value` (text as typed), and why. */
export interface RequestBody {
  table: string;
  column: string;
  value: string;
  reason: string | null;
}

/** The nonce is fixed: each request's key is new (a fresh ephemeral key), and seals one message. */
const NONCE = new Uint8Array(24);

function requestKey(ourSecret: Uint8Array, theirPublic: Uint8Array, ephemeralPublic: Uint8Array, hubPublic: Uint8Array): Uint8Array {
  const shared = nacl.scalarMult(ourSecret, theirPublic);
  if (shared.every((b) => b === 0)) throw refusedError(ErrorCodes.PAYLOAD_UNAUTHENTICATED, 'the request names an invalid ephemeral key', { hint: 'it was made by a faulty or hostile writer; it was not used' });
  return new Uint8Array(createHash('sha256').update(REQUEST_KEY_LABEL).update(shared).update(ephemeralPublic).update(hubPublic).digest());
}

export async function encodeRequest(
  o: { requestId: Uint8Array; facility: { id: string; fingerprint: string; signingSecretKey: Uint8Array }; hub: { id: string; fingerprint: string; encryptionKey: Uint8Array }; created: Date; ephemeralSecret: Uint8Array },
  body: RequestBody,
): Promise<{ request: RecordRequest; bytes: Buffer }> {
  const eph = nacl.box.keyPair.fromSecretKey(o.ephemeralSecret);
  const key = requestKey(eph.secretKey, o.hub.encryptionKey, eph.publicKey, o.hub.encryptionKey);
  const request: RecordRequest = {
    format: REQUEST_FORMAT,
    version: 1,
    request_id: toHex(o.requestId),
    facility: o.facility.id,
    facility_fingerprint: o.facility.fingerprint,
    hub: o.hub.id,
    hub_fingerprint: o.hub.fingerprint,
    created: o.created.toISOString(),
    ephemeral_key: toB64(eph.publicKey),
    sealed: toB64(nacl.secretbox(utf8(canonicalJson(body)), NONCE, key)),
  };
  const text = utf8(canonicalJson(request));
  const sig = nacl.sign.detached(signedMessage(REQUEST_SIGNING_PREFIX, text), o.facility.signingSecretKey);
  const bytes = await containerBytes([
    { name: REQUEST_ENTRIES.body, data: Buffer.from(text) },
    { name: REQUEST_ENTRIES.signature, data: Buffer.from(sig) },
  ]);
  return { request, bytes };
}

export interface OpenedRequest {
  path: string;
  request: RecordRequest;
  body: Uint8Array;
  signature: Uint8Array;
}

/** The container, the schema and canonical form; no key needed (a courier's inspect reads this much). */
export async function openRequest(path: string): Promise<OpenedRequest> {
  const entries = await openContainer(path, [
    { name: REQUEST_ENTRIES.body, maxBytes: MAX_REQUEST_BYTES },
    { name: REQUEST_ENTRIES.signature, maxBytes: SIGNATURE_BYTES },
  ]);
  const body = new Uint8Array(await entries.get(REQUEST_ENTRIES.body)!.read());
  const signature = new Uint8Array(await entries.get(REQUEST_ENTRIES.signature)!.read());
  const request = parseSignedJson<RecordRequest>(body, `${path}:${REQUEST_ENTRIES.body}`, { format: REQUEST_FORMAT, schema: 'request', code: ErrorCodes.REQUEST_INVALID });
  if (signature.length !== SIGNATURE_BYTES) throw refusedError(ErrorCodes.SIGNATURE_INVALID, `${path}: the signature is not ${SIGNATURE_BYTES} bytes`, { where: path });
  return { path, request, body, signature };
}

export function requestSignatureValid(r: Pick<OpenedRequest, 'body' | 'signature'>, signingKey: Uint8Array): boolean {
  return nacl.sign.detached.verify(signedMessage(REQUEST_SIGNING_PREFIX, r.body), r.signature, signingKey);
}

/** Open what is asked for: only after the signature verified with the facility's trusted key. */
export function unsealRequest(r: OpenedRequest, hub: { encryptionSecretKey: Uint8Array; encryptionKey: Uint8Array }): RequestBody {
  const invalid = (why: string) => refusedError(ErrorCodes.REQUEST_INVALID, `${r.path}: ${why}`, { where: r.path, hint: 'the request was altered or made by a faulty writer; it was not used' });
  const ephemeral = fromB64(r.request.ephemeral_key, 32);
  const sealed = fromB64(r.request.sealed);
  if (!ephemeral || !sealed) throw invalid('a key or the sealed body is not canonical base64');
  const key = requestKey(hub.encryptionSecretKey, ephemeral, ephemeral, hub.encryptionKey);
  const opened = nacl.secretbox.open(sealed, NONCE, key);
  if (!opened) throw refusedError(ErrorCodes.PAYLOAD_UNAUTHENTICATED, `${r.path}: the sealed request does not open with this hub's key`, { where: r.path, hint: 'it was sealed for another key of this hub, or altered; ask the facility to make the request again' });
  let text: string;
  let body: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(opened);
    body = JSON.parse(text);
  } catch {
    throw invalid('the sealed body is not JSON text');
  }
  const problem = schemaProblem('request-body', body);
  if (problem) throw invalid(`the sealed body: ${problem}`);
  if (canonicalJson(body) !== text) throw invalid('the sealed body is not in canonical form');
  return body as RequestBody;
}
