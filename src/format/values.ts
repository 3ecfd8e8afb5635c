/**
 * SQLite values in JSON, keeping their storage class exactly:
 *   NULL -> null; TEXT -> string; INTEGER -> number (|v| <= 2^53-1) or {"int": "<decimal>"};
 *   REAL -> {"real": number} or {"real": "inf" | "-inf"}; BLOB -> {"blob": "<base64>"}.
 * Reals are tagged because JSON alone cannot tell 1 from 1.0.
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

/** Decode to values better-sqlite3 binds with the same storage class (bigint binds as INTEGER). */
export function decodeValue(e: unknown): SqlValue {
  if (e === null) return null;
  if (typeof e === 'string') return e;
  if (typeof e === 'number') {
    if (!Number.isSafeInteger(e)) throw new TypeError('a bare JSON number must be a safe integer');
    return BigInt(e);
  }
  if (typeof e === 'object' && e !== null && !Array.isArray(e)) {
    const keys = Object.keys(e);
    if (keys.length === 1) {
      const o = e as Record<string, unknown>;
      if (typeof o.int === 'string' && /^-?\d{1,19}$/.test(o.int)) {
        const b = BigInt(o.int);
        if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
      }
      if ('real' in o) {
        if (o.real === 'inf') return Infinity;
        if (o.real === '-inf') return -Infinity;
        if (typeof o.real === 'number' && Number.isFinite(o.real)) return o.real;
      }
      if (typeof o.blob === 'string') {
        const b = Buffer.from(o.blob, 'base64');
        if (b.toString('base64') === o.blob) return new Uint8Array(b);
      }
    }
  }
  throw new TypeError(`not an encoded SQLite value: ${JSON.stringify(e)?.slice(0, 60)}`);
}

/** A stable text form of a row key, used as the hub's lookup key for a row. */
export function keyText(key: readonly EncodedValue[]): string {
  return JSON.stringify(key);
}
