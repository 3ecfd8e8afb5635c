/**
 * A PostgreSQL hub keeps every value exactly (issue 15): typed columns from the declared SQLite
 * types, a lossless jsonb for the rest, and a value its column cannot hold rejected with the reason
 * (it waits at the facility), never coerced or lost.
 */
import test from 'ava';
import pg from 'pg';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import { table } from './helpers/bundles.js';
import { applyAs, rowsOf, storeOf } from './helpers/hub-store.js';
import { hasPostgres } from './helpers/postgres.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const insert = (t: TableRecord, seq: number, row: EncodedValue[]): PayloadRecord => ({ kind: 'change', origin: 'RW-A', seq, clock: [NOW.getTime() - 1000, 0], table: t.table, op: 'insert', row });

const kinds = table(
  'kinds',
  [
    ['id', 'INTEGER'],
    ['i', 'BIGINT'],
    ['r', 'DOUBLE'],
    ['t', 'VARCHAR(20)'],
    ['b', 'BLOB'],
    ['n', 'NUMERIC'],
    ['d', 'DATETIME'],
    ['x', ''],
  ],
  ['id'],
);

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');
const ROWS: EncodedValue[][] = [
  [1, { int: '9223372036854775807' }, { real: 'inf' }, 'Muraho 👋🏾 שלום e\u0301', { blob: allBytes }, 3, '2026-11-22 10:00:00', { blob: 'AA==' }],
  [2, { int: '-9223372036854775808' }, { real: '-inf' }, '', { blob: '' }, { real: 2.5 }, 20261122, 'text where SQLite kept text'],
  [3, Number.MAX_SAFE_INTEGER, { real: 5e-324 }, 'x'.repeat(5000), null, '007', { real: 0.1 }, { int: '-9007199254740993' }],
  [4, null, { real: 1e300 }, null, null, null, null, null],
  [5, -1, { real: 0 }, '\u{10FFFF}\u2028\u2029 tab\there new\nline cr\r back\\slash \\N', { blob: 'AQID' }, { int: '12345678901234567890'.slice(0, 19) }, { real: -1.5 }, 7],
];

// PostgreSQL only (SQLite keeps every value in the class it arrived in: no types to fit).
const kind = 'postgres' as const;
const pgTest = hasPostgres() ? test : test.skip;
{
  pgTest(`${kind}: every value comes back exactly as it was sent: 64-bit integers, ±inf and subnormal reals, blobs, any Unicode, NULL`, async (t) => {
    const { store, path } = await storeOf(kind, t, NOW);
    const r = await applyAs(store, 'RW-A', [kinds, ...ROWS.map((row, i) => insert(kinds, i + 1, row))], NOW);
    t.deepEqual(r.counts, { applied: ROWS.length, already_present: 0, conflicts: 0, rejected: 0 });
    const names = ['id', 'i', 'r', 't', 'b', 'n', 'd', 'x'];
    t.deepEqual(
      await rowsOf(store, 'kinds'),
      ROWS.map((row) => ({ ferry_origin: 'RW-A', ...Object.fromEntries(names.map((c, i) => [c, row[i]!])) })),
    );
    // Typed for the systems that read the hub database (reports, DHIS2 pipelines).
    const client = new pg.Client({ connectionString: path });
    await client.connect();
    t.teardown(() => client.end());
    const types = await client.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'kinds' ORDER BY ordinal_position");
    t.deepEqual(
      types.rows.map((x) => `${x.column_name} ${x.data_type}`),
      ['ferry_origin text', 'id bigint', 'i bigint', 'r double precision', 't text', 'b bytea', 'n jsonb', 'd jsonb', 'x jsonb'],
    );
    const typed = (await client.query("SELECT i::text, r, t, length(b) AS bytes FROM kinds WHERE id = 1")).rows[0];
    t.deepEqual(typed, { i: '9223372036854775807', r: Infinity, t: 'Muraho 👋🏾 שלום e\u0301', bytes: 256 });
  });

  pgTest(`${kind}: a value its column cannot hold is rejected with the reason (never coerced), and the bundle's other changes apply`, async (t) => {
    const { store } = await storeOf(kind, t, NOW);
    const r = await applyAs(
      store,
      'RW-A',
      [
        kinds,
        insert(kinds, 1, [1, 'not a number', null, null, null, null, null, null]),
        insert(kinds, 2, [2, null, 3, null, null, null, null, null]),
        insert(kinds, 3, [3, null, null, 'nul \u0000 inside', null, null, null, null]),
        insert(kinds, 4, [4, null, null, null, null, 'nul \u0000 in jsonb', null, null]),
        insert(kinds, 5, ['five', null, null, null, null, null, null, null]),
        insert(kinds, 6, [6, 42, { real: 4.2 }, 'fine', null, null, null, null]),
        // Only a crafted bundle carries a lone surrogate (a facility's SQLite text is UTF-8); in a
        // jsonb column PostgreSQL refused it and stopped the whole import as a bug (exit 70).
        insert(kinds, 7, [7, null, null, null, null, null, 'lone \ud800 surrogate', null]),
        insert(kinds, 8, [8, null, null, 'lone \udc00 low', null, null, null, null]),
      ],
      NOW,
    );
    t.deepEqual(r.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 7 });
    t.deepEqual(
      r.rejections.map((x) => [x.first_seq, x.reason]),
      [
        [1, "the value of column i is text, but the hub's column is bigint"],
        [2, "the value of column r is an integer, but the hub's column is double precision"],
        [3, 'the value of column t is text holding the character U+0000, which PostgreSQL cannot store'],
        [4, 'the value of column n is text holding the character U+0000, which PostgreSQL cannot store'],
        [5, "the value of column id is text, but the hub's column is bigint"],
        [7, 'the value of column d is text that is not valid Unicode (a lone surrogate)'],
        [8, 'the value of column t is text that is not valid Unicode (a lone surrogate)'],
      ],
    );
    t.false(JSON.stringify(r.rejections).includes('not a number'), 'a reason never holds the value');
    t.deepEqual((await rowsOf(store, 'kinds')).map((x) => x.id), [6]);
    t.deepEqual(await store.appliedRanges('RW-A'), [[6, 6]], 'rejected changes are not held: they wait at the facility');
  });
}
