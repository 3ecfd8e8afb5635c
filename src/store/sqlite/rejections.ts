/**
 * ferry_rejected read back for the operator, grouped: a bundle of a thousand changes rejected for
 * one reason is one line, not a thousand. The reasons name tables, columns and seqs only.
 */
import type { RejectedChanges, Rejections } from '../hub-store.js';
import type { Db } from './hub-db.js';

const GROUPED = `SELECT origin, tbl AS "table", reason, count(*) AS changes, min(seq) AS first_seq, max(seq) AS last_seq,
  max(attempts) AS attempts, max(at) AS last_at FROM ferry_rejected`;
const ORDER = 'GROUP BY origin, tbl, reason ORDER BY origin, tbl, min(seq)';

export function rejectedChanges(db: Db, bundle?: { origin: string; bundleId: string }): RejectedChanges[] {
  const rows = bundle
    ? db.prepare(`${GROUPED} WHERE origin = ? AND bundle_id = ? ${ORDER}`).all(bundle.origin, bundle.bundleId)
    : db.prepare(`${GROUPED} ${ORDER}`).all();
  return (rows as RejectedChanges[]).map((r) => ({ ...r, changes: Number(r.changes), first_seq: Number(r.first_seq), last_seq: Number(r.last_seq), attempts: Number(r.attempts) }));
}

/** A bundle's rejections while it is applied, per table and reason, in the order first met. */
export class RejectionTally {
  private readonly groups = new Map<string, Rejections>();

  add(table: string, reason: string, seq: number): void {
    const id = `${table}\u0000${reason}`;
    const g = this.groups.get(id);
    if (!g) this.groups.set(id, { table, reason, changes: 1, first_seq: seq, last_seq: seq });
    else {
      g.changes++;
      g.first_seq = Math.min(g.first_seq, seq);
      g.last_seq = Math.max(g.last_seq, seq);
    }
  }

  toArray(): Rejections[] {
    return [...this.groups.values()];
  }
}
