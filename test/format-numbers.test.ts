/** The one way ferry writes counts and sizes, whatever the machine's locale. */
import test from 'ava';
import { count, inMegabytes, megabytes, size } from '../src/core/format-numbers.js';

test('counts have thousands separators, the same on every machine', (t) => {
  t.deepEqual([0, 999, 1201, 2122, 1_000_000].map(count), ['0', '999', '1,201', '2,122', '1,000,000']);
});

test('sizes take the unit that keeps them short, in decimal units as drives are sold', (t) => {
  t.deepEqual([0, 999, 1000, 99_000, 999_499, 1_000_000, 1_250_000, 12_300_000_000].map(size), ['0 B', '999 B', '1 kB', '99 kB', '999 kB', '1.0 MB', '1.3 MB', '12.3 GB']);
});

test('a drive-full message gives both sizes in MB, small ones to two places', (t) => {
  t.deepEqual([50_000, 1_200_000, 9_999_999, 256_000_000].map(megabytes), ['0.05 MB', '1.20 MB', '10.00 MB', '256 MB']);
});

test('measurements in MB for JSON reports', (t) => {
  t.is(inMegabytes(187_654_321), 188);
  t.is(inMegabytes(187_654_321, 1), 187.7);
});
