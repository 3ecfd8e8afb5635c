/**
 * compareVersions, the conflict rule of docs/FORMAT.md on its own: between versions of a row from
 * different origins, the larger (clock.wall, clock.counter, origin) is kept, origin in byte order;
 * a clock that was more than a day ahead on arrival loses to one that was not. (Versions from the
 * same origin never reach it: the apply keeps the larger seq before asking.)
 */
import test from 'ava';
import { compareVersions, type Version } from '../src/store/sqlite/apply-bundle.js';

const v = (origin: string, wall: number, counter = 0, o: { seq?: number; ahead?: number } = {}): Version => ({ origin, seq: o.seq ?? 1, wall, counter, ...(o.ahead !== undefined ? { ahead: o.ahead } : {}) });

/** Which of the two is kept, asked both ways round: the rule must not depend on the order. */
function kept(a: Version, b: Version): Version {
  const ab = compareVersions(a, b);
  const ba = compareVersions(b, a);
  if (Math.sign(ab) !== -Math.sign(ba) || ab === 0) throw new Error(`not a strict order: ${ab} and ${ba}`);
  return ab > 0 ? a : b;
}

test('the later wall clock is kept, whatever the ids and seqs', (t) => {
  const later = v('RW-001', 2000, 0, { seq: 1 });
  const earlier = v('RW-999', 1999, 50, { seq: 9000 });
  t.is(kept(later, earlier), later);
});

test('on the same wall, the larger counter is kept, whatever the ids', (t) => {
  const more = v('RW-001', 2000, 3);
  t.is(kept(more, v('RW-002', 2000, 2)), more);
});

test('on the same clock, the larger origin id in byte order is kept', (t) => {
  const b = v('RW-002', 2000, 1, { seq: 1 });
  t.is(kept(b, v('RW-001', 2000, 1, { seq: 99 })), b, 'not the larger seq');
  const lower = v('rw-001', 2000, 1);
  t.is(kept(lower, v('RW-999', 2000, 1)), lower, 'byte order: lower-case letters sort after upper-case');
  const longer = v('RW-0011', 2000, 1);
  t.is(kept(longer, v('RW-001', 2000, 1)), longer, 'a prefix sorts first');
});

test('a clock that was a day ahead on arrival loses to one that was not, however late it says it is', (t) => {
  const honest = v('RW-001', 1000, 0, { ahead: 0 });
  const future = v('RW-002', 9_000_000_000_000, 0, { ahead: 1 });
  t.is(kept(honest, future), honest);
  t.is(kept(v('RW-003', 5, 0), future).origin, 'RW-003', 'a version without the flag counts as not ahead');
});

test('two versions both ahead, or neither, compare by their clocks', (t) => {
  const a = v('RW-001', 3000, 0, { ahead: 1 });
  t.is(kept(a, v('RW-002', 2000, 0, { ahead: 1 })), a);
  const b = v('RW-001', 3000, 0, { ahead: 0 });
  t.is(kept(b, v('RW-002', 2000, 0)), b);
});

test('a strict order: versions from different origins sort the same whatever order they come in', (t) => {
  const versions = [v('RW-002', 10, 0), v('RW-001', 10, 0), v('RW-004', 10, 1), v('RW-003', 9, 5), v('RW-005', 11, 0), v('RW-006', 1, 0, { ahead: 1 }), v('RW-007', 99, 0, { ahead: 1 })];
  const order = (list: Version[]) => [...list].sort(compareVersions).map((x) => `${x.origin}@${x.wall}.${x.counter}${x.ahead ? '!' : ''}`);
  const expected = ['RW-006@1.0!', 'RW-007@99.0!', 'RW-003@9.5', 'RW-001@10.0', 'RW-002@10.0', 'RW-004@10.1', 'RW-005@11.0'];
  t.deepEqual(order(versions), expected);
  t.deepEqual(order([...versions].reverse()), expected);
  t.deepEqual(order([...versions.slice(3), ...versions.slice(0, 3)]), expected);
});
