/**
 * An EMR database restored from a backup takes its change counter back: without a fence, the
 * changes made after the restore would get sequence numbers the hub already holds, and the hub
 * (and the facility's own ack pruning) would take them as delivered. They would be lost
 * without a word.
 *
 * Two pieces of evidence, both immune to clocks that disagree between sites:
 * - This node's record of each bundle it made, with the EMR's own hybrid clock at that moment.
 *   Every change a bundle carried was captured at or before that clock reading, so a change
 *   with the same number but a later clock reading was captured after it: a reused number.
 *   Such changes, and every change captured after them, are renumbered above every number
 *   ever sent, in their order.
 * - The hub's acks: a hub cannot hold numbers this EMR has not made yet, so a counter below
 *   them has gone back; it is moved above them, so that no further number is reused.
 */
import { q } from '../core/sql-identifier.js';
import { lastSeq, logTable, trackedTables, type Db } from './change-log.js';

/** A range of numbers this node sent in one bundle, and the EMR's clock when the bundle was made. */
export interface SentRange {
  first: number;
  last: number;
  wall: number;
  counter: number;
}

export interface RestoreFence {
  /** the change counter found in the EMR database */
  counter_was: number;
  /** the highest number ever sent, or held by the hub */
  highest_sent: number;
  /** changes renumbered because they reused sent numbers (0 when only the counter was behind) */
  renumbered: number;
  /** the first number given to them */
  renumbered_from?: number;
}

const later = (a: { wall: number; counter: number }, b: { wall: number; counter: number }) => a.wall > b.wall || (a.wall === b.wall && a.counter > b.counter);

/** Was the change with this number captured after a bundle that already carried the number? */
function reusesSent(sent: SentRange[], change: { seq: number; wall: number; counter: number }): boolean {
  return sent.some((r) => change.seq >= r.first && change.seq <= r.last && later(change, r));
}

/**
 * Fence the change log against numbers already sent (`sent`) or held by the hub (`hubHolds`,
 * the highest number its acks confirm). Returns what was done, or undefined if nothing was needed.
 */
export function fenceReusedSeqs(db: Db, sent: SentRange[], hubHolds = 0): RestoreFence | undefined {
  const highestSent = Math.max(hubHolds, ...sent.map((r) => r.last));
  if (highestSent === 0) return undefined;
  const run = db.transaction((): RestoreFence | undefined => {
    const counterWas = lastSeq(db);
    const tables = trackedTables(db);
    // Walk down from the highest sent number while changes reuse it: after a restore those form
    // a run at the top (numbers are handed out in capture order). Normally one lookup.
    const below = tables.map((t) => db.prepare(`SELECT ferry_seq AS seq, ferry_wall AS wall, ferry_counter AS counter FROM ${q(logTable(t))} WHERE ferry_seq < ? ORDER BY ferry_seq DESC LIMIT 1`));
    let firstReused: number | undefined;
    for (let cursor = highestSent + 1; ; ) {
      let top: { seq: number; wall: number; counter: number } | undefined;
      for (const s of below) {
        const r = s.get(cursor) as { seq: number; wall: number; counter: number } | undefined;
        if (r && (!top || r.seq > top.seq)) top = r;
      }
      if (!top || !reusesSent(sent, top)) break;
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
    return { counter_was: counterWas, highest_sent: highestSent, renumbered, ...(renumbered ? { renumbered_from: base + 1 } : {}) };
  });
  return run.immediate();
}
