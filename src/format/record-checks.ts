/**
 * The checks every line of a change stream must pass (docs/FORMAT.md "Change stream" and
 * "Limits"), in the order that keeps each one cheap: shape of the text before JSON.parse,
 * count limits before the schema, then the schema, names, values and the manifest's numbers.
 * Messages name the record, change seq, table and column, never a value: values are patient data.
 */
import { MAX_COLUMNS_PER_TABLE, MAX_COLUMNS_TOTAL, MAX_JSON_DEPTH, MAX_KEY_COLUMNS, MAX_RECORD_COMMAS, MAX_TABLES } from './constants.js';
import { memberCount, scanJson } from './json-scan.js';
import type { Manifest } from './manifest.js';
import { duplicateName, isReservedColumnName, isReservedName, nameKey } from './names.js';
import type { BundleDirection, ChangeRecord, PayloadRecord, TableRecord, TableScope } from './records.js';
import { ROW_DIGEST_PATTERN } from './row-digest.js';
import { schemaProblem } from './validate.js';
import { valueProblem } from './values.js';
import type { FerryError } from '../core/errors.js';

export interface RecordCheckErrors {
  /** the stream breaks a rule of the format (payload-invalid) */
  invalid: (why: string) => FerryError;
  /** the stream goes beyond a limit of the format (limit-exceeded) */
  limit: (why: string) => FerryError;
}

/** A name from the stream as it may appear in a message: quoted (so control characters show) and cut short. */
export const shownName = (name: unknown): string => JSON.stringify(typeof name === 'string' && name.length > 80 ? `${name.slice(0, 80)}…` : String(name));

/** Version 1 was written before scopes existed, when every table was one facility's own. */
export const VERSION_1_SCOPE: TableScope = 'facility';

export class RecordChecker {
  /** described tables by name key: two names differing only by case are one table */
  private readonly tables = new Map<string, TableRecord>();
  private readonly counts = new Map<string, number>();
  private columnsTotal = 0;
  private records = 0;
  private changes = 0;
  private lastSeq = 0;

  constructor(
    private readonly m: Manifest,
    private readonly e: RecordCheckErrors,
    /** to-facility: a hub's bundle, read at the facility it was sent to (docs/FORMAT.md "Hub bundles") */
    private readonly direction: BundleDirection = 'to-hub',
  ) {}

