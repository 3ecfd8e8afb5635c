import test from 'ava';
import nacl from 'tweetnacl';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChunkOpener, ChunkSealer } from '../src/format/stream-crypto.js';
import { CHUNK_SIZE } from '../src/format/constants.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import type { PayloadRecord } from '../src/format/records.js';
import { decodeValue, encodeValue } from '../src/format/values.js';
import { changeRecords, RECIPIENT, SENDER, writeBundle } from './helpers/bundles.js';
import { seededRandom, tempDir } from './helpers/env.js';

async function sealOpen(plain: Buffer): Promise<Buffer> {
  const key = nacl.randomBytes(32);
  const sealer = new ChunkSealer(key);
  // Feed in uneven pieces, as a stream would.
  const sealed: Buffer[] = [];
  for (let i = 0; i < plain.length; i += 50_000) sealed.push(...sealer.push(plain.subarray(i, i + 50_000)));
  sealed.push(sealer.finish());
  const ciphertext = Buffer.concat(sealed);
  const out: Buffer[] = [];
  await pipeline(Readable.from([ciphertext]), new ChunkOpener(key, ciphertext.length), async function* (src) {
    for await (const c of src) out.push(c as Buffer);
  });
  return Buffer.concat(out);
}

for (const size of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 5 * 1024 * 1024 + 7]) {
  test(`STREAM sealing round-trips ${size} bytes`, async (t) => {
    const plain = Buffer.from(seededRandom(size + 1)(size));
    const back = await sealOpen(plain);
    t.is(back.length, plain.length);
    t.true(back.equals(plain)); // (ava's deepEqual is very slow on MB-sized buffers)
  });
}

test('every chunk but the last holds exactly CHUNK_SIZE bytes; the last carries the flag', (t) => {
  const sealer = new ChunkSealer(nacl.randomBytes(32));
  const full = sealer.push(Buffer.alloc(2 * CHUNK_SIZE));
  t.is(full.length, 1, 'a chunk is held back until the stream is known to go on');
  t.is(full[0]!.length, CHUNK_SIZE + 16);
  t.is(sealer.finish().length, CHUNK_SIZE + 16);
});

const sampleRecords = (n: number, seed = 3): PayloadRecord[] => changeRecords(n, { seed });

for (const n of [1, 10, 3000]) {
  test(`a bundle of ${n} changes round-trips, records and order intact`, async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'b.ferry-bundle');
    const records = sampleRecords(n);
    const done = await writeBundle(path, records);
    t.is(done.manifest.changes, n);
    t.deepEqual(done.manifest.seq, { first: 1, last: n });
    const b = await openBundle(path);
    verifyBundle(b, { signingKey: SENDER.sign.publicKey, fingerprint: SENDER.fingerprint }, { id: RECIPIENT.id });
    await checkPayloadHash(b);
    const back: PayloadRecord[] = [];
    for await (const r of readPayloadRecords(b, { encryptionSecretKey: RECIPIENT.box.secretKey, encryptionKey: RECIPIENT.box.publicKey })) back.push(r);
    t.deepEqual(back, records);
  });
}

test('a bundle of many MB (incompressible rows) round-trips with several chunks', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'big.ferry-bundle');
  const records = changeRecords(3000, { noise: 1500 });
  const done = await writeBundle(path, records);
  t.true(done.manifest.payload.ciphertext_bytes > 4 * 1024 * 1024);
  const b = await openBundle(path);
  await checkPayloadHash(b);
  let n = 0;
  for await (const r of readPayloadRecords(b, { encryptionSecretKey: RECIPIENT.box.secretKey, encryptionKey: RECIPIENT.box.publicKey })) {
    t.deepEqual(r, records[n]);
    n++;
  }
  t.is(n, records.length);
});

test('unzip -t (an independent zip reader) accepts a bundle', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'b.ferry-bundle');
  await writeBundle(path, changeRecords(500, { noise: 200 }));
  const r = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /No errors detected/);
});

test('SQLite values keep their storage class through the JSON encoding', (t) => {
  const values: unknown[] = [null, 'text ✓ 日本語', '', 0n, -1n, 2n ** 53n, -(2n ** 63n), 2n ** 63n - 1n, 1.5, 1, -0.25, 1e308, Infinity, -Infinity, new Uint8Array([0, 1, 255])];
  for (const v of values) {
    const encoded = JSON.parse(JSON.stringify(encodeValue(v)));
    const back = decodeValue(encoded);
    // Integers read with safeIntegers come back as bigint; reals as number.
    if (typeof v === 'number') t.is(typeof back, 'number');
    if (typeof v === 'bigint') t.is(typeof back, 'bigint');
    t.deepEqual(back, v instanceof Uint8Array ? v : v, `value ${String(v)}`);
  }
});
