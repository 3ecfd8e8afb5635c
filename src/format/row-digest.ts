/**
 * The digest of a row that a change to a shared table was based on (docs/FORMAT.md "Row
 * digest"). Defined over the values' storage classes and bytes, not over JSON text, so that any
 * hub (SQLite, PostgreSQL, another language) computes the same digest from the row it holds
 * without reproducing one JSON library's spelling of numbers.
 *
 * Per value, in column order: NULL 0x00; INTEGER 0x01 + 8 bytes two's complement big-endian;
 * REAL 0x02 + 8 bytes IEEE 754 binary64 big-endian (−0 as +0); TEXT 0x03 + 4-byte big-endian
 * length + UTF-8; BLOB 0x04 + 4-byte big-endian length + bytes. SHA-256, lowercase hex.
 */
import { createHash } from 'node:crypto';
import type { EncodedValue } from './values.js';

export const ROW_DIGEST_PATTERN = /^[0-9a-f]{64}$/;

export function rowDigest(values: readonly EncodedValue[]): string {
  const h = createHash('sha256');
  const fixed = Buffer.alloc(9);
  const lengthPrefixed = (tag: number, bytes: Buffer) => {
    fixed.writeUInt8(tag, 0);
    fixed.writeUInt32BE(bytes.length, 1);
    h.update(fixed.subarray(0, 5));
    h.update(bytes);
  };
  for (const v of values) {
    if (v === null) {
      h.update(Buffer.of(0));
    } else if (typeof v === 'string') {
      lengthPrefixed(3, Buffer.from(v, 'utf8'));
    } else if (typeof v === 'number' || 'int' in v) {
      fixed.writeUInt8(1, 0);
      fixed.writeBigInt64BE(BigInt(typeof v === 'number' ? v : v.int), 1);
      h.update(fixed);
    } else if ('real' in v) {
      const r = v.real === 'inf' ? Infinity : v.real === '-inf' ? -Infinity : v.real === 0 ? 0 : v.real;
      fixed.writeUInt8(2, 0);
      fixed.writeDoubleBE(r, 1);
      h.update(fixed);
    } else {
      lengthPrefixed(4, Buffer.from(v.blob, 'base64'));
    }
  }
  return h.digest('hex');
}
