/**
 * rowDigest (docs/FORMAT.md "Row digest"): the digest a shared table's change carries as its
 * base, which every hub recomputes from the row it holds. Each storage class is checked against
 * the bytes the format spells out, so that an implementation in another language can be
 * written from the document and agree.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROW_DIGEST_PATTERN, rowDigest } from '../src/format/row-digest.js';
import type { EncodedValue } from '../src/format/values.js';
import { ROOT } from './helpers/env.js';

const sha256 = (hex: string) => createHash('sha256').update(Buffer.from(hex.replace(/ /g, ''), 'hex')).digest('hex');

test('each storage class is hashed as its tag and bytes, in the layout of FORMAT.md', (t) => {
  const cases: Array<[string, EncodedValue, string]> = [
    ['NULL', null, '00'],
    ['INTEGER 0', 0, '01 0000000000000000'],
    ['INTEGER 7', 7, '01 0000000000000007'],
    ['INTEGER -1 (two\'s complement)', -1, '01 ffffffffffffffff'],
    ['INTEGER 2^53-1, a bare number', 9007199254740991, '01 001fffffffffffff'],
    ['INTEGER 2^53+1, an {int}', { int: '9007199254740993' }, '01 0020000000000001'],
    ['INTEGER 2^63-1', { int: '9223372036854775807' }, '01 7fffffffffffffff'],
    ['INTEGER -2^63', { int: '-9223372036854775808' }, '01 8000000000000000'],
    ['REAL 1.5', { real: 1.5 }, '02 3ff8000000000000'],
    ['REAL -0.5', { real: -0.5 }, '02 bfe0000000000000'],
    ['REAL 0', { real: 0 }, '02 0000000000000000'],
    ['REAL inf', { real: 'inf' }, '02 7ff0000000000000'],
    ['REAL -inf', { real: '-inf' }, '02 fff0000000000000'],
    ['REAL smallest subnormal', { real: 5e-324 }, '02 0000000000000001'],
    ['TEXT empty', '', '03 00000000'],
    ['TEXT ASCII', 'ab', '03 00000002 6162'],
    ['TEXT é (two UTF-8 bytes)', 'é', '03 00000002 c3a9'],
    ['TEXT 😀 (outside the BMP: four UTF-8 bytes, not two UTF-16 units)', '😀', '03 00000004 f09f9880'],
    ['BLOB empty', { blob: '' }, '04 00000000'],
    ['BLOB 00 01 02 ff', { blob: 'AAEC/w==' }, '04 00000004 000102ff'],
  ];
  for (const [what, value, bytes] of cases) t.is(rowDigest([value]), sha256(bytes), what);
  // A row is its values' encodings one after the other, with nothing between or around them.
  t.is(rowDigest([7, 'ab', null]), sha256('01 0000000000000007 03 00000002 6162 00'));
  t.is(rowDigest([]), sha256(''), 'a row of no columns: SHA-256 of nothing');
});

test('the digest is 64 lowercase hex digits', (t) => {
  for (const row of [[], [null], ['x', { blob: '/w==' }, { real: 'inf' }]] as EncodedValue[][]) t.regex(rowDigest(row), ROW_DIGEST_PATTERN);
  t.true(ROW_DIGEST_PATTERN.test('0'.repeat(64)));
  for (const bad of ['A'.repeat(64), '0'.repeat(63), '0'.repeat(65), `${'0'.repeat(63)}g`]) t.false(ROW_DIGEST_PATTERN.test(bad), bad);
});

test('-0 and 0 are one REAL; a REAL and an INTEGER of the same value are not one value', (t) => {
  t.is(rowDigest([{ real: -0 }]), rowDigest([{ real: 0 }]));
  t.is(rowDigest([{ real: JSON.parse('-0.0') as number }]), rowDigest([{ real: 0 }]), 'as JSON.parse reads {"real":-0.0}');
  t.not(rowDigest([{ real: 0 }]), rowDigest([0]));
  t.not(rowDigest([{ real: 2 }]), rowDigest([2]));
  t.not(rowDigest([{ real: 'inf' }]), rowDigest([{ real: '-inf' }]));
});

test('the digest follows the value, not its JSON spelling: 1, 1.0 and 1e0 are one INTEGER', (t) => {
  const spelled = (json: string) => rowDigest(JSON.parse(json) as EncodedValue[]);
  t.is(spelled('[1]'), spelled('[1.0]'));
  t.is(spelled('[1]'), spelled('[1e0]'));
  t.is(spelled('[{"real":1.5}]'), spelled('[{"real":15e-1}]'));
  t.is(spelled('["\\u00e9"]'), spelled('["é"]'));
  t.is(spelled('[{"blob":"QQ\\u003d\\u003d"}]'), spelled('[{"blob":"QQ=="}]'));
});

test('the int64 extremes are distinct and exact (no rounding through a double)', (t) => {
  const max = rowDigest([{ int: '9223372036854775807' }]);
  const min = rowDigest([{ int: '-9223372036854775808' }]);
  t.not(max, min);
  // 2^63-1 and 2^63-2 are one double: a digest through Number would not tell them apart.
  t.not(max, rowDigest([{ int: '9223372036854775806' }]));
  t.not(rowDigest([{ int: '9007199254740993' }]), rowDigest([{ int: '9007199254740992' }]));
  t.not(rowDigest([9007199254740991]), rowDigest([{ int: '9007199254740992' }]));
});

test('empty text, NULL, an empty blob and a missing column all differ', (t) => {
  const digests = [rowDigest(['']), rowDigest([null]), rowDigest([{ blob: '' }]), rowDigest([]), rowDigest([0]), rowDigest([{ real: 0 }])];
  t.is(new Set(digests).size, digests.length);
  t.not(rowDigest(['a', null]), rowDigest(['a']), 'a trailing NULL is a column');
});

test('order and column boundaries matter', (t) => {
  t.not(rowDigest([1, 'a']), rowDigest(['a', 1]));
  t.not(rowDigest([null, 'x']), rowDigest(['x', null]));
  // The length prefix keeps a boundary from moving: without it each pair would hash the same bytes
  // (03 61 03 62; 04 01 04 02).
  t.not(rowDigest(['a\u0003b']), rowDigest(['a', 'b']));
  t.not(rowDigest([{ blob: 'AQQC' }]), rowDigest([{ blob: 'AQ==' }, { blob: 'Ag==' }]));
  t.not(rowDigest(['ab', '']), rowDigest(['a', 'b']));
  // A text and a blob of the same bytes differ by their tag.
  t.not(rowDigest(['A']), rowDigest([{ blob: 'QQ==' }]));
});

test('text is hashed as it travelled: no Unicode normalisation, and a lone surrogate as U+FFFD', (t) => {
  t.not(rowDigest(['é']), rowDigest(['e\u0301']), 'NFC and NFD spellings are two values, as SQLite holds them');
  // JSON can spell a lone surrogate, UTF-8 cannot hold one: it is encoded as U+FFFD (EF BF BD).
  t.is(rowDigest([JSON.parse('"a\\ud800"') as string]), sha256('03 00000004 61efbfbd'));
});

test('the worked example of FORMAT.md "Row digest" is what rowDigest computes', (t) => {
  const row: EncodedValue[] = [7, 'né', { real: -0.5 }, null, { blob: '/w==' }, { int: '-9223372036854775808' }];
  const bytes = '01 0000000000000007 03 00000003 6ec3a9 02 bfe0000000000000 00 04 00000001 ff 01 8000000000000000';
  const digest = rowDigest(row);
  t.is(digest, sha256(bytes));
  const doc = readFileSync(join(ROOT, 'docs', 'FORMAT.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Row digest'), doc.indexOf('### Record checks'));
  t.true(section.includes('[7,"né",{"real":-0.5},null,{"blob":"/w=="},{"int":"-9223372036854775808"}]'), 'the example row');
  t.true(section.includes(bytes), 'the example bytes');
  t.true(section.includes(digest), 'the example digest');
});
