/**
 * Hub tables in PostgreSQL, made and grown from the table records of bundles, as the SQLite hub's
 * ensureTable does (src/store/sqlite/hub-db.ts), with typed columns (values.ts pgTypeFor).
 *
 * Only checked names reach SQL, always quoted; a type is always one of PG_TYPES, chosen by ferry,
 * never the record's type text. Names compare without case (ferry_tables.name_key), as at a SQLite
 * hub. A table of the same name that ferry did not make is refused, never adopted: on PostgreSQL
 * the hub database is shared with reporting systems, and a table someone made there is theirs.
 *
 * Changes to the schema run under the hub-wide lock (HUB_LOCK), so two stations growing the same
 * table at once do it one after the other and the second sees the first's columns.
 */
import type { PoolClient } from 'pg';
import { q } from '../../core/sql-identifier.js';
import { duplicateName, isReservedColumnName, isReservedName, nameKey, nameProblem } from '../../format/names.js';
import { scopeName, type ColumnSpec, type TableRecord, type TableScope } from '../../format/records.js';
import type { HubTable } from '../hub-store.js';
import { pgTypeFor, PG_TYPES, type PgType } from './values.js';
import { one } from './sql.js';

export const ORIGIN_COLUMN = 'ferry_origin';

/** A table keeps at most this many columns at the hub (PostgreSQL's own limit is 1,600). */
export const MAX_HUB_COLUMNS = 1000;

export const hubKey = (scope: TableScope, key: string[]): string[] => (scope === 'facility' ? [ORIGIN_COLUMN, ...key] : key);

/** Held to commit by a bundle that changes the schema or a shared table: one such bundle at a time, whichever station. */
export async function takeHubLock(c: PoolClient): Promise<void> {
  await c.query({ name: 'ferry-hub-lock', text: "SELECT pg_advisory_xact_lock(hashtext('ferry-hub'), 0)" });
}

interface CatalogRow {
  name: string;
  key_columns: string;
  columns: string;
  scope: TableScope;
}

export async function hubTables(c: Pick<PoolClient, 'query'>): Promise<HubTable[]> {
  const r = await c.query<CatalogRow>('SELECT name, key_columns, columns, scope FROM ferry_tables ORDER BY name_key');
  return r.rows.map((x) => ({ name: x.name, key: JSON.parse(x.key_columns) as string[], columns: JSON.parse(x.columns) as ColumnSpec[], scope: x.scope }));
}

/** A hub table by name, compared without case. */
export async function hubTable(c: Pick<PoolClient, 'query'>, name: string): Promise<HubTable | undefined> {
  const r = await c.query<CatalogRow>('SELECT name, key_columns, columns, scope FROM ferry_tables WHERE name_key = $1', [nameKey(name)]);
  const x = r.rows[0];
  return x ? { name: x.name, key: JSON.parse(x.key_columns) as string[], columns: JSON.parse(x.columns) as ColumnSpec[], scope: x.scope } : undefined;
}

/** Each column's PostgreSQL type as the table has it now, by name key. */
export async function columnTypes(c: Pick<PoolClient, 'query'>, table: string): Promise<Map<string, PgType>> {
  const r = await c.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const out = new Map<string, PgType>();
  for (const x of r.rows) if ((PG_TYPES as readonly string[]).includes(x.data_type)) out.set(nameKey(x.column_name), x.data_type as PgType);
  return out;
}

export interface EnsuredTable {
  /** the hub's spelling of the table */
  name: string;
  /** the hub's spelling of each of the record's columns, in the record's order */
  columns: string[];
  /** the hub column's type of each of the record's columns */
  types: PgType[];
}

const scopeMismatch = (table: string, held: TableScope, sent: TableScope): string =>
  `table ${table} is ${scopeName(held)} at this hub but ${scopeName(sent)} at the sender; its changes wait at the facility until the scope is the same at both (docs/OPERATIONS.md "Changing a table's scope")`;

const columnDefinition = (c: ColumnSpec): string => `${q(c.name)} ${pgTypeFor(c.type)}`;

/**
 * Make the hub table match a table record: create it, or add the columns it lacks. The hub's
 * names and types, or a reason the record cannot be applied here. `locked`: whether this
 * transaction holds the hub-wide lock already; `lock` takes it.
 */