  /** Parse and check one line (without its newline); throws a FerryError on the first problem. */
  check(line: string): PayloadRecord {
    const n = ++this.records;
    const shape = scanJson(line, MAX_JSON_DEPTH, MAX_RECORD_COMMAS);
    if (shape.depth > MAX_JSON_DEPTH) throw this.e.limit(`record ${n} nests arrays and objects deeper than ${MAX_JSON_DEPTH}`);
    if (shape.commas > MAX_RECORD_COMMAS) throw this.e.limit(`record ${n} holds more than ${MAX_RECORD_COMMAS} commas outside strings, more than a record within the column limits can`);
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      throw this.e.invalid(`record ${n} is not JSON`);
    }
    // JSON.parse keeps the last of two equal member names, silently; other parsers keep the first.
    if (memberCount(rec) !== shape.colons) throw this.e.invalid(`record ${n} holds a member name twice in one object`);
    const o = (typeof rec === 'object' && rec !== null && !Array.isArray(rec) ? rec : {}) as Record<string, unknown>;
    const about = o.kind === 'table' ? `record ${n} (table ${shownName(o.table)})` : typeof o.seq === 'number' ? `change ${o.seq} (table ${shownName(o.table)})` : `record ${n}`;
    this.countLimits(o, about);
    const problem = schemaProblem('change-record', rec);
    if (problem) throw this.e.invalid(`${about}: ${o.kind === 'table' ? tableProblem(o, problem) : (this.badValue(o) ?? clockProblem(o) ?? baseProblem(o) ?? problem)}`);
    const r = rec as PayloadRecord;
    if (r.kind === 'table') this.table(r, about);
    else this.change(r);
    return r;
  }

  /** Before the schema, so that a table over a limit is refused as such. */
  private countLimits(o: Record<string, unknown>, about: string): void {
    if (o.kind === 'table' && Array.isArray(o.columns) && o.columns.length > MAX_COLUMNS_PER_TABLE) {
      throw this.e.limit(`${about} has ${o.columns.length} columns, more than ${MAX_COLUMNS_PER_TABLE}`);
    }
    if (Array.isArray(o.key) && o.key.length > MAX_KEY_COLUMNS) throw this.e.limit(`${about} has a key of ${o.key.length} columns, more than ${MAX_KEY_COLUMNS}`);
  }

  private table(r: TableRecord, about: string): void {
    const m = this.m;
    if (m.version === 1) {
      if (r.scope !== undefined) throw this.e.invalid(`${about}: a version 1 bundle's table record carries no scope`);
      r.scope = VERSION_1_SCOPE;
    } else if (r.scope === undefined) {
      throw this.e.invalid(`${about}: the table record carries no scope (facility or shared)`);
    }
    if (isReservedName(r.table)) throw this.e.invalid(`${about}: table names starting with ferry_ or sqlite_ are reserved`);
    const known = this.tables.get(nameKey(r.table));
    if (known) {
      throw this.e.invalid(known.table === r.table ? `${about}: the table is described twice` : `${about}: the table ${shownName(known.table)} was described already, and names that differ only by case are one name`);
    }
    if (this.tables.size >= MAX_TABLES) throw this.e.limit(`${about}: more than ${MAX_TABLES} tables in one bundle`);
    this.columnsTotal += r.columns.length;
    if (this.columnsTotal > MAX_COLUMNS_TOTAL) throw this.e.limit(`${about}: more than ${MAX_COLUMNS_TOTAL} columns over the bundle's tables`);
    const names = r.columns.map((c) => c.name);
    const reserved = names.find(isReservedColumnName);
    if (reserved) throw this.e.invalid(`${about}: column ${shownName(reserved)}: column names starting with ferry_ are reserved`);
    const twice = duplicateName(names);
    if (twice) throw this.e.invalid(`${about}: column ${shownName(twice)} appears twice (names that differ only by case are one name)`);
    const keyTwice = duplicateName(r.key);
    if (keyTwice) throw this.e.invalid(`${about}: key column ${shownName(keyTwice)} appears twice`);
    for (const k of r.key) {
      if (names.includes(k)) continue;
      const other = names.find((c) => nameKey(c) === nameKey(k));
      throw this.e.invalid(other ? `${about}: key column ${shownName(k)} is spelled ${shownName(other)} among the columns` : `${about}: key column ${shownName(k)} is not among the columns`);
    }
    if (!Object.hasOwn(m.tables, r.table)) throw this.e.invalid(`${about}: the manifest lists no changes for this table`);
    if (r.references !== undefined) this.references(r, about, names);
    this.tables.set(nameKey(r.table), r);
  }

  /** A table's foreign keys name its own columns exactly, as many as they reference. */
  private references(r: TableRecord, about: string, names: readonly string[]): void {
    if (this.m.version < 3) throw this.e.invalid(`${about}: references are a version 3 member; a version ${this.m.version} bundle carries none`);
    for (const [i, ref] of r.references!.entries()) {
      const which = `${about}: reference ${i + 1} (to ${shownName(ref.table)})`;
      if (isReservedName(ref.table)) throw this.e.invalid(`${which}: table names starting with ferry_ or sqlite_ are reserved`);
      if (ref.columns.length !== ref.to.length) throw this.e.invalid(`${which}: ${ref.columns.length} column(s) reference ${ref.to.length}`);
      const missing = ref.columns.find((c) => !names.includes(c));
      if (missing) throw this.e.invalid(`${which}: column ${shownName(missing)} is not among the table's columns`);
      const twice = duplicateName(ref.columns) ?? duplicateName(ref.to);
      if (twice) throw this.e.invalid(`${which}: column ${shownName(twice)} appears twice`);
    }
  }

  private change(r: ChangeRecord): void {
    const m = this.m;
    const t = this.tables.get(nameKey(r.table));
    if (!t) throw this.e.invalid(`change ${r.seq} names table ${shownName(r.table)} before describing it`);
    if (t.table !== r.table) throw this.e.invalid(`change ${r.seq} names table ${shownName(r.table)}, described as ${shownName(t.table)}: a change names its table exactly as described`);
    // A hub sends rows that came from facilities: origin names whose row it is, never the hub.
    if (this.direction === 'to-hub' && r.origin !== m.sender) throw this.e.invalid(`change ${r.seq} names origin ${r.origin}, not the sender ${m.sender}`);
    if (this.direction === 'to-facility' && nameKey(r.origin) === nameKey(m.sender)) throw this.e.invalid(`change ${r.seq} names the hub ${r.origin} as its origin: a hub sends only rows that came from facilities`);
    if (r.seq <= this.lastSeq || r.seq < m.seq.first || r.seq > m.seq.last) throw this.e.invalid(`change ${r.seq} is out of order or outside ${m.seq.first}–${m.seq.last}`);
    if (this.changes === 0 && r.seq !== m.seq.first) throw this.e.invalid(`the first change is ${r.seq}, the manifest says ${m.seq.first}`);
    const where = `change ${r.seq} (table ${shownName(t.table)})`;
    if (r.row) {
      if (r.row.length !== t.columns.length) throw this.e.invalid(`${where}: the row has ${r.row.length} values, the table has ${t.columns.length} columns`);
      r.row.forEach((v, i) => this.value(v, where, t.columns[i]!.name));
    }
    if (r.key) {
      if (r.key.length !== t.key.length) throw this.e.invalid(`${where}: the key has ${r.key.length} values, the table has ${t.key.length} key columns`);
      r.key.forEach((v, i) => this.value(v, where, t.key[i]!));
    }
    // What a change was based on decides conflicts in a shared table, and only there.
    // A hub's bundle is the hub's version of each row, to keep, never to merge: no base.
    const needsBase = this.direction === 'to-hub' && t.scope === 'shared' && r.op !== 'insert';
    if (needsBase && r.base === undefined) throw this.e.invalid(`${where}: ${r.op === 'update' ? 'an update' : 'a delete'} in a shared table carries no base (the digest of the row it was based on)`);
    if (!needsBase && r.base !== undefined) {
      throw this.e.invalid(`${where}: ${this.direction === 'to-facility' ? "a hub's bundle carries no base" : 'only an update or delete in a shared table carries a base'}`);
    }
    this.lastSeq = r.seq;
    this.changes++;
    this.counts.set(t.table, (this.counts.get(t.table) ?? 0) + 1);
  }

  /**
   * The schema names a bad value by its position among every branch it tried; say instead which
   * column holds it and what is wrong, when the table is known.
   */
  private badValue(o: Record<string, unknown>): string | undefined {
    const t = typeof o.table === 'string' ? this.tables.get(nameKey(o.table)) : undefined;
    const scan = (values: unknown, names: readonly string[] | undefined) => {
      if (!Array.isArray(values)) return undefined;
      for (const [i, v] of values.entries()) {
        const problem = valueProblem(v);
        if (problem) return `column ${names?.[i] !== undefined ? shownName(names[i]) : `number ${i + 1}`}: the value is ${problem}`;
      }
      return undefined;
    };
    return scan(o.row, t?.columns.map((c) => c.name)) ?? scan(o.key, t?.key);
  }

  private value(v: unknown, where: string, column: string): void {
    const problem = valueProblem(v);
    if (problem) throw this.e.invalid(`${where}: column ${shownName(column)}: the value is ${problem}`);
  }

  /** The checks of the whole stream, once it has ended. */
  finish(): void {
    const m = this.m;
    if (this.changes !== m.changes || this.lastSeq !== m.seq.last) {
      throw this.e.invalid(`the payload holds ${this.changes} changes up to ${this.lastSeq}, the manifest says ${m.changes} up to ${m.seq.last}`);
    }
    for (const [t, n] of Object.entries(m.tables)) {
      if (this.counts.get(t) !== n) throw this.e.invalid(`table ${shownName(t)} has ${this.counts.get(t) ?? 0} changes, the manifest says ${n}`);
    }
  }
}

