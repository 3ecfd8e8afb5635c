/**
 * The limits of docs/FORMAT.md "Limits", each refused with `limit-exceeded` before the work it
 * bounds: manifest numbers before anything is decrypted, a record's nesting and size before it
 * is parsed; a long line read in linear time; a worker that runs out of memory refused, never
 * `internal` (one that cannot start is a bug: test/payload-worker-failure.test.ts).
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, FerryError, type ErrorCode } from '../src/core/errors.js';
import { openBundle, readPayloadRecords } from '../src/format/bundle-reader.js';
import { BundleWriter } from '../src/format/bundle-writer.js';
import { MAX_CHANGES, MAX_RECORD_BYTES, MAX_STREAM_BYTES, maxStreamBytes } from '../src/format/constants.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import type { PayloadRecord } from '../src/format/records.js';
import { jsonLine, rawBundle, RECIPIENT, SENDER, writeBundle, RECIPIENT_KEYS as keys, SENDER_TRUSTED as trusted, readAllRecords as readAll } from './helpers/bundles.js';
import { tempDir } from './helpers/env.js';
import { PassThrough } from 'node:stream';

type Reader = typeof readPayloadRecords;
const readers: Array<[string, Reader]> = [
  ['main thread', readPayloadRecords],
  ['worker', (b, k) => readPayloadInWorker(b, k)],
];


async function refused(t: import('ava').ExecutionContext, p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<FerryError> {
  const err = await t.throwsAsync(p);
  t.true(err instanceof FerryError, `expected a typed refusal, got ${err?.stack}`);
  t.is((err as FerryError).code, code, err?.message);
  if (message) t.regex(err!.message, message);
  return err as FerryError;
}

const table = (name = 't', columns = ['id', 'v'], key = ['id']) => ({ kind: 'table', table: name, columns: columns.map((c) => ({ name: c, type: '' })), key });
/** The table record ferry's writer sends (bundle version 2); rawBundle's hand-made bundles are version 1, without scope. */
const writtenTable = () => ({ ...table(), scope: 'facility' }) as PayloadRecord;
const change = (seq: number, row: unknown[], tableName = 't') => ({ kind: 'change', origin: SENDER.id, seq, clock: [1767225600000 + seq, 0], table: tableName, op: 'insert', row });

