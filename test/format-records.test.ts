/**
 * The reader's record and manifest rules (docs/FORMAT.md "Change stream", "Names and types",
 * "Values", "Manifest"): each bad bundle is signed by the real sender, so the rule itself is what
 * refuses it, with a typed code and a message that names seq, table and column but no value.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, FerryError, type ErrorCode } from '../src/core/errors.js';
import { openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import { canonicalJson, toB64 } from '../src/format/encoding.js';
import { DECLARED_TYPE_MAX_LENGTH, DECLARED_TYPE_PATTERN, NAME_MAX_LENGTH, NAME_PATTERN } from '../src/format/names.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import type { PayloadRecord } from '../src/format/records.js';
import { decodeValue } from '../src/format/values.js';
import { jsonLine, rawBundle, RECIPIENT, SENDER, testKeys, RECIPIENT_KEYS as keys, SENDER_TRUSTED as trusted, readAllRecords as readAll } from './helpers/bundles.js';
import { ROOT, tempDir } from './helpers/env.js';



const table = (name = 't', columns: Array<string | [string, string]> = ['id', 'v'], key = ['id']) => ({
  kind: 'table',
  table: name,
  columns: columns.map((c) => (typeof c === 'string' ? { name: c, type: '' } : { name: c[0], type: c[1] })),
  key,
});
const change = (seq: number, row: unknown[], tableName = 't') => ({ kind: 'change', origin: SENDER.id, seq, clock: [1767225600000 + seq, 0], table: tableName, op: 'insert', row });
/** A change line whose second value is the raw JSON text `value` (JSON.stringify cannot write 1.0 or -0.0). */
const rawValueLine = (value: string, seq = 1) => jsonLine(change(seq, [seq, '@@'])).replace('"@@"', value);

let n = 0;
async function outcome(t: import('ava').ExecutionContext, stream: string, o: Parameters<typeof rawBundle>[2] = {}): Promise<FerryError | PayloadRecord[]> {
  const path = join(tempDir(t), `b${++n}.ferry-bundle`);
  rawBundle(path, stream, o);
  try {
    return await readAll(path);
  } catch (err) {
    t.true(err instanceof FerryError, `a typed refusal, not ${(err as Error).stack}`);
    return err as FerryError;
  }
}

async function refusedWith(t: import('ava').ExecutionContext, stream: string, code: ErrorCode, message: RegExp, o: Parameters<typeof rawBundle>[2] = {}): Promise<FerryError> {
  const r = await outcome(t, stream, o);
  if (Array.isArray(r)) {
    t.fail(`accepted, expected ${code} ${message}`);
    return new FerryError(ErrorCodes.INTERNAL, 'bug', 'accepted');
  }
  t.is(r.code, code, r.message);
  t.regex(r.message, message);
  return r;
}

test('table records: names and declared types outside the grammar, and reserved names, are refused as payload-invalid', async (t) => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['a table name with a space', table('my table'), /table "my table"\): table: does not follow the grammar of docs\/FORMAT.md "Names and types"/],
    ['a table name starting with a digit', table('1t'), /table "1t"/],
    ['a table name of 64 characters', table('t'.repeat(64)), /table: must NOT have more than 63 characters/],
    ['a ferry_ table', table('ferry_applied'), /table "ferry_applied".*reserved/],
    ['a sqlite_ table in capitals', table('SQLITE_master'), /table "SQLITE_master".*reserved/],
    ['a column name with a quote', table('t', ['id', 'v"x']), /column "v\\"x" \(number 2\): the name does not follow the grammar/],
    ['a ferry_ column', table('t', ['id', 'Ferry_seq']), /column "Ferry_seq": column names starting with ferry_ are reserved/],
    ['a declared type that is SQL', table('t', ['id', ['v', "TEXT); DELETE FROM ferry_applied; --"]]), /column "v" \(number 2\): the declared type does not follow the grammar/],
    ['a declared type of 65 characters', table('t', ['id', ['v', 'A'.repeat(65)]]), /column "v" \(number 2\): the declared type must NOT have more than 64 characters/],
    ['two columns differing only by case', table('t', ['id', 'CITY', 'city']), /column "city" appears twice \(names that differ only by case are one name\)/],
    ['a key naming a column in another case', table('t', ['Id', 'v'], ['id']), /key column "id" is spelled "Id" among the columns/],
  ];
  for (const [name, rec, message] of bad) {
    const tableName = (rec as { table: string }).table;
    // The manifest names a good table, so that the table record itself is what is judged.
    const err = await refusedWith(t, jsonLine(rec) + jsonLine(change(1, [1, 'a'], tableName)), ErrorCodes.PAYLOAD_INVALID, message, { manifest: (m) => ({ ...m, tables: { t: 1 } }) });
    t.pass(`${name}: ${err.message}`);
  }
  // A type within the grammar, and a name at the length limit, are fine.
  const ok = await outcome(t, jsonLine(table('t'.repeat(63), ['id', ['v', 'DECIMAL(10, 2)']])) + jsonLine(change(1, [1, 'a'], 't'.repeat(63))));
  t.true(Array.isArray(ok), (ok as Error).message);
});