/**
 * A clock part beyond 2^53−1 cannot be held exactly by a reader that parses JSON numbers as
 * doubles (JavaScript's, and most): two different clocks could compare equal, or in the wrong
 * order. The schema bounds each part; this says so in the format's words.
 */
function clockProblem(o: Record<string, unknown>): string | undefined {
  if (!Array.isArray(o.clock) || o.clock.length !== 2) return undefined;
  const bad = o.clock.findIndex((v) => typeof v === 'number' && !(Number.isSafeInteger(v) && v >= 0));
  if (bad < 0) return undefined;
  return `clock ${bad === 0 ? 'wall' : 'counter'}: must be an integer from 0 to 2^53−1 (${Number.MAX_SAFE_INTEGER})`;
}

/**
 * A base that is not a row digest, said in the format's words. The base itself is not shown: it
 * is the digest of a patient's row, and a row of few possible values can be found from it.
 */
function baseProblem(o: Record<string, unknown>): string | undefined {
  if (o.base === undefined || (typeof o.base === 'string' && ROW_DIGEST_PATTERN.test(o.base))) return undefined;
  return 'base: must be a row digest, 64 lowercase hex digits (docs/FORMAT.md "Row digest")';
}

/** A schema problem of a table record, said in the words of the format: which column, which rule. */
function tableProblem(o: Record<string, unknown>, problem: string): string {
  if (problem.startsWith('scope: ')) return 'scope: must be "facility" or "shared" (docs/FORMAT.md "Table scope")';
  const text = problem.replace(/must match pattern ".*"$/, 'does not follow the grammar of docs/FORMAT.md "Names and types"');
  const at = /^columns\.(\d+)\.(name|type): (.*)$/.exec(text);
  const column = at && Array.isArray(o.columns) ? (o.columns[Number(at[1])] as { name?: unknown } | undefined) : undefined;
  if (!at || typeof column?.name !== 'string') return text;
  return `column ${shownName(column.name)} (number ${Number(at[1]) + 1}): ${at[2] === 'name' ? 'the name' : 'the declared type'} ${at[3]}`;
}
