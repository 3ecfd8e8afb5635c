/**
 * Values between bundles and a PostgreSQL hub's typed columns, exactly.
 *
 * A hub column's type comes from the affinity SQLite gives the facility's declared type
 * (src/format/names.ts typeAffinity): INTEGER → bigint, REAL → double precision, TEXT → text, a
 * declared BLOB → bytea; anything else (NUMERIC affinity: DATE, DECIMAL, BOOLEAN…; or no declared
 * type, where SQLite keeps any class) → jsonb holding the value as a bundle encodes it, which keeps
 * its class (1 and 1.0 and '1' stay three values). Nothing is ever coerced: a value of another
 * class than its column holds (SQLite lets '' sit in an INTEGER column) does not fit, and its
 * change is rejected with the reason, so it waits at the facility and nothing is lost. PostgreSQL
 * text and jsonb cannot hold U+0000: such a value does not fit either.
 *
 * Parameters go as text (what pg sends for every value but a Buffer), arrays of them for the
 * multi-row statements of a batch.
 */
import { typeAffinity } from '../../format/names.js';
import type { EncodedValue } from '../../format/values.js';

export type PgType = 'bigint' | 'double precision' | 'text' | 'bytea' | 'jsonb';

/** The hub column's type for a declared SQLite type. */
export function pgTypeFor(declared: string): PgType {
  switch (typeAffinity(declared)) {
    case 'INTEGER':
      return 'bigint';
    case 'REAL':
      return 'double precision';
    case 'TEXT':
      return 'text';
    case 'BLOB':
      return declared.toUpperCase().includes('BLOB') ? 'bytea' : 'jsonb';
    default:
      return 'jsonb';
  }
}

/** The type names as PostgreSQL reports them (information_schema.columns.data_type). */
export const PG_TYPES: readonly PgType[] = ['bigint', 'double precision', 'text', 'bytea', 'jsonb'];

export type PgParam = string | Buffer | null;

/** Why a value cannot be held by a column of this type (the reason names the class, never the value). */
export class Misfit {
  constructor(readonly why: string) {}
}

const classOf = (v: EncodedValue): string => {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return 'text';
  if (typeof v === 'number' || 'int' in v) return 'an integer';
  if ('real' in v) return 'a real';
  return 'a blob';
};

const hasNul = (s: string) => s.includes('\u0000');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Text PostgreSQL cannot store: U+0000, or a lone surrogate (not Unicode at all; only a crafted bundle carries one). */
const unstorable = (s: string): Misfit | undefined =>
  hasNul(s) ? new Misfit('text holding the character U+0000, which PostgreSQL cannot store') : !LONE_SURROGATE.test(s) ? undefined : new Misfit('text that is not valid Unicode (a lone surrogate)');

/** An encoded value as the parameter a column of `type` takes, or a Misfit. */
export function toPgParam(v: EncodedValue, type: PgType): PgParam | Misfit {
  if (v === null) return null;
  switch (type) {
    case 'bigint':
      if (typeof v === 'number') return String(v);
      if (typeof v === 'object' && 'int' in v) return v.int;
      break;
    case 'double precision':
      if (typeof v === 'object' && 'real' in v) return v.real === 'inf' ? 'Infinity' : v.real === '-inf' ? '-Infinity' : String(v.real === 0 ? 0 : v.real);
      break;
    case 'text':
      if (typeof v === 'string') return unstorable(v) ?? v;
      break;
    case 'bytea':
      if (typeof v === 'object' && 'blob' in v) return Buffer.from(v.blob, 'base64');
      break;
    case 'jsonb':
      // jsonb refuses \u0000 and lone surrogates in a string as text does
      return (typeof v === 'string' ? unstorable(v) : undefined) ?? JSON.stringify(v);
  }
  return new Misfit(`${classOf(v)}, but the hub's column is ${type}`);
}

/** A Buffer parameter inside an array parameter is sent as bytea's hex text. */
export const arrayParam = (p: PgParam): string | null => (p === null ? null : typeof p === 'string' ? p : `\\x${p.toString('hex')}`);

/**
 * A value read from PostgreSQL (pg's defaults: bigint as text, float8 as number, bytea as Buffer,
 * jsonb parsed) as a bundle encodes it. `type` is the column's.
 */
export function fromPg(value: unknown, type: PgType): EncodedValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'bigint': {
      const n = BigInt(value as string);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : { int: n.toString() };
    }
    case 'double precision': {
      const x = value as number;
      return x === Infinity ? { real: 'inf' } : x === -Infinity ? { real: '-inf' } : { real: x === 0 ? 0 : x };
    }
    case 'text':
      return value as string;
    case 'bytea':
      return { blob: (value as Buffer).toString('base64') };
    case 'jsonb':
      return value as EncodedValue;
  }
}

/** The PostgreSQL type of a result column, by the type OID pg reports. */
export function pgTypeOfOid(oid: number): PgType | undefined {
  switch (oid) {
    case 20:
      return 'bigint';
    case 701:
      return 'double precision';
    case 25:
      return 'text';
    case 17:
      return 'bytea';
    case 3802:
      return 'jsonb';
    default:
      return undefined;
  }
}