test('tables differing only by case: in one bundle, named by a change, or twice in the manifest', async (t) => {
  // The manifest lists one of them: the stream's second description is what the rule refuses.
  await refusedWith(
    t,
    jsonLine(table('visits')) + jsonLine(change(1, [1, 'a'], 'visits')) + jsonLine(table('Visits')) + jsonLine(change(2, [2, 'b'], 'Visits')),
    ErrorCodes.PAYLOAD_INVALID,
    /record 3 \(table "Visits"\): the table "visits" was described already, and names that differ only by case are one name/,
    { manifest: (m) => ({ ...m, tables: { visits: 2 } }) },
  );
  await refusedWith(t, jsonLine(table('visits')) + jsonLine(change(1, [1, 'a'], 'Visits')), ErrorCodes.PAYLOAD_INVALID, /change 1 names table "Visits", described as "visits"/, {
    manifest: (m) => ({ ...m, tables: { visits: 1 } }),
  });
  await refusedWith(t, jsonLine(table('visits')) + jsonLine(change(1, [1, 'a'], 'visits')) + jsonLine(change(2, [1, 'a'], 'visits')), ErrorCodes.MANIFEST_INVALID, /tables names "visits" twice/, {
    manifest: (m) => ({ ...m, tables: { Visits: 1, visits: 1 } }),
  });
});

test('values: every form outside the rules is refused by the reader as payload-invalid, naming seq, table and column, never the value', async (t) => {
  // [the value's JSON, what the message says, what it must not show]
  const bad: Array<[string, string, string?]> = [
    ['1.5', 'a bare number that is not an integer', '1.5'],
    ['9007199254740992', 'beyond ±(2^53−1)', '9007199254740992'],
    ['-9007199254740992', 'beyond ±(2^53−1)', '9007199254740992'],
    ['1e300', 'beyond ±(2^53−1)', '1e300'],
    ['{"int":"007"}', 'canonical form', '007'],
    ['{"int":"-0"}', 'canonical form', '"-0"'],
    ['{"int":"+5"}', 'canonical form', '+5'],
    ['{"int":"5"}', 'which travels as a bare number', '"5"'],
    ['{"int":"-9007199254740991"}', 'which travels as a bare number', '9007199254740991'],
    ['{"int":"9223372036854775808"}', 'outside the 64-bit range', '9223372036854775808'],
    ['{"int":"-9223372036854775809"}', 'outside the 64-bit range', '9223372036854775809'],
    ['{"real":1e400}', 'neither a finite number nor "inf"', '1e400'],
    ['{"real":"NaN"}', 'neither a finite number nor "inf"', 'NaN'],
    ['{"blob":"QUJ"}', 'not canonical padded base64', 'QUJ'],
    ['{"blob":"QUJ="}', 'not canonical padded base64', 'QUJ'],
    ['{"blob":"Q Q=="}', 'not canonical padded base64', 'Q Q'],
    ['{"blob":"secret patient note"}', 'not canonical padded base64', 'secret'],
    ['{"int":"5","real":1}', 'exactly one of'],
    ['{"text":"Mallory"}', 'exactly one of', 'Mallory'],
    ['true', 'neither null, a string, an integer nor an object'],
  ];
  for (const [value, why, secret] of bad) {
    const r = await outcome(t, jsonLine(table()) + rawValueLine(value));
    if (Array.isArray(r)) {
      t.fail(`${value} was accepted`);
      continue;
    }
    t.is(r.code, ErrorCodes.PAYLOAD_INVALID, `${value}: ${r.message}`);
    t.true(r.message.includes('change 1 (table "t")') && r.message.includes('column "v"'), `${value}: ${r.message}`);
    t.true(r.message.includes(why), `${value}: ${r.message}`);
    if (secret) t.false(r.message.includes(secret), `${value}: the message shows the value: ${r.message}`);
  }
  // The worker reader refuses them the same way.
  const path = join(tempDir(t), 'w.ferry-bundle');
  rawBundle(path, jsonLine(table()) + rawValueLine('{"int":"007"}'));
  const err = (await t.throwsAsync(readAll(path, (b, k) => readPayloadInWorker(b, k)))) as FerryError;
  t.is(err.code, ErrorCodes.PAYLOAD_INVALID);
});

