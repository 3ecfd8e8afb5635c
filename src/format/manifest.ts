/** The bundle manifest: clear text, signed, no patient data. */
import nacl from 'tweetnacl';
import { BUNDLE_FORMAT, FORMAT_VERSION, MANIFEST_SIGNING_PREFIX } from './constants.js';
import { canonicalJson, concatBytes, utf8 } from './encoding.js';
import { schemaProblem } from './validate.js';
import { ErrorCodes, refusedError } from '../core/errors.js';

export interface SeqRange {
  first: number;
  last: number;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  bundle_id: string;
  sender: string;
  sender_fingerprint: string;
  recipient: string;
  recipient_fingerprint: string;
  created: string;
  seq: SeqRange;
  /** number of change records in the payload */
  changes: number;
  /** change records per table */
  tables: Record<string, number>;
  payload: {
    compression: 'zlib';
    chunk_size: number;
    /** length of the compressed stream, the plaintext of the sealed chunks */
    plaintext_bytes: number;
    ciphertext_bytes: number;
    /** length of the uncompressed change stream (JSON lines) */
    stream_bytes: number;
    sha256: string;
    ephemeral_key: string;
  };
}

export const manifestBytes = (m: Manifest): Uint8Array => utf8(canonicalJson(m));

export function signedMessage(prefix: string, body: Uint8Array): Uint8Array {
  return concatBytes(utf8(prefix), body);
}

export function signManifest(bytes: Uint8Array, signingSecretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(signedMessage(MANIFEST_SIGNING_PREFIX, bytes), signingSecretKey);
}

/**
 * Parse signed-document bytes: JSON, the expected format name, a version this reader knows, the
 * schema, and canonical form (so that every reader sees the same fields, duplicate keys included).
 */
export function parseSignedJson<T>(
  bytes: Uint8Array,
  where: string,
  expect: {
    format: string;
    schema: 'manifest' | 'ack' | 'rotation' | 'request';
    code: typeof ErrorCodes.MANIFEST_INVALID | typeof ErrorCodes.ACK_INVALID | typeof ErrorCodes.ROTATION_INVALID | typeof ErrorCodes.REQUEST_INVALID;
    /** the versions of this document this reader knows (default: version 1 only) */
    versions?: readonly number[];
  },
): T {
  const invalid = (why: string) =>
    refusedError(expect.code, `${where}: ${why}`, { where, hint: 'the file was altered or made by a faulty writer; it was not used' });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('not UTF-8 text');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('not a JSON object');
  const v = value as Record<string, unknown>;
  if (v.format !== expect.format) throw invalid(`format is ${JSON.stringify(v.format)}, expected "${expect.format}"`);
  const versions = expect.versions ?? [FORMAT_VERSION];
  if (typeof v.version !== 'number' || !versions.includes(v.version)) {
    throw refusedError(ErrorCodes.VERSION_UNSUPPORTED, `${where}: format version ${JSON.stringify(v.version)} is not supported (this ferry reads version ${versions.join(' and ')})`, {
      where,
      hint: 'update ferry on this machine, or ask the sender to use a matching version',
    });
  }
  const problem = schemaProblem(expect.schema, value);
  if (problem) throw invalid(problem);
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch {
    // canonical JSON holds safe integers only: 1e300 or 1.5 where the schema wants an integer
    throw invalid('not in canonical form (a number that is not an integer within ±(2^53−1))');
  }
  if (canonical !== text) throw invalid('not in canonical form');
  return value as T;
}
