/** Small byte and text helpers shared by the format modules. */
import { createHash } from 'node:crypto';

export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
export const toB64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Strict base64 decode: refuses anything that does not round-trip (no silent garbage). */
export function fromB64(s: string, expectedLength?: number): Uint8Array | undefined {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) return undefined;
  if (expectedLength !== undefined && b.length !== expectedLength) return undefined;
  return new Uint8Array(b);
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * Canonical JSON: object keys sorted by code unit, no insignificant white space, strings as
 * JSON.stringify writes them, only integers as numbers. The signed manifest and ack are
 * exactly these bytes, so a reader can re-serialise what it parsed and compare.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON holds integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold ${typeof value}`);
}

/** Crockford base32 (no I, L, O, U): easy to read aloud over a phone. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export function crockford32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += CROCKFORD[(value << (5 - bits)) & 31];
  return out;
}