test('values: JSON numbers are taken by value (1.0 is the integer 1), -0.0 arrives as 0, the int64 and base64 edges are accepted', async (t) => {
  const good: Array<[string, unknown]> = [
    ['1.0', 1n],
    ['1e0', 1n],
    ['-0', 0n],
    ['9007199254740991', 9007199254740991n],
    ['{"int":"9223372036854775807"}', 9223372036854775807n],
    ['{"int":"-9223372036854775808"}', -9223372036854775808n],
    ['{"int":"9007199254740992"}', 9007199254740992n],
    ['{"int":"-9007199254740992"}', -9007199254740992n],
    ['{"real":-0.0}', 0],
    ['{"real":1.5e300}', 1.5e300],
    ['{"real":"-inf"}', -Infinity],
    ['{"blob":""}', new Uint8Array([])],
    ['{"blob":"AAE="}', new Uint8Array([0, 1])],
    // escapes are read before the value is judged: this is "QQ=="
    ['{"blob":"QQ\\u003d\\u003d"}', new Uint8Array([0x41])],
  ];
  let stream = jsonLine(table());
  good.forEach(([v], i) => (stream += rawValueLine(v, i + 1)));
  const r = await outcome(t, stream);
  if (!Array.isArray(r)) return t.fail(r.message);
  good.forEach(([v, expected], i) => {
    const decoded = decodeValue((r[i + 1] as { row: unknown[] }).row[1]);
    t.deepEqual(decoded, expected, v);
    if (expected === 0) t.true(Object.is(decoded, 0), `${v} decodes to +0`);
  });
});

test('decodeValue never puts the value in its message', (t) => {
  for (const v of [{ blob: 'secret patient note' }, { int: '0042' }, 1.25, { text: 'Mallory' }]) {
    const err = t.throws(() => decodeValue(v));
    t.false(/secret|0042|1\.25|Mallory/.test(err!.message), err!.message);
  }
});

test('a record with a member name twice is refused (parsers disagree on which one wins)', async (t) => {
  await refusedWith(t, jsonLine(table()) + rawValueLine('{"int":"5","int":"6"}'), ErrorCodes.PAYLOAD_INVALID, /record 2 holds a member name twice/);
  await refusedWith(t, jsonLine(table()) + jsonLine(change(1, [1, 'a'])).replace('"seq":1,', '"seq":1,"seq":1,'), ErrorCodes.PAYLOAD_INVALID, /record 2 holds a member name twice/);
  // A colon or comma inside a string is not structure.
  const ok = await outcome(t, jsonLine(table()) + jsonLine(change(1, [1, 'a:b,"c":{[d]}\\"'])));
  t.true(Array.isArray(ok), (ok as Error).message);
});

