/**
 * Converting one hub table between the two scopes, inside the caller's transaction (`ferry
 * migrate`, `ferry rescope`): the table rebuilt with or without ferry_origin first, its ferry_rows
 * versions re-keyed (a facility-owned row's version is keyed by keyText([origin, ...key])), and the
 * rows the merge by source key had hidden in conflict records given back to their facilities.
 *
 * Names reach SQL only quoted, and a column's declared type only as one of SQLite's five
 * affinities, never as the text it was declared with. Values never leave the database except to
 * compute key texts and compare rows; none is ever put in a message.
 */
import { q } from '../../core/sql-identifier.js';
import { nameKey, typeAffinity } from '../../format/names.js';
import { decodeValue, encodeValue, keyText, type EncodedValue, type SqlValue } from '../../format/values.js';
import { compareVersions } from './apply-bundle.js';
import { ORIGIN_COLUMN, rowCount, type Db } from './hub-db.js';

/** The rebuilt table's name until it takes the old one's: ferry_ names are the hub's own, never a tracked table's. */
const REBUILT = 'ferry_rebuilt_table';

/** A hub table as the conversions need it: its name and key columns as ferry_tables holds them. */
export interface ScopedTable {
  name: string;
  key: string[];
}

/**
 * The SQL functions the conversions use, on this connection: the key text of a row's key values
 * (as the apply computes it from a bundle's values: a hub table keeps each value in the storage
 * class it arrived in), that text with the origin put first or taken off, a row's text for
 * comparing rows, and the version rule.
 */
export function registerScopeFunctions(db: Db): void {
  db.function('ferry_key_text', { deterministic: true, varargs: true, safeIntegers: true }, (...values: unknown[]) => keyText(values.map(encodeValue)));
  db.function('ferry_key_with_origin', { deterministic: true }, (origin: unknown, key: unknown) => keyText([origin as string, ...(JSON.parse(key as string) as EncodedValue[])]));
  db.function('ferry_key_without_origin', { deterministic: true }, (key: unknown) => keyText((JSON.parse(key as string) as EncodedValue[]).slice(1)));
  db.function('ferry_row_text', { deterministic: true, varargs: true, safeIntegers: true }, (...values: unknown[]) => JSON.stringify(values.map(encodeValue)));
  // (deleted, origin, seq, wall, counter, ahead) of a version a, then of b: 1 when a is to be kept
  // over b. A row someone still holds outlives another facility's delete of its own copy.
  db.function('ferry_version_later', { deterministic: true, varargs: true }, (...v: unknown[]) => {
    const [ad, ao, as, aw, ac, aa, bd, bo, bs, bw, bc, ba] = v as [number, string, number, number, number, number, number, string, number, number, number, number];
    if (ad !== bd) return ad ? 0 : 1;
    return compareVersions({ origin: ao, seq: as, wall: aw, counter: ac, ahead: aa }, { origin: bo, seq: bs, wall: bw, counter: bc, ahead: ba }) > 0 ? 1 : 0;
  });
}

interface HeldColumn {
  name: string;
  type: string;
}

/** The table's columns as SQLite holds them, ferry_origin left out. */
function sourceColumns(db: Db, table: string): HeldColumn[] {
  return (db.prepare('SELECT name, type FROM pragma_table_info(?) ORDER BY cid').all(table) as HeldColumn[]).filter((c) => nameKey(c.name) !== ORIGIN_COLUMN);
}

/**
 * A column's definition in the rebuilt table: its quoted name and the affinity it had, so every
 * value keeps the storage class it is in now (tables ferry made have no type, hence no affinity).
 */
function columnDefinition(c: HeldColumn): string {
  const affinity = typeAffinity(c.type);
  return affinity === 'BLOB' ? q(c.name) : `${q(c.name)} ${affinity}`;
}

const keyTextOf = (key: string[], alias: string) => `ferry_key_text(${key.map((k) => `${alias}.${q(k)}`).join(', ')})`;

/**
 * Replace `table` by the rebuilt table. The old one's indexes and triggers go with it. Legacy
 * renaming leaves views alone: a view naming the table reads the rebuilt one (modern renaming
 * would refuse while a view names the table just dropped).
 */
