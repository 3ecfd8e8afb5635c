/**
 * Table scopes and bases (docs/FORMAT.md "Table scope", "Row digest", "Record checks"): a version
 * 2 table record says whose rows it holds; a version 1 one says nothing and is facility-owned;
 * an update or delete in a shared table, and only there, carries the digest of the row it was
 * based on. Each bad bundle is signed by the real sender, so the rule itself is what refuses it.
 */
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { ErrorCodes, FerryError } from '../src/core/errors.js';
import { readPayloadRecords } from '../src/format/bundle-reader.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import type { ChangeRecord, PayloadRecord, TableRecord } from '../src/format/records.js';
import { rowDigest } from '../src/format/row-digest.js';
import { jsonLine, rawBundle, readAllRecords as readAll, SENDER } from './helpers/bundles.js';
import { tempDir } from './helpers/env.js';

const readers: Array<[string, typeof readPayloadRecords]> = [
  ['main thread', readPayloadRecords],
  ['worker', (b, k) => readPayloadInWorker(b, k)],
];

/** A table record; `scope: null` leaves the member out, as version 1 wrote it. */
const table = (scope: string | null) => ({ kind: 'table', table: 't', columns: [{ name: 'id', type: 'INTEGER' }, { name: 'v', type: 'TEXT' }], key: ['id'], ...(scope === null ? {} : { scope }) });
const change = (seq: number, op: ChangeRecord['op'], base?: unknown) => ({
  kind: 'change',
  origin: SENDER.id,
  seq,
  clock: [1767225600000 + seq, 0],
  table: 't',
  op,
  ...(op === 'delete' ? { key: [1], row: null } : { row: [1, `v${seq}`] }),
  ...(base === undefined ? {} : { base }),
});
/** The base of change `seq`: the digest of the row change seq − 1 left. */
const baseOf = (seq: number) => rowDigest([1, `v${seq - 1}`]);

let n = 0;
async function read(t: ExecutionContext, version: number, records: unknown[], reader = readPayloadRecords): Promise<PayloadRecord[] | FerryError> {
  const path = join(tempDir(t), `s${++n}.ferry-bundle`);
  rawBundle(path, records.map(jsonLine).join(''), { manifest: (m) => ({ ...m, version }) });
  try {
    return await readAll(path, reader);
  } catch (err) {
    t.true(err instanceof FerryError, `a typed refusal, not ${(err as Error).stack}`);
    return err as FerryError;
  }
}

async function refused(t: ExecutionContext, version: number, records: unknown[], message: RegExp): Promise<void> {
  for (const [name, reader] of readers) {
    const r = await read(t, version, records, reader);
    if (Array.isArray(r)) {
      t.fail(`${name}: accepted, expected ${message}`);
      continue;
    }
    t.is(r.code, ErrorCodes.PAYLOAD_INVALID, `${name}: ${r.message}`);
    t.regex(r.message, message, name);
  }
}

test('version 2: a shared table\'s insert, and its update and delete with their bases, are read as sent', async (t) => {
  const sent = [table('shared'), change(1, 'insert'), change(2, 'update', baseOf(2)), change(3, 'delete', baseOf(3))];
  for (const [name, reader] of readers) t.deepEqual(await read(t, 2, sent, reader), sent, name);
  const facility = [table('facility'), change(1, 'insert'), change(2, 'update'), change(3, 'delete')];
  for (const [name, reader] of readers) t.deepEqual(await read(t, 2, facility, reader), facility, name);
});

test('version 2: a table record without a scope, or with another scope than facility or shared, is refused', async (t) => {
  await refused(t, 2, [table(null), change(1, 'insert')], /record 1 \(table "t"\): the table record carries no scope \(facility or shared\)/);
  for (const scope of ['global', 'Shared', '']) {
    await refused(t, 2, [table(scope), change(1, 'insert')], /record 1 \(table "t"\): scope: must be "facility" or "shared"/);
  }
});

test('version 1: a table record carries no scope, and is read as facility-owned, by both readers', async (t) => {
  for (const [name, reader] of readers) {
    const r = await read(t, 1, [table(null), change(1, 'insert'), change(2, 'update')], reader);
    if (!Array.isArray(r)) return t.fail(`${name}: ${r.message}`);
    t.is((r[0] as TableRecord).scope, 'facility', name);
  }
  for (const scope of ['facility', 'shared']) {
    await refused(t, 1, [table(scope), change(1, 'insert')], /record 1 \(table "t"\): a version 1 bundle's table record carries no scope/);
  }
  // Its tables being facility-owned, no change of a version 1 bundle carries a base.
  await refused(t, 1, [table(null), change(1, 'insert'), change(2, 'update', baseOf(2))], /change 2 \(table "t"\): only an update or delete in a shared table carries a base/);
});

test('a base is required on a shared table\'s update and delete, and refused everywhere else', async (t) => {
  await refused(t, 2, [table('shared'), change(1, 'insert'), change(2, 'update')], /change 2 \(table "t"\): an update in a shared table carries no base/);
  await refused(t, 2, [table('shared'), change(1, 'insert'), change(2, 'delete')], /change 2 \(table "t"\): a delete in a shared table carries no base/);
  const notHere = /change 1 \(table "t"\): only an update or delete in a shared table carries a base/;
  await refused(t, 2, [table('shared'), change(1, 'insert', baseOf(1))], notHere);
  for (const op of ['insert', 'update', 'delete'] as const) await refused(t, 2, [table('facility'), change(1, op, baseOf(1))], notHere);
});

test('a base that is not 64 lowercase hex digits is refused, without showing it', async (t) => {
  const good = baseOf(2);
  for (const base of [good.toUpperCase(), good.slice(1), `${good}0`, `${good.slice(1)}g`, 42, null, '']) {
    const records = [table('shared'), change(1, 'insert'), change(2, 'update', base)];
    await refused(t, 2, records, /change 2 \(table "t"\): base: must be a row digest, 64 lowercase hex digits/);
    const r = await read(t, 2, records);
    if (!Array.isArray(r) && typeof base === 'string' && base.length > 8) t.false(r.message.includes(base.slice(0, 8)), r.message);
  }
});