test('bytes after the end of the zlib stream are refused (Node\'s inflate ignores them)', async (t) => {
  const stream = jsonLine(table()) + jsonLine(change(1, [1, 'a']));
  for (const extra of [Buffer.from('trailing garbage'), (await import('node:zlib')).deflateSync(Buffer.from(jsonLine(change(2, [2, 'hidden']))))]) {
    const path = join(tempDir(t), 'trailing.ferry-bundle');
    rawBundle(path, stream, { compressed: (z) => Buffer.concat([z, extra]) });
    for (const reader of [readPayloadRecords, ((b, k) => readPayloadInWorker(b, k)) as typeof readPayloadRecords]) {
      const err = (await t.throwsAsync(readAll(path, reader))) as FerryError;
      t.is(err.code, ErrorCodes.PAYLOAD_INVALID, err.message);
      t.regex(err.message, new RegExp(`${extra.length} bytes follow the end of the zlib stream`));
    }
  }
});

test('a change stream that is not UTF-8 is refused', async (t) => {
  const stream = Buffer.concat([Buffer.from(jsonLine(table())), Buffer.from(jsonLine(change(1, [1, 'ab']))).map((b) => (b === 0x61 ? 0xff : b))]);
  const path = join(tempDir(t), 'latin.ferry-bundle');
  rawBundle(path, stream, { manifest: (m) => ({ ...m, changes: 1, seq: { first: 1, last: 1 }, tables: { t: 1 } }) });
  const err = (await t.throwsAsync(readAll(path))) as FerryError;
  t.is(err.code, ErrorCodes.PAYLOAD_INVALID);
  t.regex(err.message, /record 2 is not UTF-8 text/);
});

test('the manifest\'s sender_fingerprint must be the fingerprint of the key that verified the signature', async (t) => {
  const other = testKeys('RW-001', 55);
  const path = join(tempDir(t), 'fp.ferry-bundle');
  rawBundle(path, jsonLine(table()) + jsonLine(change(1, [1, 'a'])), { manifest: (m) => ({ ...m, sender_fingerprint: other.fingerprint }) });
  const b = await openBundle(path);
  const err = t.throws(() => verifyBundle(b, trusted, { id: RECIPIENT.id })) as FerryError;
  t.is(err.code, ErrorCodes.MANIFEST_INVALID);
  t.regex(err.message, new RegExp(`sender_fingerprint ${other.fingerprint} is not the fingerprint of the signing key \\(${SENDER.fingerprint}\\)`));
});

test('an ephemeral key that gives an all-zero X25519 secret is refused as payload-unauthenticated', async (t) => {
  // 0 and 1 are points of small order: X25519 with either gives 32 zero bytes, whatever the secret.
  for (const point of [new Uint8Array(32), new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? 1 : 0))]) {
    const path = join(tempDir(t), 'zero.ferry-bundle');
    rawBundle(path, jsonLine(table()) + jsonLine(change(1, [1, 'a'])), { manifest: (m) => ({ ...m, payload: { ...m.payload, ephemeral_key: toB64(point) } }) });
    for (const reader of [readPayloadRecords, ((b, k) => readPayloadInWorker(b, k)) as typeof readPayloadRecords]) {
      const err = (await t.throwsAsync(readAll(path, reader))) as FerryError;
      t.true(err instanceof FerryError);
      t.is(err.code, ErrorCodes.PAYLOAD_UNAUTHENTICATED, err.message);
    }
  }
});