function replaceTable(db: Db, table: string): void {
  db.prepare(`DROP TABLE ${q(table)}`).run();
  const legacy = Number(db.pragma('legacy_alter_table', { simple: true }));
  db.pragma('legacy_alter_table = ON');
  try {
    db.prepare(`ALTER TABLE ${q(REBUILT)} RENAME TO ${q(table)}`).run();
  } finally {
    db.pragma(`legacy_alter_table = ${legacy ? 'ON' : 'OFF'}`);
  }
}

/**
 * Rows of a shared-shaped table (keyed by its source key) whose facility nobody can tell: rows no
 * ferry_rows version names (a table made or filled outside ferry), and rows an operator's override
 * wrote that no conflict record explains (see attributeOverrides).
 */
export function unownedRows(db: Db, t: ScopedTable): number {
  const unversioned = db.prepare(`SELECT count(*) AS n FROM ${q(t.name)} AS t WHERE NOT EXISTS (SELECT 1 FROM ferry_rows AS v WHERE v.tbl = ? AND v.key = ${keyTextOf(t.key, 't')})`).get(t.name) as { n: number };
  const unexplained = db.prepare(`SELECT count(*) AS n FROM ferry_rows AS v WHERE v.tbl = ? AND v.seq = 0 AND v.deleted = 0 AND NOT EXISTS (${KEPT_OTHER})`).get(t.name) as { n: number };
  return Number(unversioned.n) + Number(unexplained.n);
}

/**
 * The facility whose row an operator's `conflicts resolve --keep other` kept for v's row; its text
 * is the one ferry's own command writes: "kept other (ORIGIN)". A record whose other side is the
 * hub's own earlier override (v's origin) kept that override's row: the facility is the one an
 * earlier record kept, never the hub.
 */
const KEPT_OTHER = "SELECT other_origin FROM ferry_conflicts AS c WHERE c.tbl = v.tbl AND c.key = v.key AND c.resolved_at IS NOT NULL AND c.resolution LIKE 'kept other%' AND c.other_origin <> v.origin ORDER BY c.resolved_at DESC, c.id DESC LIMIT 1";

/**
 * A version the hub wrote itself (an operator's `conflicts resolve --keep other`: origin the hub,
 * seq 0) belongs to the facility whose version the operator kept: its row is that facility's.
 * A tombstone no record explains stays the hub's: it names no row.
 */
export function attributeOverrides(db: Db, t: ScopedTable): void {
  db.prepare(`UPDATE ferry_rows AS v SET origin = coalesce((${KEPT_OTHER}), origin) WHERE v.tbl = ? AND v.seq = 0`).run(t.name);
}

/**
 * Shared to facility-owned: ferry_origin first, each row's the origin of its version, keyed by
 * (ferry_origin, key…). The caller has refused the table if any row has no known facility (unownedRows).
 */
export function makeFacilityOwned(db: Db, t: ScopedTable): void {
  attributeOverrides(db, t);
  const columns = sourceColumns(db, t.name);
  const names = columns.map((c) => q(c.name));
  db.prepare(`CREATE TABLE ${q(REBUILT)} (${q(ORIGIN_COLUMN)} TEXT NOT NULL, ${columns.map(columnDefinition).join(', ')}, PRIMARY KEY (${[ORIGIN_COLUMN, ...t.key].map(q).join(', ')}))`).run();
  db.prepare(
    `INSERT INTO ${q(REBUILT)} (${q(ORIGIN_COLUMN)}, ${names.join(', ')})
     SELECT v.origin, ${names.map((n) => `t.${n}`).join(', ')} FROM ${q(t.name)} AS t JOIN ferry_rows AS v ON v.tbl = ? AND v.key = ${keyTextOf(t.key, 't')}`,
  ).run(t.name);
  replaceTable(db, t.name);
  // What a facility had seen of a shared row says nothing of its own rows.
  db.prepare('DELETE FROM ferry_shared_rows WHERE tbl = ?').run(t.name);
  // Every version, tombstones included: a delete stays a delete of that facility's row only.
  db.prepare('UPDATE ferry_rows SET key = ferry_key_with_origin(origin, key) WHERE tbl = ?').run(t.name);
}

