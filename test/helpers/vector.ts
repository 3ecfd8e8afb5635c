/**
 * The format v1 test vector (docs/FORMAT.md, "Test vector"): fixed keys and randomness, a small
 * change stream, the bundle, an ack and a key rotation notice made from them, and negative
 * vectors (files broken on purpose, with the code each must be refused with). `npm run
 * make-vector` writes it to fixtures/vectors/v1; a test regenerates it and compares every file
 * byte for byte.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { encodeAck, type Ack } from '../../src/format/ack.js';
import { toB64, toHex } from '../../src/format/encoding.js';
import type { PayloadRecord } from '../../src/format/records.js';
import { encodeRotation, makeRotationNotice, type RotationNotice } from '../../src/format/rotation.js';
import { RECIPIENT, SENDER, testKeys, writeBundle, type TestKeys } from './bundles.js';
import { seededRandom } from './env.js';
import { negativeVectors, type Expectation } from './negative-vectors.js';

/** The sender's keys after the rotation the vector's notice announces. */
export const ROTATED = testKeys(SENDER.id, 3);

/** The zlib that wrote the vector's compressed bytes (Node's bundled one); FORMAT.md names it too. */
export const VECTOR_ZLIB = '1.3.1-e00f703';

export function vectorRecords(): PayloadRecord[] {
  const id = '3edac2e3-d223-6fae-d515-daf96ef6bc76';
  return [
    { kind: 'table', table: 'patients', columns: [{ name: 'Id', type: 'TEXT' }, { name: 'NAME', type: 'TEXT' }, { name: 'BIRTHDATE', type: 'TEXT' }, { name: 'LAT', type: 'REAL' }, { name: 'VISITS', type: 'INTEGER' }, { name: 'PHOTO', type: 'BLOB' }], key: ['Id'], scope: 'facility' },
    { kind: 'change', origin: 'RW-001', seq: 1, clock: [1767322800000, 0], table: 'patients', op: 'insert', row: [id, 'Amélie "Mia" Nguyễn\nÖztürk 😀', '2014-10-06', { real: -1.9441 }, 3, { blob: 'AAEC/w==' }] },
    { kind: 'change', origin: 'RW-001', seq: 2, clock: [1767322800000, 1], table: 'patients', op: 'update', row: [id, 'Amélie "Mia" Nguyễn\nÖztürk 😀', '2014-10-06', { real: 'inf' }, { int: '9007199254740993' }, null] },
    { kind: 'change', origin: 'RW-001', seq: 3, clock: [1767322800500, 0], table: 'patients', op: 'update', row: [id, '', null, { real: '-inf' }, { int: '-9223372036854775808' }, { blob: '' }] },
    { kind: 'change', origin: 'RW-001', seq: 4, clock: [1767322801000, 0], table: 'patients', op: 'delete', key: ['9d188916-8390-282b-3ec2-73fce6e08649'], row: null },
  ];
}

const publicKeys = (k: TestKeys) => ({ ed25519_public: toB64(k.sign.publicKey), x25519_public: toB64(k.box.publicKey), fingerprint: k.fingerprint });
const rotationKeysOf = (k: TestKeys) => ({ signing_key: toB64(k.sign.publicKey), encryption_key: toB64(k.box.publicKey), fingerprint: k.fingerprint });

/** Write the vector's files into `dir`. Deterministic: same bytes on every run. */
export async function makeVector(dir: string): Promise<void> {
  const records = vectorRecords();
  const r = seededRandom(99);
  const bundleId = r(16);
  const ephemeral = r(32);
  const rotation: RotationNotice = makeRotationNotice({ id: SENDER.id, role: 'facility', old: rotationKeysOf(SENDER), new: rotationKeysOf(ROTATED), created: new Date('2026-02-01T09:00:00.000Z') });
  const keys = {
    note: 'TEST KEYS: public on purpose; never use them for real data',
    sender: { id: SENDER.id, ed25519_seed: toB64(SENDER.sign.secretKey.subarray(0, 32)), ...publicKeys(SENDER) },
    recipient: { id: RECIPIENT.id, x25519_secret: toB64(RECIPIENT.box.secretKey), ed25519_seed: toB64(RECIPIENT.sign.secretKey.subarray(0, 32)), ...publicKeys(RECIPIENT) },
    bundle_id: toHex(bundleId),
    ephemeral_x25519_secret: toB64(ephemeral),
    created: '2026-01-02T03:04:05.000Z',
    rotation: { file: 'rotation.ferry-rotation', id: SENDER.id, role: 'facility', old: 'sender', new: { ed25519_seed: toB64(ROTATED.sign.secretKey.subarray(0, 32)), ...publicKeys(ROTATED) }, created: rotation.created },
  };
  writeFileSync(join(dir, 'keys.json'), `${JSON.stringify(keys, null, 2)}\n`);
  writeFileSync(join(dir, 'changes.jsonl'), records.map((x) => `${JSON.stringify(x)}\n`).join(''));
  const done = await writeBundle(join(dir, 'bundle.ferry-bundle'), records, { seed: 99, created: new Date(keys.created) });
  const ack: Ack = {
    format: 'ferry-ack',
    version: 1,
    ack_id: toHex(r(16)),
    hub: RECIPIENT.id,
    hub_fingerprint: RECIPIENT.fingerprint,
    facility: SENDER.id,
    bundle_id: done.manifest.bundle_id,
    seq: done.manifest.seq,
    applied_ranges: [[1, 4]],
    outcome: 'applied',
    counts: { applied: 4, already_present: 0, conflicts: 0, rejected: 0 },
    created: '2026-01-05T10:00:00.000Z',
  };
  writeFileSync(join(dir, 'ack.ferry-ack'), await encodeAck(ack, RECIPIENT.sign.secretKey));
  writeFileSync(join(dir, 'rotation.ferry-rotation'), await encodeRotation(rotation, SENDER.sign.secretKey, ROTATED.sign.secretKey));

  const negative = join(dir, 'negative');
  mkdirSync(negative, { recursive: true });
  const expected: Record<string, Expectation> = {};
  const lines = records.map((x) => JSON.stringify(x));
  for (const v of negativeVectors({ records: lines, ack, rotation, rotatedTo: ROTATED })) {
    writeFileSync(join(negative, v.name), await v.bytes());
    expected[v.name] = { code: v.code, step: v.step, breaks: v.breaks };
  }
  writeFileSync(join(negative, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
}

/** Every file under `dir`, as paths relative to it, sorted. */
export function vectorFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