test('manifest and schema agree: changes ≥ 1, per-table counts ≥ 1, created with milliseconds, numbers only safe integers', async (t) => {
  const stream = jsonLine(table()) + jsonLine(change(1, [1, 'a']));
  const cases: Array<[string, (m: import('../src/format/manifest.js').Manifest) => unknown, RegExp]> = [
    ['changes 0', (m) => ({ ...m, changes: 0, tables: {} }), /changes: must be >= 1/],
    ['a table with 0 changes', (m) => ({ ...m, tables: { t: 1, u: 0 } }), /tables\.u: must be >= 1/],
    ['created without milliseconds', (m) => ({ ...m, created: '2026-01-02T03:04:05Z' }), /created: must match pattern/],
    ['created with microseconds', (m) => ({ ...m, created: '2026-01-02T03:04:05.000000Z' }), /created: must match pattern/],
    ['a table name outside the grammar', (m) => ({ ...m, tables: { 'my table': 1 } }), /tables: property name must be valid|must match pattern/],
    ['a reserved table name', (m) => ({ ...m, tables: { sqlite_master: 1 } }), /tables names "sqlite_master": table names starting with ferry_ or sqlite_ are reserved/],
  ];
  for (const [name, edit, message] of cases) {
    const path = join(tempDir(t), 'm.ferry-bundle');
    rawBundle(path, stream, { manifest: edit as never });
    const err = (await t.throwsAsync(openBundle(path))) as FerryError;
    t.is(err.code, ErrorCodes.MANIFEST_INVALID, `${name}: ${err.message}`);
    t.regex(err.message, message, name);
  }
  // A number no canonical JSON can hold (the schema's "integer" allows 1e300): refused, not an internal error.
  const path = join(tempDir(t), 'big.ferry-bundle');
  rawBundle(path, stream);
  const { readZipEntries, buildZip } = await import('../src/tools/fuzz/raw-zip.js');
  const entries = await readZipEntries(path);
  const edited = entries.map((e) => (e.name === 'manifest.json' ? { ...e, data: Buffer.from(e.data.toString().replace('"changes":1', '"changes":1e300')) } : e));
  (await import('node:fs')).writeFileSync(path, buildZip(edited));
  const err = (await t.throwsAsync(openBundle(path))) as FerryError;
  t.is(err.code, ErrorCodes.MANIFEST_INVALID, err.message);
});

test('spec answers: clocks may go backwards within a bundle, and a range may have gaps (1..3 holding 1 and 3)', async (t) => {
  const back = { ...change(2, [2, 'b']), clock: [1000, 0] };
  const r = await outcome(t, jsonLine(table()) + jsonLine(change(1, [1, 'a'])) + jsonLine(back));
  t.true(Array.isArray(r), (r as Error).message);
  const gap = await outcome(t, jsonLine(table()) + jsonLine(change(1, [1, 'a'])) + jsonLine(change(3, [3, 'c'])));
  t.true(Array.isArray(gap) && gap.length === 3, (gap as Error).message);
});

test('clocks: wall and counter are integers from 0 to 2^53−1; beyond, negative or fractional is payload-invalid, naming seq, table and the part', async (t) => {
  const line = (clock: string) => jsonLine(change(1, [1, 'a'])).replace(/"clock":\[[^\]]*\]/, `"clock":${clock}`);
  for (const [clock, part] of [
    ['[9007199254740992,0]', 'wall'],
    ['[1e300,0]', 'wall'],
    ['[-1,0]', 'wall'],
    ['[1767225600000,9007199254740992]', 'counter'],
    ['[1767225600000,0.5]', 'counter'],
  ] as const) {
    await refusedWith(t, jsonLine(table()) + line(clock), ErrorCodes.PAYLOAD_INVALID, new RegExp(`^.*change 1 \\(table "t"\\): clock ${part}: must be an integer from 0 to 2\\^53−1`));
  }
  const edge = await outcome(t, jsonLine(table()) + line('[9007199254740991,9007199254740991]'));
  t.true(Array.isArray(edge), (edge as Error).message);
});

test('canonical JSON sorts keys by UTF-16 code unit (not by code point), as JavaScript sorts strings', (t) => {
  // U+FF5A sorts after U+1D518 by code point, before it by UTF-16 code unit (0xD835 < 0xFF5A).
  const value = { 'ｚ': 1, '𝔘': 2, 'é': 3, Z: 4, a: 5, '': 6 };
  t.is(canonicalJson(value), '{"":6,"Z":4,"a":5,"é":3,"𝔘":2,"ｚ":1}');
  t.is(canonicalJson({ b: { 'ä': 1, 'a': 2 } }), '{"b":{"a":2,"ä":1}}');
});

test('the JSON schemas state the same name and type grammar as the code', (t) => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'change-record.schema.json'), 'utf8'));
  t.is(schema.definitions.name.pattern, NAME_PATTERN.source);
  t.is(schema.definitions.name.maxLength, NAME_MAX_LENGTH);
  t.is(schema.definitions.declaredType.pattern, DECLARED_TYPE_PATTERN.source);
  t.is(schema.definitions.declaredType.maxLength, DECLARED_TYPE_MAX_LENGTH);
});
