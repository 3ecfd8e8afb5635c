/**
 * The test vector of bundle format version 2 (docs/FORMAT.md, "Test vector"): fixed keys and
 * randomness, a small change stream (a facility-owned table and a shared one), the bundle, an
 * ack and a key rotation notice made from them, and negative vectors (files broken on purpose,
 * with the code each must be refused with). `npm run make-vector` writes it to
 * fixtures/vectors/v2; a test regenerates it and compares every file byte for byte.
 *
 * fixtures/vectors/v1 is the version 1 vector as ferry wrote it before table scopes: frozen (no
 * generator writes it any more), it stays there because readers must still read it.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { encodeAck, type Ack } from '../../src/format/ack.js';
import { toB64, toHex } from '../../src/format/encoding.js';
import type { ChangeRecord, PayloadRecord } from '../../src/format/records.js';
import { rowDigest } from '../../src/format/row-digest.js';
import type { EncodedValue } from '../../src/format/values.js';
import { encodeRotation, makeRotationNotice, type RotationNotice } from '../../src/format/rotation.js';
import { RECIPIENT, SENDER, testKeys, writeBundle, type TestKeys } from './bundles.js';
import { seededRandom } from './env.js';
import { negativeVectors, type Expectation } from './negative-vectors.js';

/** The sender's keys after the rotation the vector's notice announces. */
export const ROTATED = testKeys(SENDER.id, 3);

/** The zlib that wrote the vector's compressed bytes (Node's bundled one); FORMAT.md names it too. */
export const VECTOR_ZLIB = '1.3.1-e00f703';

/** The folder of the vector a version of the format writes: `fixtures/vectors/v<version>`. */
export const VECTOR_DIR = 'v2';
/** The frozen version 1 vector, which readers must still read. */
export const V1_VECTOR_DIR = 'v1';

/**
 * The vector's change stream. `patients` is facility-owned and holds every value kind;
 * `concepts` is shared (its key, a uuid, names the same row at every site), so its update and
 * its delete carry a base: the digest of the row as the change before it left it, which an
 * independent reader can check by replaying the stream.
 */
export function vectorRecords(): PayloadRecord[] {
  const id = '3edac2e3-d223-6fae-d515-daf96ef6bc76';
  const concept = '5f4b0a9e-1c2d-4e8f-9a7b-6c5d4e3f2a1b';
  const conceptInserted: EncodedValue[] = [concept, 'Malaria smear — positif', 0, { real: 2 }, { blob: 'iVBORw==' }, null];
  const conceptUpdated: EncodedValue[] = [concept, 'Malaria smear — positive', 1, { real: -0.125 }, { blob: '' }, { int: '-9007199254740993' }];
  const shared = (seq: number, clock: [number, number], op: ChangeRecord['op'], rest: Pick<ChangeRecord, 'row' | 'key'>, before?: EncodedValue[]): ChangeRecord => ({
    kind: 'change', origin: 'RW-001', seq, clock, table: 'concepts', op, ...rest, ...(before ? { base: rowDigest(before) } : {}),
  });
  return [
    { kind: 'table', table: 'patients', columns: [{ name: 'Id', type: 'TEXT' }, { name: 'NAME', type: 'TEXT' }, { name: 'BIRTHDATE', type: 'TEXT' }, { name: 'LAT', type: 'REAL' }, { name: 'VISITS', type: 'INTEGER' }, { name: 'PHOTO', type: 'BLOB' }], key: ['Id'], scope: 'facility' },
    { kind: 'change', origin: 'RW-001', seq: 1, clock: [1767322800000, 0], table: 'patients', op: 'insert', row: [id, 'Amélie "Mia" Nguyễn\nÖztürk 😀', '2014-10-06', { real: -1.9441 }, 3, { blob: 'AAEC/w==' }] },
    { kind: 'change', origin: 'RW-001', seq: 2, clock: [1767322800000, 1], table: 'patients', op: 'update', row: [id, 'Amélie "Mia" Nguyễn\nÖztürk 😀', '2014-10-06', { real: 'inf' }, { int: '9007199254740993' }, null] },
    { kind: 'table', table: 'concepts', columns: [{ name: 'uuid', type: 'TEXT' }, { name: 'name', type: 'VARCHAR(255)' }, { name: 'retired', type: 'INTEGER' }, { name: 'weight', type: 'REAL' }, { name: 'icon', type: 'BLOB' }, { name: 'code', type: 'INTEGER' }], key: ['uuid'], scope: 'shared' },
    shared(3, [1767322800200, 0], 'insert', { row: conceptInserted }),
    shared(4, [1767322800300, 0], 'update', { row: conceptUpdated }, conceptInserted),
    { kind: 'change', origin: 'RW-001', seq: 5, clock: [1767322800500, 0], table: 'patients', op: 'update', row: [id, '', null, { real: '-inf' }, { int: '-9223372036854775808' }, { blob: '' }] },
    { kind: 'change', origin: 'RW-001', seq: 6, clock: [1767322801000, 0], table: 'patients', op: 'delete', key: ['9d188916-8390-282b-3ec2-73fce6e08649'], row: null },
    shared(7, [1767322801500, 0], 'delete', { key: [concept], row: null }, conceptUpdated),
  ];
}

const publicKeys = (k: TestKeys) => ({ ed25519_public: toB64(k.sign.publicKey), x25519_public: toB64(k.box.publicKey), fingerprint: k.fingerprint });
const rotationKeysOf = (k: TestKeys) => ({ signing_key: toB64(k.sign.publicKey), encryption_key: toB64(k.box.publicKey), fingerprint: k.fingerprint });

const VECTOR_SEED = 102;

/** Write the vector's files into `dir`. Deterministic: same bytes on every run. */
export async function makeVector(dir: string): Promise<void> {
  const records = vectorRecords();
  // Not the seed of the version 1 vector: its bundle would otherwise reuse that one's bundle_id.
  const r = seededRandom(VECTOR_SEED);
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
  const done = await writeBundle(join(dir, 'bundle.ferry-bundle'), records, { seed: VECTOR_SEED, created: new Date(keys.created) });
  const ack: Ack = {
    format: 'ferry-ack',
    version: 1,
    ack_id: toHex(r(16)),
    hub: RECIPIENT.id,
    hub_fingerprint: RECIPIENT.fingerprint,
    facility: SENDER.id,
    bundle_id: done.manifest.bundle_id,
    seq: done.manifest.seq,
    applied_ranges: [[1, done.manifest.seq.last]],
    outcome: 'applied',
    counts: { applied: done.manifest.changes, already_present: 0, conflicts: 0, rejected: 0 },
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