/** Most arguments a function of SQLite may take is 127 (SQLITE_MAX_FUNCTION_ARG's default). */
const ARGS_PER_CALL = 100;

/** A row's text over `columns`, for comparing whole rows (storage classes included) in SQL. */
function rowTextOf(columns: HeldColumn[], alias: string): string {
  const parts: string[] = [];
  for (let i = 0; i < columns.length; i += ARGS_PER_CALL) {
    parts.push(`ferry_row_text(${columns.slice(i, i + ARGS_PER_CALL).map((c) => `${alias}.${q(c.name)}`).join(', ')})`);
  }
  return parts.join(' || ');
}

/** Keys of a facility-owned table that two facilities hold with different rows: they cannot become one shared row. */
export function keysHeldDifferently(db: Db, t: ScopedTable): number {
  const columns = sourceColumns(db, t.name);
  const r = db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ${q(t.name)} AS t GROUP BY ${keyTextOf(t.key, 't')} HAVING count(DISTINCT ${rowTextOf(columns, 't')}) > 1)`).get() as { n: number };
  return Number(r.n);
}

/**
 * Facility-owned to shared: ferry_origin dropped, keyed by the source key; rows several facilities
 * hold alike become one (the caller has refused keys held with different rows). Each key keeps
 * one version: the later by compareVersions, a row still held over a delete of another copy.
 * Returns how many rows merged away.
 */
export function makeShared(db: Db, t: ScopedTable): number {
  const columns = sourceColumns(db, t.name);
  const names = columns.map((c) => q(c.name));
  const before = rowCount(db, t.name);
  db.prepare(`CREATE TABLE ${q(REBUILT)} (${columns.map(columnDefinition).join(', ')}, PRIMARY KEY (${t.key.map(q).join(', ')}))`).run();
  db.prepare(
    `INSERT INTO ${q(REBUILT)} (${names.join(', ')})
     SELECT ${names.join(', ')} FROM (SELECT ${names.map((n) => `t.${n}`).join(', ')}, row_number() OVER (PARTITION BY ${keyTextOf(t.key, 't')}) AS ferry_n FROM ${q(t.name)} AS t) WHERE ferry_n = 1`,
  ).run();
  replaceTable(db, t.name);
  db.prepare('CREATE TEMP TABLE ferry_kept_versions (key TEXT PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL, wall INTEGER NOT NULL, counter INTEGER NOT NULL, deleted INTEGER NOT NULL, ahead INTEGER NOT NULL) WITHOUT ROWID').run();
  try {
    const k = 'ferry_kept_versions';
    db.prepare(
      `INSERT INTO ${k} (key, origin, seq, wall, counter, deleted, ahead)
       SELECT ferry_key_without_origin(key), origin, seq, wall, counter, deleted, ahead FROM ferry_rows WHERE tbl = ? AND true
       ON CONFLICT (key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted, ahead = excluded.ahead
       WHERE ferry_version_later(excluded.deleted, excluded.origin, excluded.seq, excluded.wall, excluded.counter, excluded.ahead,
                                 ${k}.deleted, ${k}.origin, ${k}.seq, ${k}.wall, ${k}.counter, ${k}.ahead)`,
    ).run(t.name);
    db.prepare('DELETE FROM ferry_rows WHERE tbl = ?').run(t.name);
    db.prepare(`INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) SELECT ?, key, origin, seq, wall, counter, deleted, ahead FROM ${k}`).run(t.name);
    // Each kept version's facility held the whole row as its own, every column of it: it follows
    // its own version from here as if it had sent the row to the shared table (apply-bundle.ts).
    const described = JSON.stringify(columns.map((c) => nameKey(c.name)).sort());
    db.prepare('DELETE FROM ferry_shared_rows WHERE tbl = ?').run(t.name);
    db.prepare(`INSERT INTO ferry_shared_rows (tbl, key, origin, seq, columns) SELECT ?, key, origin, seq, ? FROM ${k}`).run(t.name, described);
  } finally {
    db.prepare('DROP TABLE temp.ferry_kept_versions').run();
  }
  return before - rowCount(db, t.name);
}

interface ConflictSides {
  id: number;
  key: string;
  current_origin: string;
  current_seq: number;
  current_clock: string;
  current_row: string | null;
  other_origin: string;
  other_seq: number;
  other_clock: string;
  other_row: string | null;
  flag: string | null;
}

/** One facility's version of a row, as a conflict record keeps it. */
interface RecordedVersion {
  origin: string;
  seq: number;
  clock: string;
  row: Record<string, EncodedValue> | null;
  ahead: number;
}

/**
 * A table that became facility-owned never had conflicts: what the merge by source key recorded
 * as two versions of one row were two facilities' rows. Each facility's latest version a record
 * holds (open, or resolved by an operator who had to pick one of two rows) comes back as its own
 * row, with that version in ferry_rows, when the facility holds no version of that key already;
 * then every open record of the table is closed with `resolution`.
 *
 * A version an operator's override wrote (seq 0) is nobody's version to restore. Within one
 * facility and key, the highest seq decides, a delete included (its row is not brought back).
 */
export function keepConflictsApart(db: Db, t: ScopedTable, o: { at: string; resolution: string }): { recovered: number; closed: number } {
  const records = db.prepare('SELECT id, key, current_origin, current_seq, current_clock, current_row, other_origin, other_seq, other_clock, other_row, flag FROM ferry_conflicts WHERE tbl = ? ORDER BY id').all(t.name) as ConflictSides[];
  const versions: Array<RecordedVersion & { key: string }> = [];
  for (const r of records) {
    versions.push({ key: r.key, origin: r.current_origin, seq: r.current_seq, clock: r.current_clock, row: parseRow(r.current_row), ahead: 0 });
    // The rule lets a clock from the future win only over another one: a flagged record's loser was ahead.
    versions.push({ key: r.key, origin: r.other_origin, seq: r.other_seq, clock: r.other_clock, row: parseRow(r.other_row), ahead: r.flag === 'clock-ahead' ? 1 : 0 });
  }
  versions.sort((a, b) => b.seq - a.seq);
  const columns = new Map(sourceColumns(db, t.name).map((c) => [nameKey(c.name), c.name]));
  const held = db.prepare('SELECT 1 FROM ferry_rows WHERE tbl = ? AND key = ?');
  const putVersion = db.prepare('INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES (?, ?, ?, ?, ?, ?, 0, ?)');
  const decided = new Set<string>();
  let recovered = 0;
  for (const v of versions) {
    if (v.seq === 0) continue;
    const key = keyText([v.origin, ...(JSON.parse(v.key) as EncodedValue[])]);
    if (decided.has(key)) continue;
    decided.add(key);
    if (v.row === null || held.get(t.name, key)) continue;
    const cols = Object.keys(v.row).filter((c) => columns.has(nameKey(c)));
    db.prepare(`INSERT INTO ${q(t.name)} (${[ORIGIN_COLUMN, ...cols.map((c) => columns.get(nameKey(c))!)].map(q).join(', ')}) VALUES (${['?', ...cols.map(() => '?')].join(', ')})`).run(
      v.origin,
      ...cols.map((c) => decodeValue(v.row![c]) as SqlValue),
    );
    const [wall, counter] = parseClock(v.clock);
    putVersion.run(t.name, key, v.origin, v.seq, wall, counter, v.ahead);
    recovered++;
  }
  const closed = db.prepare('UPDATE ferry_conflicts SET resolved_at = ?, resolution = ? WHERE tbl = ? AND resolved_at IS NULL').run(o.at, o.resolution, t.name).changes;
  return { recovered, closed };
}

const parseRow = (text: string | null): Record<string, EncodedValue> | null => (text === null ? null : (JSON.parse(text) as Record<string, EncodedValue> | null));

/** A conflict record's clock, "wall.counter" as apply-bundle.ts writes it. */
function parseClock(clock: string): [number, number] {
  const [wall, counter] = clock.split('.').map(Number);
  return [wall!, counter ?? 0];
}