export async function ensureTable(c: PoolClient, t: TableRecord, lock: () => Promise<void>): Promise<EnsuredTable | { refused: string }> {
  const badName = [t.table, ...t.columns.map((x) => x.name)].find((n) => nameProblem(n) !== undefined);
  if (badName !== undefined) return { refused: `table ${t.table}: the name ${badName} ${nameProblem(badName)}` };
  if (isReservedName(t.table) || nameKey(t.table).startsWith('pg_')) return { refused: `table name ${t.table} is reserved` };
  const reservedColumn = t.columns.find((x) => isReservedColumnName(x.name));
  if (reservedColumn) return { refused: `table ${t.table}: the column name ${reservedColumn.name} is reserved` };
  const duplicate = duplicateName(t.columns.map((x) => x.name));
  if (duplicate) return { refused: `table ${t.table}: the column ${duplicate} is named twice (names are compared without case)` };

  let known = await hubTable(c, t.table);
  const missing = (k: HubTable) => {
    const have = new Set(k.columns.map((x) => nameKey(x.name)));
    return t.columns.filter((x) => !have.has(nameKey(x.name)));
  };
  if (!known || missing(known).length > 0) {
    // Read again under the lock: another station may have made the table or its columns meanwhile.
    await lock();
    known = await hubTable(c, t.table);
  }
  if (known) {
    if (known.scope !== t.scope) return { refused: scopeMismatch(known.name, known.scope, t.scope) };
    if (known.key.map(nameKey).join('\u0000') !== t.key.map(nameKey).join('\u0000')) {
      return {
        refused: `table ${known.name} is keyed by ${known.key.join(',')} at the hub, but by ${t.key.join(',')} at the sender; its changes wait at the facility until the key is the same at both (docs/OPERATIONS.md Troubleshooting, "A facility's pending count never reaches 0")`,
      };
    }
    const added = missing(known);
    if (known.columns.length + added.length > MAX_HUB_COLUMNS) return { refused: `table ${known.name} would have ${known.columns.length + added.length} columns at the hub, more than ${MAX_HUB_COLUMNS}` };
    for (const col of added) await one(c, `ALTER TABLE ${q(known.name)} ADD COLUMN IF NOT EXISTS ${columnDefinition(col)}`);
    if (added.length) await c.query('UPDATE ferry_tables SET columns = $1 WHERE name_key = $2', [JSON.stringify([...known.columns, ...added]), nameKey(known.name)]);
    return spelled(c, t, known.name);
  }
  if (t.columns.length > MAX_HUB_COLUMNS) return { refused: `table ${t.table} has ${t.columns.length} columns, more than ${MAX_HUB_COLUMNS}` };
  const other = await c.query('SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND lower(table_name) = $1', [nameKey(t.table)]);
  if (other.rowCount) return { refused: `a table named ${t.table} is in the hub database already, and ferry did not make it; ferry never writes into a table it did not make (rename that one, or keep it in another schema)` };
  const origin = t.scope === 'facility' ? [`${q(ORIGIN_COLUMN)} text NOT NULL`] : [];
  await one(c, `CREATE TABLE ${q(t.table)} (${[...origin, ...t.columns.map(columnDefinition)].join(', ')}, PRIMARY KEY (${hubKey(t.scope, t.key).map(q).join(', ')}))`);
  await c.query('INSERT INTO ferry_tables (name, name_key, key_columns, columns, scope) VALUES ($1, $2, $3, $4, $5)', [t.table, nameKey(t.table), JSON.stringify(t.key), JSON.stringify(t.columns), t.scope]);
  return spelled(c, t, t.table);
}

async function spelled(c: PoolClient, t: TableRecord, name: string): Promise<EnsuredTable> {
  const r = await c.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [name],
  );
  const byKey = new Map(r.rows.map((x) => [nameKey(x.column_name), x]));
  const columns: string[] = [];
  const types: PgType[] = [];
  for (const col of t.columns) {
    const held = byKey.get(nameKey(col.name));
    columns.push(held?.column_name ?? col.name);
    types.push((held?.data_type as PgType | undefined) ?? pgTypeFor(col.type));
  }
  return { name, columns, types };
}
