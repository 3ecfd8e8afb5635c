/**
 * An EMR database restored from a backup takes its change counter back with it: without a
 * fence, the changes made after the restore would get sequence numbers the hub already holds,
 * and the hub (and the facility's own ack pruning) would take them as delivered. They would
 * be lost without a word.
 *
 * A change that reuses a number is recognised by its capture time: it was captured after the
 * bundle (or ack) that already carried that number was made, which cannot happen without a
 * restore. Such changes, and every change captured after them, are renumbered above every
 * number ever sent, in their order. A false alarm (a system clock set back) costs only a
 * re-sent change; a miss would lose one, so the earliest known time of each number is used.
 */
import { q } from './sql.js';
import { lastSeq, logTable, trackedTables, type Db } from './change-log.js';

/** A range of sequence numbers that left this node (a bundle) or that the hub confirmed (an ack), and when. */
export interface SentRange {
  first: number;
  last: number;
  atMs: number;
}

export interface RestoreFence {
  /** the change counter found in the EMR database */
  counterWas: number;
  /** the highest number ever sent or confirmed */
  highestSent: number;
  /** changes renumbered because they reused sent numbers (0 when only the counter was behind) */
  renumbered: number;
  /** the first number given to them (and the counter now continues above every sent number) */
  renumberedFrom?: number;
}

/** The earliest time a number was sent, or undefined if it never was. */
function sentAt(ranges: SentRange[], seq: number): number | undefined {
  let at: number | undefined;
  for (const r of ranges) if (seq >= r.first && seq <= r.last && (at === undefined || r.atMs < at)) at = r.atMs;
  return at;
}

/** Fence the change log against numbers already sent. Returns what was done, or undefined if nothing was needed. */
export function fenceReusedSeqs(db: Db, sent: SentRange[]): RestoreFence | undefined {
  if (sent.length === 0) return undefined;
  const highestSent = Math.max(...sent.map((r) => r.last));
  const run = db.transaction((): RestoreFence | undefined => {
    const counterWas = lastSeq(db);
    const tables = trackedTables(db);
    // Walk down from the highest sent number while changes were captured after it was sent:
    // after a restore those form a run at the top (numbers are handed out in order).
    const below = tables.map((t) => db.prepare(`SELECT ferry_seq AS seq, ferry_wall AS wall FROM ${q(logTable(t))} WHERE ferry_seq < ? ORDER BY ferry_seq DESC LIMIT 1`));
    let firstReused: number | undefined;
    for (let cursor = highestSent + 1; ; ) {
      let top: { seq: number; wall: number } | undefined;
      for (const s of below) {
        const r = s.get(cursor) as { seq: number; wall: number } | undefined;
        if (r && (!top || r.seq > top.seq)) top = r;
      }
      const at = top ? sentAt(sent, top.seq) : undefined;
      if (!top || at === undefined || top.wall <= at) break;
      firstReused = top.seq;
      cursor = top.seq;
    }
    if (firstReused === undefined && counterWas >= highestSent) return undefined;
    const base = Math.max(highestSent, counterWas);
    let renumbered = 0;
    if (firstReused !== undefined) {
      // Every change from the first reused one on, in capture order, moves above `base`.
      const moving = tables
        .flatMap((t) => (db.prepare(`SELECT ferry_seq AS seq FROM ${q(logTable(t))} WHERE ferry_seq >= ?`).all(firstReused) as Array<{ seq: number }>).map((r) => ({ t, seq: r.seq })))
        .sort((a, b) => a.seq - b.seq);
      const update = new Map(tables.map((t) => [t.id, db.prepare(`UPDATE ${q(logTable(t))} SET ferry_seq = ? WHERE ferry_seq = ?`)]));
      for (const m of moving) update.get(m.t.id)!.run(base + ++renumbered, m.seq);
    }
    db.prepare('UPDATE ferry_clock SET seq = ? WHERE id = 1').run(base + renumbered);
    return { counterWas, highestSent, renumbered, ...(renumbered ? { renumberedFrom: base + 1 } : {}) };
  });
  return run.immediate();
}
