/** Signed acknowledgements: a zip holding ack.json (canonical JSON) and ack.sig (Ed25519, detached). */
import nacl from 'tweetnacl';
import { ACK_ENTRIES, ACK_FORMAT, ACK_SIGNING_PREFIX, MAX_ACK_BYTES, RECEIPT_FORMAT, RECEIPT_SIGNING_PREFIX, SIGNATURE_BYTES } from './constants.js';
import { containerBytes, openContainer } from './container.js';
import { canonicalJson, utf8 } from './encoding.js';
import { parseSignedJson, signedMessage, type SeqRange } from './manifest.js';
import { ErrorCodes, refusedError } from '../core/errors.js';

export interface AckCounts {
  applied: number;
  already_present: number;
  conflicts: number;
  rejected: number;
}

export interface Ack {
  /** ferry-ack: a hub's, for a facility's bundle; ferry-receipt: a facility's, for its hub's bundle */
  format: typeof ACK_FORMAT | typeof RECEIPT_FORMAT;
  version: number;
  ack_id: string;
  hub: string;
  hub_fingerprint: string;
  facility: string;
  bundle_id: string;
  /** the bundle's seq range */
  seq: SeqRange;
  /** ranges the hub holds for this facility after applying the bundle (inclusive pairs) */
  applied_ranges: Array<[number, number]>;
  /** "applied" the first time, "already-applied" when the hub had the bundle before */
  outcome: 'applied' | 'already-applied';
  counts: AckCounts;
  created: string;
}

/** Each kind signs under its own prefix: a hub's ack never verifies as a facility's receipt, nor the reverse. */
const signingPrefix = (format: Ack['format']) => (format === RECEIPT_FORMAT ? RECEIPT_SIGNING_PREFIX : ACK_SIGNING_PREFIX);

/** The ack (or receipt) file's bytes (a small zip, built in memory), signed by its writer. */
export async function encodeAck(ack: Ack, signingSecretKey: Uint8Array): Promise<Buffer> {
  const body = utf8(canonicalJson(ack));
  const sig = nacl.sign.detached(signedMessage(signingPrefix(ack.format), body), signingSecretKey);
  return containerBytes([
    { name: ACK_ENTRIES.body, data: Buffer.from(body) },
    { name: ACK_ENTRIES.signature, data: Buffer.from(sig) },
  ]);
}

export interface OpenedAck {
  path: string;
  ack: Ack;
  body: Uint8Array;
  signature: Uint8Array;
}

export async function openAck(path: string, format: Ack['format'] = ACK_FORMAT): Promise<OpenedAck> {
  const entries = await openContainer(path, [
    { name: ACK_ENTRIES.body, maxBytes: MAX_ACK_BYTES },
    { name: ACK_ENTRIES.signature, maxBytes: SIGNATURE_BYTES },
  ]);
  const body = new Uint8Array(await entries.get(ACK_ENTRIES.body)!.read());
  const signature = new Uint8Array(await entries.get(ACK_ENTRIES.signature)!.read());
  const where = `${path}:${ACK_ENTRIES.body}`;
  const ack = parseSignedJson<Ack>(body, where, { format, schema: 'ack', code: ErrorCodes.ACK_INVALID });
  if (signature.length !== SIGNATURE_BYTES) throw refusedError(ErrorCodes.SIGNATURE_INVALID, `${path}: the signature is not ${SIGNATURE_BYTES} bytes`, { where: path });
  if (ack.seq.last < ack.seq.first) throw refusedError(ErrorCodes.ACK_INVALID, `${where}: seq.last is before seq.first`, { where });
  let previous = 0;
  for (const [a, b] of ack.applied_ranges) {
    if (b < a) throw refusedError(ErrorCodes.ACK_INVALID, `${where}: a range ends before it starts`, { where });
    // Sorted and disjoint, as FORMAT.md requires: a facility prunes by these ranges.
    if (a <= previous) throw refusedError(ErrorCodes.ACK_INVALID, `${where}: applied_ranges are not sorted and disjoint`, { where });
    previous = b;
  }
  return { path, ack, body, signature };
}

export function ackSignatureValid(a: Pick<OpenedAck, 'body' | 'signature'> & { ack?: Pick<Ack, 'format'> }, signingKey: Uint8Array): boolean {
  return nacl.sign.detached.verify(signedMessage(signingPrefix(a.ack?.format ?? ACK_FORMAT), a.body), a.signature, signingKey);
}

