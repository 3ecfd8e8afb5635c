/**
 * Table and column names, and declared column types, as they travel in a bundle's table
 * records. They come from an EMR's schema, which anyone with database access can change, and
 * reach SQL at the hub, so they are held to a strict grammar (docs/FORMAT.md "Names and
 * types"): a name that fails it is never spliced into SQL, even quoted, and a declared type is
 * only ever used to pick one of SQLite's five affinities, never spliced itself.
 *
 * Names are compared case-insensitively everywhere: SQLite, PostgreSQL's folding and FAT32 all
 * treat `Visits` and `visits` as one name. The grammar is ASCII-only, so lower-casing is exact.
 */

/** PostgreSQL truncates identifiers at 63 bytes; keeping below it keeps names portable. */
export const NAME_MAX_LENGTH = 63;
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Prefixes ferry keeps for its own tables and columns, and SQLite for its own. */
export const RESERVED_PREFIXES = ['ferry_', 'sqlite_'] as const;

/** What is wrong with `name` as a table or column name, or undefined when it is usable. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > NAME_MAX_LENGTH) return `is longer than ${NAME_MAX_LENGTH} characters`;
  if (!NAME_PATTERN.test(name)) return 'may hold only the letters A–Z and a–z, digits and _, and may not start with a digit';
  return undefined;
}

/** Does `name` start with a prefix ferry or SQLite reserves (in any case)? */
export const isReservedName = (name: string): boolean => RESERVED_PREFIXES.some((p) => name.toLowerCase().startsWith(p));

/** Does a column name start with the prefix ferry keeps for its own columns (in any case)? */
export const isReservedColumnName = (name: string): boolean => name.toLowerCase().startsWith('ferry_');

/** The form names are compared in: two names are the same name when these are equal. */
export const nameKey = (name: string): string => name.toLowerCase();

export const sameName = (a: string, b: string): boolean => nameKey(a) === nameKey(b);

/** The first name in `names` that equals an earlier one case-insensitively, if any. */
export function duplicateName(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const n of names) {
    const k = nameKey(n);
    if (seen.has(k)) return n;
    seen.add(k);
  }
  return undefined;
}

export const DECLARED_TYPE_MAX_LENGTH = 64;
/**
 * SQLite's type-name: words, then optionally one or two signed numbers in parentheses
 * (`INTEGER`, `VARCHAR(255)`, `DECIMAL(10,2)`, `UNSIGNED BIG INT`, `DOUBLE PRECISION`), with
 * single spaces. Empty is allowed (a column declared without a type).
 */
export const DECLARED_TYPE_PATTERN = /^([A-Za-z][A-Za-z0-9_]*( [A-Za-z][A-Za-z0-9_]*)*( ?\( ?[+-]?[0-9]{1,10}( ?, ?[+-]?[0-9]{1,10})? ?\))?)?$/;

/**
 * The declared type as it travels: white space collapsed, or undefined when it does not match
 * the grammar (the column then travels with no declared type, and ferry says so).
 */
export function normalizeDeclaredType(type: string): string | undefined {
  const t = type.trim().replace(/\s+/g, ' ');
  if (t.length > DECLARED_TYPE_MAX_LENGTH || !DECLARED_TYPE_PATTERN.test(t)) return undefined;
  return t;
}

export type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** SQLite's rules for a column's affinity from its declared type (datatype3.html, 3.1), in their order. */
export function typeAffinity(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t === '' || t.includes('BLOB')) return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}
