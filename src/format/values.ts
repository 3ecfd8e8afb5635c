/**
 * SQLite values in JSON, keeping their storage class exactly:
 *   NULL -> null; TEXT -> string; INTEGER -> number (|v| <= 2^53-1) or {"int": "<decimal>"};
 *   REAL -> {"real": number} or {"real": "inf" | "-inf"}; BLOB -> {"blob": "<base64>"}.
 * Reals are tagged because JSON alone cannot tell 1 from 1.0; -0.0 travels as 0.
 */
export type SqlValue = null | string | number | bigint | Uint8Array;
export type EncodedValue = null | string | number | { int: string } | { real: number | 'inf' | '-inf' } | { blob: string };

/**
 * Encode a value read with better-sqlite3's safeIntegers(true): integers arrive as bigint and
 * reals as number, which is how the two storage classes are told apart.
 */
export function encodeValue(v: unknown): EncodedValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : { int: v.toString() };
  }
  if (typeof v === 'number') {
    if (v === Infinity) return { real: 'inf' };
    if (v === -Infinity) return { real: '-inf' };
    return { real: v };
  }
  if (v instanceof Uint8Array) return { blob: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  throw new TypeError(`unsupported SQLite value of type ${typeof v}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Decimal as JavaScript and every other language print it: no sign for 0 or positives, no leading zeros. */
const CANONICAL_DECIMAL = /^(0|-?[1-9][0-9]{0,18})$/;
/** Padded base64 (RFC 4648 §4): whole quanta, padding only at the end. */
const BASE64_SHAPE = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Is `s` canonical padded base64, i.e. the text its bytes re-encode to? Checked without
 * decoding, so that a 20 MiB BLOB costs one scan: whole quanta, and the bits that padding
 * leaves over in the last character are zero.
 */
export function isCanonicalBase64(s: string): boolean {
  if (s.length % 4 !== 0 || !BASE64_SHAPE.test(s)) return false;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  if (pad === 0) return true;
  const last = BASE64_ALPHABET.indexOf(s[s.length - pad - 1]!);
  return (last & (pad === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * What is wrong with `e` as an encoded value (docs/FORMAT.md "Values"), or undefined when it is
 * one. The description never includes the value: it may be a patient's data.
 */
export function valueProblem(e: unknown): string | undefined {
  if (e === null || typeof e === 'string') return undefined;
  if (typeof e === 'number') {
    // JSON numbers are taken by value: 1.0 and 1e0 are the integer 1.
    if (!Number.isInteger(e)) return 'a bare number that is not an integer (a REAL travels as {"real": …})';
    if (!Number.isSafeInteger(e)) return 'a bare integer beyond ±(2^53−1) (larger integers travel as {"int": "…"})';
    return undefined;
  }
  if (typeof e !== 'object' || Array.isArray(e)) return 'neither null, a string, an integer nor an object';
  const keys = Object.keys(e);
  const o = e as Record<string, unknown>;
  if (keys.length !== 1) return 'an object that does not hold exactly one of "int", "real", "blob"';
  switch (keys[0]) {
    case 'int': {
      if (typeof o.int !== 'string' || !CANONICAL_DECIMAL.test(o.int)) return '{"int": …} that is not a decimal integer in canonical form (no sign on 0, no "+", no leading zeros)';
      const b = BigInt(o.int);
      if (b < INT64_MIN || b > INT64_MAX) return '{"int": …} outside the 64-bit range';
      // One encoding per value: a hub compares keys by their encoded text.
      return b >= -MAX_SAFE && b <= MAX_SAFE ? '{"int": …} within ±(2^53−1), which travels as a bare number' : undefined;
    }
    case 'real':
      if (o.real === 'inf' || o.real === '-inf') return undefined;
      // JSON.parse turns 1e400 into Infinity: only "inf" and "-inf" stand for infinities.
      return typeof o.real === 'number' && Number.isFinite(o.real) ? undefined : '{"real": …} that is neither a finite number nor "inf" or "-inf"';
    case 'blob':
      return typeof o.blob === 'string' && isCanonicalBase64(o.blob) ? undefined : '{"blob": …} that is not canonical padded base64';
    default:
      return 'an object that does not hold exactly one of "int", "real", "blob"';
  }
}

/**
 * Decode to values better-sqlite3 binds with the same storage class (bigint binds as INTEGER).
 * The reader refuses every value this would refuse, so a throw here is a bug.
 */
export function decodeValue(e: unknown): SqlValue {
  const problem = valueProblem(e);
  if (problem) throw new TypeError(`not an encoded SQLite value: ${problem}`);
  if (e === null || typeof e === 'string') return e;
  if (typeof e === 'number') return BigInt(e);
  const o = e as { int?: string; real?: number | 'inf' | '-inf'; blob?: string };
  if (o.int !== undefined) return BigInt(o.int);
  if (o.real !== undefined) {
    if (o.real === 'inf') return Infinity;
    if (o.real === '-inf') return -Infinity;
    // -0.0 travels as 0 (JSON.stringify writes -0 as 0): one zero on every side.
    return o.real === 0 ? 0 : o.real;
  }
  return new Uint8Array(Buffer.from(o.blob!, 'base64'));
}

/** A stable text form of a row key, used as the hub's lookup key for a row. */
export function keyText(key: readonly EncodedValue[]): string {
  return JSON.stringify(key);
}
