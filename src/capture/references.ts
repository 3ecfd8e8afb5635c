/**
 * The foreign keys an EMR's schema declares on a tracked table (PRAGMA foreign_key_list), as a
 * table record carries them (docs/FORMAT.md "References"). The hub follows them to find what
 * belongs to a record it sends to another facility. Read from the schema at every export, so a
 * key added later travels too.
 *
 * Anyone with access to the EMR can change its schema: a reference is sent only when every name
 * in it follows the format's name rules and its columns are columns the table record carries
 * (spelled as there); the rest are left out, never sent half. A reader checks again.
 */
import type { ColumnSpec, TableReference } from '../format/records.js';
import { isReservedName, nameKey, nameProblem } from '../format/names.js';
import type { Db } from './change-log.js';

/** At most this many per table: as many as a reader accepts. */
const MAX_REFERENCES = 64;

interface ForeignKeyRow {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
}

/** The primary key columns of `table` in order, spelled as declared; none when there is no such table. */
function primaryKey(db: Db, table: string): string[] {
  const rows = db.prepare('SELECT name, pk FROM pragma_table_info(?)').all(table) as Array<{ name: string; pk: number }>;
  return rows.filter((r) => r.pk > 0).sort((a, b) => a.pk - b.pk).map((r) => r.name);
}

const validName = (n: string | null | undefined): n is string => typeof n === 'string' && nameProblem(n) === undefined;

export function declaredReferences(db: Db, table: string, columns: readonly ColumnSpec[]): TableReference[] {
  const rows = db.prepare('SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(table) as ForeignKeyRow[];
  const spelled = new Map(columns.map((c) => [nameKey(c.name), c.name]));
  const byId = new Map<number, ForeignKeyRow[]>();
  for (const r of rows) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  const out: TableReference[] = [];
  for (const parts of byId.values()) {
    const target = parts[0]!.table;
    if (!validName(target) || isReservedName(target)) continue;
    const from = parts.map((p) => spelled.get(nameKey(p.from)));
    // `REFERENCES person` without columns means the referenced table's primary key.
    const to = parts.every((p) => p.to === null) ? primaryKey(db, target) : parts.map((p) => p.to);
    if (to.length !== from.length || !from.every(validName) || !to.every(validName)) continue;
    if (new Set(from.map(nameKey)).size !== from.length || new Set(to.map((n) => nameKey(n!))).size !== to.length) continue;
    out.push({ columns: from as string[], table: target, to: to as string[] });
    if (out.length === MAX_REFERENCES) break;
  }
  return out;
}
