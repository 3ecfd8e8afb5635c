/** Sets of sequence numbers kept as sorted, merged, inclusive ranges. */
export type Range = [number, number];

export class RangeSet {
  private ranges: Range[];

  /** Sorted, then merged in one pass: linear after the sort, however fragmented the ranges. */
  constructor(ranges: Range[] = []) {
    this.ranges = [];
    for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
      const last = this.ranges[this.ranges.length - 1];
      if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
      else this.ranges.push([a, b]);
    }
  }

  /** The union of this set and `ranges`, in one pass. */
  union(ranges: Range[]): RangeSet {
    return new RangeSet([...this.ranges, ...ranges]);
  }

  /** Add one seq; constant time when seqs come in ascending order (as a bundle's do). */
  append(seq: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (!last || seq > last[1] + 1) this.ranges.push([seq, seq]);
    else if (seq === last[1] + 1) last[1] = seq;
    else if (seq < last[0]) this.add(seq, seq);
  }

  get size(): number {
    return this.ranges.length;
  }

  /** Binary search: is seq in the set? */
  has(seq: number): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = this.ranges[mid]!;
      if (seq < a) hi = mid - 1;
      else if (seq > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Is every seq from first to last in the set? */
  covers(first: number, last: number): boolean {
    return this.ranges.some(([a, b]) => a <= first && b >= last);
  }

  add(first: number, last: number): void {
    const out: Range[] = [];
    let [a, b] = [first, last];
    let placed = false;
    for (const r of this.ranges) {
      if (r[1] + 1 < a) out.push(r);
      else if (b + 1 < r[0]) {
        if (!placed) {
          out.push([a, b]);
          placed = true;
        }
        out.push(r);
      } else {
        a = Math.min(a, r[0]);
        b = Math.max(b, r[1]);
      }
    }
    if (!placed) out.push([a, b]);
    this.ranges = out;
  }

  toArray(): Range[] {
    return this.ranges.map((r) => [r[0], r[1]] as Range);
  }

  get max(): number {
    return this.ranges.length ? this.ranges[this.ranges.length - 1]![1] : 0;
  }

  /** Holes between 1 and the highest seq held: changes that have not arrived. */
  gaps(): Range[] {
    const out: Range[] = [];
    let next = 1;
    for (const [a, b] of this.ranges) {
      if (a > next) out.push([next, a - 1]);
      next = b + 1;
    }
    return out;
  }
}