test.serial('a 5 KB bundle of a million nested brackets is refused as limit-exceeded before parsing, by both readers', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'nested.ferry-bundle');
  const line = jsonLine(change(1, [1, 'NESTED'])).replace('"NESTED"', `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
  rawBundle(path, jsonLine(table()) + line, { manifest: (m) => ({ ...m, changes: 1, seq: { first: 1, last: 1 }, tables: { t: 1 } }) });
  t.true(statSync(path).size < 8 * 1024, `${statSync(path).size} bytes`);
  for (const [name, reader] of readers) {
    const started = Date.now();
    await refused(t, readAll(path, reader), ErrorCodes.LIMIT_EXCEEDED, /record 2 nests arrays and objects deeper than 4/);
    t.true(Date.now() - started < 10_000, `${name}: ${Date.now() - started} ms`);
  }
});

test.serial('a record of a single 20 MiB value reads in seconds, in both readers (line splitting is linear)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'long.ferry-bundle');
  const value = 'x'.repeat(20 * 1024 * 1024);
  await writeBundle(path, [writtenTable(), change(1, [1, value]) as PayloadRecord]);
  for (const [name, reader] of readers) {
    const started = Date.now();
    const records = await readAll(path, reader);
    t.is(((records[1] as { row: unknown[] }).row[1] as string).length, value.length);
    // Joining the rest of the line with each 16 KiB chunk took minutes.
    t.true(Date.now() - started < 20_000, `${name}: ${Date.now() - started} ms`);
  }
});

test.serial('a payload worker that runs out of memory is a limit-exceeded refusal, not an internal error', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'long.ferry-bundle');
  // 8 MiB strings against a 12 MB heap: over the limit, yet no single allocation passes the
  // 16 MB Node grants a worker to stop cleanly (one that does makes V8 abort the whole process,
  // which is why MAX_RECORD_BYTES keeps every record far below the worker's real limit).
  await writeBundle(path, [writtenTable(), change(1, [1, 'y'.repeat(8 * 1024 * 1024)]) as PayloadRecord]);
  const b = await openBundle(path);
  const read = async () => {
    for await (const _ of readPayloadInWorker(b, keys, { maxOldGenerationSizeMb: 12 })) void _;
  };
  await refused(t, read(), ErrorCodes.LIMIT_EXCEEDED, /more memory than the reader allows/);
});

test.serial('a record longer than MAX_RECORD_BYTES is refused as limit-exceeded, before it is joined', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'huge-line.ferry-bundle');
  // Incompressible, so that the stream is within the ratio limit and the line limit is what refuses.
  const value = randomBytes(Math.ceil((MAX_RECORD_BYTES * 3) / 4)).toString('base64');
  rawBundle(path, jsonLine(table()) + jsonLine(change(1, [1, value])));
  await refused(t, readAll(path), ErrorCodes.LIMIT_EXCEEDED, new RegExp(`record 2 is longer than ${MAX_RECORD_BYTES} bytes`));
});

test.serial('a manifest declaring more stream than the ratio allows is refused by openBundle, before any key is used', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ratio.ferry-bundle');
  const m = rawBundle(path, jsonLine(table()) + jsonLine(change(1, [1, 'a'])), { manifest: (m) => ({ ...m, payload: { ...m.payload, stream_bytes: maxStreamBytes(m.payload.plaintext_bytes) + 1 } }) });
  t.is(m.payload.stream_bytes, 64 * 1024 * 1024 + 1, 'a small bundle gets the 64 MiB floor, and no more');
  // openBundle takes no key: the refusal comes before anything could be decrypted.
  await refused(t, openBundle(path), ErrorCodes.LIMIT_EXCEEDED, /stream_bytes .* is more than 67108864/);
  const absolute = join(dir, 'absolute.ferry-bundle');
  rawBundle(absolute, jsonLine(table()) + jsonLine(change(1, [1, 'a'])), { manifest: (m) => ({ ...m, payload: { ...m.payload, plaintext_bytes: 2 ** 30, stream_bytes: MAX_STREAM_BYTES + 1 } }) });
  await refused(t, openBundle(absolute), ErrorCodes.LIMIT_EXCEEDED, /stream_bytes/);
});

test.serial('manifest counts over the limits (changes, tables) are refused by openBundle', async (t) => {
  const dir = tempDir(t);
  const stream = jsonLine(table()) + jsonLine(change(1, [1, 'a']));
  const many = join(dir, 'changes.ferry-bundle');
  rawBundle(many, stream, { manifest: (m) => ({ ...m, changes: MAX_CHANGES + 1, seq: { first: 1, last: MAX_CHANGES + 1 }, tables: { t: MAX_CHANGES + 1 } }) });
  await refused(t, openBundle(many), ErrorCodes.LIMIT_EXCEEDED, /67108865 changes, more than 67108864/);
  const tables = join(dir, 'tables.ferry-bundle');
  const names = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`t${i}`, 1]));
  rawBundle(tables, stream, { manifest: (m) => ({ ...m, changes: 501, seq: { first: 1, last: 501 }, tables: names }) });
  await refused(t, openBundle(tables), ErrorCodes.LIMIT_EXCEEDED, /501 tables, more than 500/);
});

test.serial('table records over the column limits, and a record of too many values, are refused as limit-exceeded', async (t) => {
  const dir = tempDir(t);
  const cols = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const wide = join(dir, 'wide.ferry-bundle');
  rawBundle(wide, jsonLine(table('t', cols(1001), ['c0'])) + jsonLine(change(1, Array(1001).fill(null))));
  await refused(t, readAll(wide), ErrorCodes.LIMIT_EXCEEDED, /record 1 \(table "t"\) has 1001 columns, more than 1000/);
  const total = join(dir, 'total.ferry-bundle');
  let stream = '';
  for (let i = 0; i < 11; i++) stream += jsonLine(table(`t${i}`, cols(1000), ['c0'])) + jsonLine(change(i + 1, Array(1000).fill(null), `t${i}`));
  rawBundle(total, stream);
  await refused(t, readAll(total), ErrorCodes.LIMIT_EXCEEDED, /more than 10000 columns over the bundle's tables/);
  const key = join(dir, 'key.ferry-bundle');
  rawBundle(key, jsonLine(table('t', cols(40), cols(33))) + jsonLine(change(1, Array(40).fill(null))));
  await refused(t, readAll(key), ErrorCodes.LIMIT_EXCEEDED, /a key of 33 columns, more than 32/);
  const values = join(dir, 'values.ferry-bundle');
  rawBundle(values, jsonLine(table()) + jsonLine(change(1, Array(5000).fill(1))));
  await refused(t, readAll(values), ErrorCodes.LIMIT_EXCEEDED, /record 2 holds more than 4096 commas/);
});

test.serial('the writer refuses a table no bundle can carry, and cuts before a bundle would pass the format limits', async (t) => {
  const w = new BundleWriter({
    sender: { id: SENDER.id, fingerprint: SENDER.fingerprint, signingSecretKey: SENDER.sign.secretKey },
    recipient: { id: RECIPIENT.id, fingerprint: RECIPIENT.fingerprint, encryptionKey: RECIPIENT.box.publicKey },
    out: new PassThrough().resume(),
    bundleId: new Uint8Array(16),
    ephemeralSecret: new Uint8Array(32).fill(3),
    created: new Date('2026-01-01T00:00:00.000Z'),
  });
  const wide = table('t', Array.from({ length: 1001 }, (_, i) => `c${i}`), ['c0']) as PayloadRecord;
  const err = await t.throwsAsync(w.write(wide));
  t.is((err as FerryError).code, ErrorCodes.LIMIT_EXCEEDED);
  t.regex(err!.message, /table t has 1001 columns/);
  // 64 MiB of one letter compresses about 1000:1: past the floor, the ratio says cut.
  await w.write(writtenTable());
  const line = jsonLine(change(1, [1, 'a'.repeat(1024 * 1024)]));
  let seq = 0;
  while (await w.fits(Buffer.byteLength(line))) await w.writeLine(change(++seq, [1, '']) as PayloadRecord, line);
  t.is(seq, 63, 'cut once the next change would pass 64 MiB of stream');
  w.abort();
});
