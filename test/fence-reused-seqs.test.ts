/**
 * fenceReusedSeqs on its own, on a change log built by hand: which numbers count as reused (the
 * same number, captured at a later clock than the bundle that carried it), how they move (above
 * every number ever sent, in capture order, across tables), and the counter moved above the hub's.
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { lastSeq, logTable, openEmrDb, trackedTables, type Db } from '../src/capture/change-log.js';
import { fenceReusedSeqs, type SentRange } from '../src/capture/restore-fence.js';
import { trackTable } from '../src/capture/track.js';
import { tempDir } from './helpers/env.js';

/** An EMR with two tracked tables and one change per entry of `rows` ('p:a' inserts a into p), seqs from 1. */
function emrWithChanges(t: ExecutionContext, rows: string[]): Db {
  const path = join(tempDir(t), 'emr.db');
  const setup = new Database(path);
  setup.exec('CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE q (id TEXT PRIMARY KEY)');
  setup.close();
  const db = openEmrDb(path);
  t.teardown(() => db.close());
  for (const table of ['p', 'q']) trackTable(db, table, undefined, Date.now(), new Date().toISOString());
  for (const r of rows) {
    const [table, id] = r.split(':');
    db.prepare(`INSERT INTO ${table} (id) VALUES (?)`).run(id);
  }
  return db;
}

/** Set the clock a change was captured at (the triggers take the real time). */
function capturedAt(db: Db, seq: number, wall: number, counter = 0): void {
  for (const table of trackedTables(db)) db.prepare(`UPDATE ${logTable(table)} SET ferry_wall = ?, ferry_counter = ? WHERE ferry_seq = ?`).run(wall, counter, seq);
}

/** The change log in seq order, as `seq table:id`. */
function changeLog(db: Db): string[] {
  return trackedTables(db)
    .flatMap((table) => (db.prepare(`SELECT ferry_seq AS seq, id FROM ${logTable(table)}`).all() as Array<{ seq: number; id: string }>).map((r) => ({ ...r, table: table.name })))
    .sort((a, b) => a.seq - b.seq)
    .map((r) => `${r.seq} ${r.table}:${r.id}`);
}

const bundle = (first: number, last: number, wall: number, counter = 0): SentRange => ({ first, last, wall, counter });

test('nothing sent and nothing held by the hub: nothing to fence', (t) => {
  const db = emrWithChanges(t, ['p:a', 'q:b']);
  t.is(fenceReusedSeqs(db, []), undefined);
  t.deepEqual(changeLog(db), ['1 p:a', '2 q:b']);
  t.is(lastSeq(db), 2);
});

test('no restore: changes captured up to the bundle and new ones after it keep their numbers', (t) => {
  const db = emrWithChanges(t, ['p:a', 'q:b', 'p:c', 'q:d']);
  [1001, 1002, 1003].forEach((wall, i) => capturedAt(db, i + 1, wall));
  capturedAt(db, 4, 2004);
  // The bundle carried 1–3; the clock read exactly change 3's when it was made: captured "at", not after.
  t.is(fenceReusedSeqs(db, [bundle(1, 3, 1003)]), undefined);
  t.deepEqual(changeLog(db), ['1 p:a', '2 q:b', '3 p:c', '4 q:d']);
  t.is(lastSeq(db), 4);
});

test('after a restore, numbers reused since are moved above every number sent, in capture order, across tables', (t) => {
  // Sent: 1–5 in a bundle made at clock 1005.0. The EMR was then restored to a backup taken after
  // change 3; the three changes made since took 4, 5 and 6 again.
  const db = emrWithChanges(t, ['p:a', 'q:b', 'p:c', 'q:new1', 'p:new2', 'q:new3']);
  [1001, 1002, 1003].forEach((wall, i) => capturedAt(db, i + 1, wall));
  capturedAt(db, 4, 1005, 1); // the same wall as the bundle, a later counter: after it
  capturedAt(db, 5, 2005);
  capturedAt(db, 6, 2006);
  const fence = fenceReusedSeqs(db, [bundle(1, 5, 1005, 0)]);
  t.deepEqual(fence, { counter_was: 6, highest_sent: 5, renumbered: 3, renumbered_from: 7 });
  t.deepEqual(changeLog(db), ['1 p:a', '2 q:b', '3 p:c', '7 q:new1', '8 p:new2', '9 q:new3']);
  t.is(lastSeq(db), 9, 'the next change is numbered 10');
  t.is(fenceReusedSeqs(db, [bundle(1, 5, 1005, 0)]), undefined, 'fenced once: nothing more to do');
});

test('only the run at the top that was captured after the bundle moves', (t) => {
  // Sent 1–5 at 1005; restored to a backup taken after change 4: only the new 5 reuses a number.
  const db = emrWithChanges(t, ['p:a', 'q:b', 'p:c', 'q:d', 'p:new']);
  [1001, 1002, 1003, 1004].forEach((wall, i) => capturedAt(db, i + 1, wall));
  capturedAt(db, 5, 3000);
  t.deepEqual(fenceReusedSeqs(db, [bundle(1, 2, 1002), bundle(3, 5, 1005)]), { counter_was: 5, highest_sent: 5, renumbered: 1, renumbered_from: 6 });
  t.deepEqual(changeLog(db), ['1 p:a', '2 q:b', '3 p:c', '4 q:d', '6 p:new']);
});

test('a counter behind what the hub holds is moved above it; no change is renumbered', (t) => {
  const db = emrWithChanges(t, ['p:a', 'q:b', 'p:c']);
  t.deepEqual(fenceReusedSeqs(db, [], 10), { counter_was: 3, highest_sent: 10, renumbered: 0 });
  t.deepEqual(changeLog(db), ['1 p:a', '2 q:b', '3 p:c']);
  db.prepare("INSERT INTO p (id) VALUES ('next')").run();
  t.deepEqual(changeLog(db).at(-1), '11 p:next', 'the next change takes a number the hub does not hold');
});
