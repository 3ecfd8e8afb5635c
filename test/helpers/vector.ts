/**
 * The format v1 test vector (docs/FORMAT.md, "Test vector"): fixed keys and randomness, a small
 * change stream, the bundle and an ack made from them. `npm run make-vector` writes it to
 * fixtures/vectors/v1; a test regenerates it and compares every file byte for byte.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeAck, type Ack } from '../../src/format/ack.js';
import { toB64, toHex } from '../../src/format/encoding.js';
import type { PayloadRecord } from '../../src/format/records.js';
import { RECIPIENT, SENDER, writeBundle } from './bundles.js';
import { seededRandom } from './env.js';

export const VECTOR_FILES = ['keys.json', 'changes.jsonl', 'bundle.ferry-bundle', 'ack.ferry-ack'] as const;

export function vectorRecords(): PayloadRecord[] {
  return [
    { kind: 'table', table: 'patients', columns: [{ name: 'Id', type: 'TEXT' }, { name: 'BIRTHDATE', type: 'TEXT' }, { name: 'LAT', type: 'REAL' }, { name: 'VISITS', type: 'INTEGER' }, { name: 'PHOTO', type: 'BLOB' }], key: ['Id'] },
    { kind: 'change', origin: 'RW-001', seq: 1, clock: [1767322800000, 0], table: 'patients', op: 'insert', row: ['3edac2e3-d223-6fae-d515-daf96ef6bc76', '2014-10-06', { real: -1.9441 }, 3, { blob: 'AAEC/w==' }] },
    { kind: 'change', origin: 'RW-001', seq: 2, clock: [1767322800000, 1], table: 'patients', op: 'update', row: ['3edac2e3-d223-6fae-d515-daf96ef6bc76', '2014-10-06', { real: 30.0619 }, { int: '9007199254740993' }, null] },
    { kind: 'change', origin: 'RW-001', seq: 3, clock: [1767322801000, 0], table: 'patients', op: 'delete', key: ['9d188916-8390-282b-3ec2-73fce6e08649'], row: null },
  ];
}

/** Write the vector's files into `dir`. Deterministic: same bytes on every run. */
export async function makeVector(dir: string): Promise<void> {
  const records = vectorRecords();
  const r = seededRandom(99);
  const bundleId = r(16);
  const ephemeral = r(32);
  const keys = {
    note: 'TEST KEYS: public on purpose; never use them for real data',
    sender: { id: SENDER.id, ed25519_seed: toB64(SENDER.sign.secretKey.subarray(0, 32)), ed25519_public: toB64(SENDER.sign.publicKey), fingerprint: SENDER.fingerprint },
    recipient: { id: RECIPIENT.id, x25519_secret: toB64(RECIPIENT.box.secretKey), x25519_public: toB64(RECIPIENT.box.publicKey), ed25519_seed: toB64(RECIPIENT.sign.secretKey.subarray(0, 32)), ed25519_public: toB64(RECIPIENT.sign.publicKey), fingerprint: RECIPIENT.fingerprint },
    bundle_id: toHex(bundleId),
    ephemeral_x25519_secret: toB64(ephemeral),
    created: '2026-01-02T03:04:05.000Z',
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
    applied_ranges: [[1, 3]],
    outcome: 'applied',
    counts: { applied: 3, already_present: 0, conflicts: 0, rejected: 0 },
    created: '2026-01-05T10:00:00.000Z',
  };
  writeFileSync(join(dir, 'ack.ferry-ack'), await encodeAck(ack, RECIPIENT.sign.secretKey));
}
