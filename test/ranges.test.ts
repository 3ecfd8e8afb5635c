/** RangeSet: the sets of seqs behind acks, gaps and the hub's ledger, on their own. */
import test from 'ava';
import { RangeSet, type Range } from '../src/store/ranges.js';

test('the constructor sorts, merges overlapping and adjacent ranges, and leaves its input alone', (t) => {
  const input: Range[] = [[20, 25], [1, 3], [4, 6], [2, 5], [10, 12], [13, 13], [24, 30], [8, 8]];
  const copy = structuredClone(input);
  t.deepEqual(new RangeSet(input).toArray(), [[1, 6], [8, 8], [10, 13], [20, 30]]);
  t.deepEqual(input, copy);
  t.deepEqual(new RangeSet().toArray(), []);
  t.deepEqual(new RangeSet([[5, 9], [1, 100]]).toArray(), [[1, 100]], 'a range inside another');
  t.deepEqual(new RangeSet([[1, 2], [4, 5]]).toArray(), [[1, 2], [4, 5]], 'a hole of one stays a hole');
});

test('union: merged with what was there, and a new set', (t) => {
  const a = new RangeSet([[1, 5], [10, 12]]);
  const u = a.union([[6, 9], [20, 21], [11, 15]]);
  t.deepEqual(u.toArray(), [[1, 15], [20, 21]]);
  t.deepEqual(a.toArray(), [[1, 5], [10, 12]], 'the original is unchanged');
});

test('append: ascending seqs extend the last range; a seq already held changes nothing; an earlier one is placed', (t) => {
  const s = new RangeSet();
  for (const seq of [1, 2, 3, 5, 6, 6, 9]) s.append(seq);
  t.deepEqual(s.toArray(), [[1, 3], [5, 6], [9, 9]]);
  s.append(4); // fills the hole, merging both sides
  t.deepEqual(s.toArray(), [[1, 6], [9, 9]]);
  s.append(2);
  s.append(9);
  t.deepEqual(s.toArray(), [[1, 6], [9, 9]]);
  s.append(7);
  t.deepEqual(s.toArray(), [[1, 7], [9, 9]]);
});

test('add merges a range that overlaps or touches several', (t) => {
  const s = new RangeSet([[1, 2], [5, 6], [9, 10], [20, 20]]);
  s.add(3, 9);
  t.deepEqual(s.toArray(), [[1, 10], [20, 20]]);
  s.add(15, 16);
  t.deepEqual(s.toArray(), [[1, 10], [15, 16], [20, 20]]);
  s.add(30, 31);
  t.deepEqual(s.toArray(), [[1, 10], [15, 16], [20, 20], [30, 31]]);
});

test('has, covers, max, size, and gaps from 1 up to the highest seq held', (t) => {
  const s = new RangeSet([[3, 5], [8, 8], [10, 12]]);
  t.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13].filter((n) => s.has(n)), [3, 4, 5, 8, 10, 12]);
  t.true(s.covers(3, 5));
  t.true(s.covers(11, 12));
  t.false(s.covers(4, 8), 'a hole in between');
  t.false(s.covers(12, 13));
  t.is(s.max, 12);
  t.is(s.size, 3);
  t.deepEqual(s.gaps(), [[1, 2], [6, 7], [9, 9]]);
  t.deepEqual(new RangeSet([[1, 4]]).gaps(), []);
  t.deepEqual(new RangeSet().gaps(), []);
  t.is(new RangeSet().max, 0);
});

test('toArray is a copy: changing it does not change the set', (t) => {
  const s = new RangeSet([[1, 3]]);
  s.toArray()[0]![1] = 99;
  t.deepEqual(s.toArray(), [[1, 3]]);
});

test('against a plain set of numbers, for many random ranges and appends', (t) => {
  let x = 12345; // xorshift32: the same cases every run
  const rand = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  for (let round = 0; round < 200; round++) {
    const ranges: Range[] = Array.from({ length: rand(8) }, () => {
      const a = 1 + rand(60);
      return [a, a + rand(6)];
    });
    const s = new RangeSet(ranges);
    const plain = new Set(ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i)));
    for (let i = 0; i < 5; i++) {
      const seq = 1 + rand(70);
      s.append(seq);
      plain.add(seq);
    }
    const arr = s.toArray();
    for (let i = 1; i < arr.length; i++) t.true(arr[i]![0] > arr[i - 1]![1] + 1, `sorted, disjoint, not adjacent: ${JSON.stringify(arr)}`);
    for (let n = 0; n <= 80; n++) if (s.has(n) !== plain.has(n)) t.fail(`${n}: has says ${s.has(n)} in ${JSON.stringify(arr)}`);
    const max = Math.max(0, ...plain);
    t.is(s.max, max);
    const missing = Array.from({ length: max }, (_, i) => i + 1).filter((n) => !plain.has(n));
    t.deepEqual(s.gaps().flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i)), missing);
  }
});
