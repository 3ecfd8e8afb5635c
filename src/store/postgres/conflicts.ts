/** Conflict records on PostgreSQL, and the operator's override of one in one transaction (as src/store/sqlite/conflicts.ts). */
import type { PoolClient } from 'pg';
import { q } from '../../core/sql-identifier.js';
import type { EncodedValue } from '../../format/values.js';
import type { ConflictRecord, ResolveOutcome } from '../hub-store.js';
import { columnTypes, hubTable, takeHubLock } from './tables.js';
import { one } from './sql.js';
import { arrayParam, Misfit, toPgParam, type PgParam, type PgType } from './values.js';

export function conflictOf(r: Record<string, unknown>): ConflictRecord {
  return {
    id: Number(r.id),
    table: r.tbl as string,
    key: JSON.parse(r.key as string) as EncodedValue[],
    detected_at: r.detected_at as string,
    bundle_id: r.bundle_id as string,
    current: { origin: r.current_origin as string, seq: Number(r.current_seq), clock: r.current_clock as string, row: JSON.parse(r.current_row as string) as Record<string, EncodedValue> | null },
    other: { origin: r.other_origin as string, seq: Number(r.other_seq), clock: r.other_clock as string, row: JSON.parse(r.other_row as string) as Record<string, EncodedValue> | null },
    resolved_at: (r.resolved_at as string | null) ?? null,
    resolution: (r.resolution as string | null) ?? null,
    flag: (r.flag as string | null) ?? null,
  };
}

export async function resolveConflictIn(c: PoolClient, id: number, keep: 'current' | 'other', o: { at: Date; hubId: string; resolution: string }): Promise<ResolveOutcome> {
  await c.query('BEGIN');
  try {
    // Shared rows are written under the hub-wide lock, by bundles and by overrides alike.
    await takeHubLock(c);
    const row = (await c.query('SELECT * FROM ferry_conflicts WHERE id = $1', [id])).rows[0];
    if (!row) {
      await c.query('ROLLBACK');
      return { resolved: false, rowNow: undefined };
    }
    const conflict = conflictOf(row);
    const key = row.key as string;
    let changed = false;
    if (keep === 'other') {
      const v = (await c.query('SELECT origin, seq, wall, counter FROM ferry_rows WHERE tbl = $1 AND key = $2', [conflict.table, key])).rows[0];
      if (!v || v.origin !== conflict.current.origin || Number(v.seq) !== conflict.current.seq) {
        await c.query('ROLLBACK');
        return { resolved: false, rowNow: v ? { origin: v.origin as string, seq: Number(v.seq) } : undefined };
      }
      await writeVersion(c, conflict, conflict.other.row);
      const wall = Math.max(Number(v.wall), o.at.getTime());
      const counter = wall === Number(v.wall) ? Number(v.counter) + 1 : 0;
      await c.query('UPDATE ferry_rows SET origin = $1, seq = 0, wall = $2, counter = $3, deleted = $4, ahead = 0 WHERE tbl = $5 AND key = $6', [o.hubId, wall, counter, conflict.other.row ? 0 : 1, conflict.table, key]);
      changed = true;
    }
    await c.query('UPDATE ferry_conflicts SET resolved_at = $1, resolution = $2 WHERE id = $3', [o.at.toISOString(), o.resolution, id]);
    await c.query('COMMIT');
    return { resolved: true, changed };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function writeVersion(c: PoolClient, conflict: ConflictRecord, row: Record<string, EncodedValue> | null): Promise<void> {
  const t = (await hubTable(c, conflict.table))!;
  const types = await columnTypes(c, t.name);
  const typeOf = (col: string): PgType => types.get(col.toLowerCase()) ?? 'jsonb';
  const param = (v: EncodedValue, type: PgType): PgParam => {
    const p = toPgParam(v, type);
    // The version was held in this very column: it fits, unless the column changed since.
    if (p instanceof Misfit) throw new Error(`conflict ${conflict.id}: a value no longer fits its column`);
    return p;
  };
  if (!row) {
    await one(c, `DELETE FROM ${q(t.name)} WHERE ${t.key.map((k, i) => `${q(k)} = $${i + 1}::${typeOf(k)}`).join(' AND ')}`, conflict.key.map((v, i) => param(v, typeOf(t.key[i]!))));
    return;
  }
  const cols = Object.keys(row);
  const rest = cols.filter((col) => !t.key.includes(col));
  const action = rest.length ? `DO UPDATE SET ${rest.map((col) => `${q(col)} = excluded.${q(col)}`).join(', ')}` : 'DO NOTHING';
  await one(
    c,
    `INSERT INTO ${q(t.name)} (${cols.map(q).join(', ')}) SELECT * FROM unnest(${cols.map((col, i) => `$${i + 1}::${typeOf(col)}[]`).join(', ')}) ON CONFLICT (${t.key.map(q).join(', ')}) ${action}`,
    cols.map((col) => [arrayParam(param(row[col]!, typeOf(col)))]),
  );
}
