/**
 * Which of an EMR table's columns travel, and as what. The EMR's schema is not ferry's: anyone
 * with access to the database can add a column, with any name and any declared type. A column
 * whose name the hub could not use (docs/FORMAT.md "Names and types") is left out of capture,
 * and a declared type outside the grammar is dropped (the column travels untyped): the rest of
 * the table still travels, and `track` and `export` say which column lost what, so that someone
 * can rename it. Nothing here is spliced into SQL.
 */
import type { ColumnSpec } from '../format/records.js';
import { isReservedColumnName, isReservedName, nameKey, nameProblem, normalizeDeclaredType } from '../format/names.js';

/** Why `name` cannot be a tracked table's name, or undefined when it can. */
export function tableNameProblem(name: string): string | undefined {
  const p = nameProblem(name);
  if (p) return `its name ${p}`;
  if (isReservedName(name)) return "names starting with ferry_ or sqlite_ (in any case) are kept for ferry's and SQLite's own tables";
  return undefined;
}

/** Why a column called `name` cannot travel, or undefined when it can. */
export function columnNameProblem(name: string): string | undefined {
  const p = nameProblem(name);
  if (p) return `its name ${p}`;
  if (isReservedColumnName(name)) return 'its name starts with ferry_, which ferry keeps for its own columns';
  return undefined;
}

const SHOWN_MAX = 64;

/**
 * A name from the EMR, fit for a message: a name that passes the rules is shown as it is; any
 * other is quoted with every character outside printable ASCII escaped (a newline, a terminal
 * escape, a bidi override cannot reach the operator's screen or log raw), and cut when long.
 */
export function shownName(name: string): string {
  if (nameProblem(name) === undefined) return name;
  const cut = name.length > SHOWN_MAX ? name.slice(0, SHOWN_MAX) : name;
  const escaped = cut.replace(/[^\x20-\x7e]|["\\]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return `"${escaped}"${cut.length < name.length ? `… (${name.length} characters)` : ''}`;
}

export interface LeftOut {
  name: string;
  problem: string;
}

export interface SendableColumns {
  /** the columns that travel, with their declared types normalized ("" when unusable) */
  columns: ColumnSpec[];
  /** columns that are neither captured nor sent */
  leftOut: LeftOut[];
  /** columns that travel without their declared type */
  untyped: string[];
}

/**
 * Sort a table's current columns into those that travel and those that do not. A column that
 * the change log already holds under another case keeps the log's spelling: to SQLite they are
 * one column, and the pending changes are read back by the log's column names.
 */
export function sendableColumns(columns: readonly ColumnSpec[], logColumns: readonly string[] = []): SendableColumns {
  const logSpelling = new Map(logColumns.map((c) => [nameKey(c), c]));
  const out: SendableColumns = { columns: [], leftOut: [], untyped: [] };
  for (const c of columns) {
    const problem = columnNameProblem(c.name);
    if (problem) {
      out.leftOut.push({ name: c.name, problem });
      continue;
    }
    const type = normalizeDeclaredType(c.type);
    if (type === undefined) out.untyped.push(c.name);
    out.columns.push({ name: logSpelling.get(nameKey(c.name)) ?? c.name, type: type ?? '' });
  }
  return out;
}

/** What track and export tell the operator about a table's columns that do not travel whole. */
export function columnWarnings(table: string, s: Pick<SendableColumns, 'leftOut' | 'untyped'>): string[] {
  return [
    ...s.leftOut.map((c) => `column ${shownName(c.name)} of table ${table} is not sent: ${c.problem}; rename the column in the EMR to send it`),
    ...s.untyped.map((c) => `column ${c} of ${table}: its declared type is not one ferry can carry; it travels without one`),
  ];
}
