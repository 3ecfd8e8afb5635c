/**
 * The JSON Schema validators are generated code committed to src/ (so no command loads or runs
 * ajv's compiler): the file must be what the schemas give today, and validating with it must
 * say exactly what compiling the schemas at run time said.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPORTS, GENERATED_PATH, ajvWithSchemas, generateSchemaValidators } from '../scripts/schema-codegen.mts';
import { schemaProblem, type SchemaName } from '../src/format/validate.js';
import * as generated from '../src/format/schema-validators.generated.js';
import { ROOT } from './helpers/env.js';

test('the committed validators are the code the schemas give today (else run: npm run schemas)', (t) => {
  const committed = readFileSync(join(ROOT, GENERATED_PATH), 'utf8');
  // t.true, not t.is: a diff of two 100 kB texts would bury the hint.
  t.true(generateSchemaValidators(ROOT) === committed, `${GENERATED_PATH} does not match schemas/: run npm run schemas and commit the result`);
});

// Good documents: those of the v1 test vector (fixtures/vectors/v1) and an identity card for its sender.
const MANIFEST = { bundle_id: 'c5e9b73c7fae33d20d0efbfb4550112d', changes: 4, created: '2026-01-02T03:04:05.000Z', format: 'ferry-bundle', payload: { chunk_size: 65536, ciphertext_bytes: 482, compression: 'zlib', ephemeral_key: 'd1ldoYhirkhKuiJho/IXQC2bR3+yZbmFDdutIbAnlSs=', plaintext_bytes: 466, sha256: '1dbbd59f2a730e522d979686fd5d9af42d52d58fdbd4d6c5c3782a173ffaf595', stream_bytes: 1123 }, recipient: 'HUB-1', recipient_fingerprint: '11TG-HC7H-7GAC-3CJ9', sender: 'RW-001', sender_fingerprint: 'TAJJ-FSYN-8CF9-5QRJ', seq: { first: 1, last: 4 }, tables: { patients: 4 }, version: 1 };
const ACK = { ack_id: '3da9d82791a5b613e042c9c3527760e6', applied_ranges: [[1, 4]], bundle_id: 'c5e9b73c7fae33d20d0efbfb4550112d', counts: { already_present: 0, applied: 4, conflicts: 0, rejected: 0 }, created: '2026-01-05T10:00:00.000Z', facility: 'RW-001', format: 'ferry-ack', hub: 'HUB-1', hub_fingerprint: '11TG-HC7H-7GAC-3CJ9', outcome: 'applied', seq: { first: 1, last: 4 }, version: 1 };
const ROTATION = { created: '2026-02-01T09:00:00.000Z', format: 'ferry-rotation', id: 'RW-001', new: { encryption_key: 'IUylUTj0l/ppz4qZcaN0haN2QdfjcgJa9bSYRvW5/D8=', fingerprint: 'BFCH-48RB-MYFR-EVBC', signing_key: '8gu4TDa8s/xAQO3Gs6x+6DiLsAnjEDuhLYwXWgpyzlc=' }, old: { encryption_key: 'OSFHeY/NnY7rySoF3u8WefmoDqPlULF5zb2PWseTQBc=', fingerprint: 'TAJJ-FSYN-8CF9-5QRJ', signing_key: 'U12FkH/imp5wM/RlCwEGeClvtyE8+Zg+V66r74dJfh0=' }, role: 'facility', version: 1 };
const IDENTITY = { format: 'ferry-identity', version: 1, id: 'RW-001', name: 'Rural clinic', role: 'facility', signing_key: 'U12FkH/imp5wM/RlCwEGeClvtyE8+Zg+V66r74dJfh0=', encryption_key: 'OSFHeY/NnY7rySoF3u8WefmoDqPlULF5zb2PWseTQBc=', fingerprint: 'TAJJ-FSYN-8CF9-5QRJ', created: '2026-01-01T00:00:00.000Z' };
const TABLE = { kind: 'table', table: 'patients', columns: [{ name: 'Id', type: 'TEXT' }, { name: 'PHOTO', type: 'BLOB' }], key: ['Id'] };
const CHANGE = { kind: 'change', origin: 'RW-001', seq: 2, clock: [1767322800000, 1], table: 'patients', op: 'update', row: ['3edac2e3', { real: 'inf' }, { int: '9007199254740993' }, null, { blob: '' }, { real: -1.5 }, 3] };
const DELETE = { kind: 'change', origin: 'RW-001', seq: 4, clock: [1767322801000, 0], table: 'patients', op: 'delete', key: ['9d188916'], row: null };
const GOOD: [SchemaName, unknown][] = [['manifest', MANIFEST], ['ack', ACK], ['rotation', ROTATION], ['identity', IDENTITY], ['change-record', TABLE], ['change-record', CHANGE], ['change-record', DELETE]];

const without = (o: Record<string, unknown>, k: string) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k));

// What schemaProblem said when validate.ts compiled the schemas with ajv at run time (recorded
// from commit a5bdf3e); readers put these texts in the refusals a user sees.
const MESSAGES: [SchemaName, string, unknown, string | undefined][] = [
  ['identity', 'a name of 150 emoji: 150 characters, 300 UTF-16 units', { ...IDENTITY, name: '😀'.repeat(150) }, undefined],
  ['identity', 'a name of 201 characters', { ...IDENTITY, name: 'a'.repeat(201) }, 'name: must NOT have more than 200 characters'],
  ['identity', 'no fingerprint', without(IDENTITY, 'fingerprint'), `(top level): must have required property 'fingerprint' "fingerprint"`],
  ['identity', 'an unknown role', { ...IDENTITY, role: 'courier' }, 'role: must be equal to one of the allowed values'],
  ['identity', 'version 2', { ...IDENTITY, version: 2 }, 'version: must be equal to constant 1'],
  ['manifest', 'an extra field', { ...MANIFEST, note: 'x' }, '(top level): must NOT have additional properties "note"'],
  ['manifest', 'a misspelt format', { ...MANIFEST, format: 'ferry-bundel' }, 'format: must be equal to constant "ferry-bundle"'],
  ['manifest', 'a short ephemeral key', { ...MANIFEST, payload: { ...MANIFEST.payload, ephemeral_key: 'short' } }, 'payload.ephemeral_key: must match pattern "^[A-Za-z0-9+/]{43}=$"'],
  ['manifest', 'a table name with a space', { ...MANIFEST, tables: { 'bad name': 4 } }, 'tables: must match pattern "^[A-Za-z_][A-Za-z0-9_]*$"'],
  ['manifest', 'seq from 0', { ...MANIFEST, seq: { first: 0, last: 4 } }, 'seq.first: must be >= 1'],
  ['manifest', 'an array', [], '(top level): must be object'],
  ['ack', 'a range of three numbers', { ...ACK, applied_ranges: [[1, 4, 5]] }, 'applied_ranges.0: must NOT have more than 2 items'],
  ['ack', 'an unknown outcome', { ...ACK, outcome: 'done' }, 'outcome: must be equal to one of the allowed values'],
  ['ack', 'a negative count', { ...ACK, counts: { ...ACK.counts, applied: -1 } }, 'counts.applied: must be >= 0'],
  ['rotation', 'a fingerprint with a U', { ...ROTATION, new: { ...ROTATION.new, fingerprint: 'BFCH-48RB-MYFR-EVBU' } }, 'new.fingerprint: must match pattern "^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$"'],
  ['rotation', 'a date in words', { ...ROTATION, created: 'yesterday' }, 'created: must match pattern "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$"'],
  ['change-record', 'SQL in a declared type', { ...TABLE, columns: [{ name: 'Id', type: 'TEXT; DROP' }] }, 'columns.0.type: must match pattern "^([A-Za-z][A-Za-z0-9_]*( [A-Za-z][A-Za-z0-9_]*)*( ?\\( ?[+-]?[0-9]{1,10}( ?, ?[+-]?[0-9]{1,10})? ?\\))?)?$"'],
  ['change-record', 'a real "nan"', { ...CHANGE, row: [{ real: 'nan' }] }, 'row.0.real: must be number'],
  ['change-record', 'an int with leading zeros', { ...CHANGE, row: [{ int: '007' }] }, 'row.0.int: must match pattern "^(0|-?[1-9][0-9]{0,18})$"'],
  ['change-record', 'a key on an update', { ...CHANGE, key: ['x'] }, 'key: boolean schema is false'],
  ['change-record', 'a row on a delete', { ...DELETE, row: ['x'] }, 'row: must be null'],
  ['change-record', 'a clock beyond 2^53-1', { ...CHANGE, clock: [2 ** 53, 0] }, 'clock.0: must be <= 9007199254740991'],
  ['change-record', 'an unknown op', { ...CHANGE, op: 'upsert' }, 'op: must be equal to one of the allowed values'],
  ['change-record', 'a bare float', { ...CHANGE, row: [1.5] }, 'row.0: must be null'],
];

test('schemaProblem accepts the good documents and says what it said before of the bad ones', (t) => {
  for (const [name, doc] of GOOD) t.is(schemaProblem(name, doc), undefined, name);
  for (const [name, what, doc, message] of MESSAGES) t.is(schemaProblem(name, doc), message, `${name}, ${what}`);
});

/** Every document one edit away from a good one: each field (at any depth) removed, replaced by a value of another type, or joined by an extra field. */
function mutations(doc: unknown): unknown[] {
  const REPLACEMENTS: unknown[] = [null, true, 0, -1, 1.5, 2 ** 53, '', 'x', 'a'.repeat(300), [], ['x'], {}, { real: 'inf' }];
  const out: unknown[] = [];
  const visit = (value: unknown, rebuild: (v: unknown) => unknown) => {
    for (const r of REPLACEMENTS) out.push(rebuild(r));
    if (Array.isArray(value)) {
      out.push(rebuild([]), rebuild([...value, value[0]]));
      value.forEach((item, i) => visit(item, (v) => rebuild(value.map((x, j) => (j === i ? v : x)))));
    } else if (value !== null && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      out.push(rebuild({ ...o, unexpected: 1 }));
      for (const k of Object.keys(o)) {
        out.push(rebuild(without(o, k)));
        visit(o[k], (v) => rebuild({ ...o, [k]: v }));
      }
    }
  };
  visit(doc, (v) => v);
  return out;
}

test('the generated validators report the same errors as the schemas compiled at run time', (t) => {
  const ajv = ajvWithSchemas(ROOT);
  const exportOf: Record<SchemaName, keyof typeof generated> = { manifest: 'manifest', ack: 'ack', identity: 'identity', 'change-record': 'changeRecord', rotation: 'rotation', request: 'request', 'request-body': 'requestBody' };
  let compared = 0;
  for (const [name, good] of GOOD) {
    const compiled = ajv.getSchema(EXPORTS[exportOf[name]]!)!;
    const standalone = generated[exportOf[name]] as unknown as typeof compiled;
    for (const doc of [good, ...mutations(good)]) {
      const verdict = standalone(doc);
      t.is(verdict, compiled(doc));
      t.deepEqual(standalone.errors ?? null, compiled.errors ?? null, `${name}: ${JSON.stringify(doc).slice(0, 200)}`);
      compared++;
    }
  }
  t.true(compared > 1000, `compared ${compared} documents`);
});
