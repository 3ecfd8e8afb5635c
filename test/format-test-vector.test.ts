/**
 * The test vectors (docs/FORMAT.md "Test vector"): fixtures/vectors/v2, the version ferry writes,
 * regenerates byte for byte; fixtures/vectors/v1, frozen as the previous ferry wrote it, is
 * still read, its tables as facility-owned.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ackSignatureValid, openAck } from '../src/format/ack.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import { BUNDLE_FORMAT_VERSION } from '../src/format/constants.js';
import { fromB64 } from '../src/format/encoding.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import { changeKey, keyIndexes, type ChangeRecord, type PayloadRecord, type TableRecord } from '../src/format/records.js';
import { openRotation, verifyRotation } from '../src/format/rotation.js';
import { rowDigest } from '../src/format/row-digest.js';
import { fingerprintOf } from '../src/format/identity.js';
import { ROOT, tempDir } from './helpers/env.js';
import { makeVector, V1_VECTOR_DIR, VECTOR_DIR, VECTOR_ZLIB, vectorFiles } from './helpers/vector.js';

const FIXTURE = join(ROOT, 'fixtures', 'vectors', VECTOR_DIR);
const V1 = join(ROOT, 'fixtures', 'vectors', V1_VECTOR_DIR);

test('the test vector regenerates byte for byte, negative vectors included', async (t) => {
  const dir = tempDir(t);
  await makeVector(dir);
  const files = vectorFiles(FIXTURE);
  t.deepEqual(vectorFiles(dir), files, 'the generator writes exactly the committed files');
  t.true(files.filter((f) => f.startsWith('negative/')).length >= 40);
  const zlib = process.versions.zlib === VECTOR_ZLIB ? '' : ` (this Node's zlib is ${process.versions.zlib}; the vector was written with ${VECTOR_ZLIB})`;
  for (const f of files) t.true(readFileSync(join(dir, f)).equals(readFileSync(join(FIXTURE, f))), `${f} differs from fixtures/vectors/${VECTOR_DIR}/${f}${zlib}`);
});

/** The vector's bundle, through every reading step, with the keys of its keys.json alone. */
async function readVector(dir: string, reader = readPayloadRecords): Promise<{ version: number; records: PayloadRecord[]; bundleId: string }> {
  const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'));
  const b = await openBundle(join(dir, 'bundle.ferry-bundle'));
  verifyBundle(b, { signingKey: fromB64(keys.sender.ed25519_public)!, fingerprint: keys.sender.fingerprint }, { id: keys.recipient.id });
  await checkPayloadHash(b);
  const records: PayloadRecord[] = [];
  for await (const r of reader(b, { encryptionSecretKey: fromB64(keys.recipient.x25519_secret)!, encryptionKey: fromB64(keys.recipient.x25519_public)! })) records.push(r);
  return { version: b.manifest.version, records, bundleId: b.manifest.bundle_id };
}

test('the test vector decrypts to its plaintext with the keys in keys.json alone', async (t) => {
  const { version, records, bundleId } = await readVector(FIXTURE);
  t.is(version, BUNDLE_FORMAT_VERSION);
  t.is(records.map((r) => `${JSON.stringify(r)}\n`).join(''), readFileSync(join(FIXTURE, 'changes.jsonl'), 'utf8'));
  const keys = JSON.parse(readFileSync(join(FIXTURE, 'keys.json'), 'utf8'));
  const a = await openAck(join(FIXTURE, 'ack.ferry-ack'));
  t.true(ackSignatureValid(a, fromB64(keys.recipient.ed25519_public)!));
  t.is(a.ack.bundle_id, bundleId);
});

test('the test vector exercises both scopes, and each base is the digest of the row as the change before it left it', async (t) => {
  const { records } = await readVector(FIXTURE);
  const tables = records.filter((r): r is TableRecord => r.kind === 'table');
  t.deepEqual(tables.map((r) => r.scope).sort(), ['facility', 'shared']);
  const changes = records.filter((r): r is ChangeRecord => r.kind === 'change');
  const shared = new Set(tables.filter((r) => r.scope === 'shared').map((r) => r.table));
  t.deepEqual(changes.filter((c) => shared.has(c.table)).map((c) => c.op), ['insert', 'update', 'delete']);
  t.true(changes.some((c) => !shared.has(c.table) && c.op === 'update'), 'a facility-owned update, which carries no base');
  // Replay the shared table: the row each change leaves, by key.
  const held = new Map<string, ChangeRecord['row']>();
  for (const c of changes) {
    const t0 = tables.find((x) => x.table === c.table)!;
    const key = JSON.stringify(changeKey(c, keyIndexes(t0)));
    if (t0.scope === 'facility' || c.op === 'insert') t.is(c.base, undefined, `change ${c.seq}`);
    else t.is(c.base, rowDigest(held.get(key)!), `change ${c.seq}`);
    held.set(key, c.row);
  }
});

test('keys.json carries both public keys of each node, so the fingerprint rule can be applied', (t) => {
  for (const dir of [FIXTURE, V1]) {
    const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'));
    for (const node of [keys.sender, keys.recipient, keys.rotation.new]) {
      t.is(fingerprintOf(fromB64(node.ed25519_public, 32)!, fromB64(node.x25519_public, 32)!), node.fingerprint);
    }
  }
});

test('the rotation notice of the vector verifies against the sender key and announces the new keys in keys.json', async (t) => {
  for (const dir of [FIXTURE, V1]) {
    const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'));
    const r = await openRotation(join(dir, keys.rotation.file));
    const next = verifyRotation(r, fromB64(keys.sender.ed25519_public)!);
    t.is(r.notice.id, keys.sender.id);
    t.is(r.notice.old.fingerprint, keys.sender.fingerprint);
    t.is(next.fingerprint, keys.rotation.new.fingerprint);
    t.is(Buffer.from(next.signingKey).toString('base64'), keys.rotation.new.ed25519_public);
    t.is(Buffer.from(next.encryptionKey).toString('base64'), keys.rotation.new.x25519_public);
  }
});

// The version 1 vector as ferry wrote it before table scopes. Nothing regenerates it: these
// digests make sure nobody does by accident (a reader must read what is already on drives).
const V1_FILES: Record<string, string> = {
  'ack.ferry-ack': '90dc63b958a93b3e6ae264a8f10caafa54b0bc16622eff6611c9a8fdb563fa10',
  'bundle.ferry-bundle': '1c4cba174c516a1bdcf50378c86102c903deab1a064964b779e65a5d71622089',
  'changes.jsonl': 'e0ee311bfa21cd6994ce33c6d7f3a2156ef70e1a6292d6c569844477f105a563',
  'keys.json': 'd9d835579148b6bf207a2bd193ad5a2cb5f40769ff1116608a2d4a63e887236b',
  'rotation.ferry-rotation': '594ed7e5a8a9e7fcffbab76dc0efdd937c98832d5c3f8a2c6fb0328c986d946b',
};

test('the frozen version 1 vector is unchanged', (t) => {
  t.deepEqual(vectorFiles(V1), Object.keys(V1_FILES).sort());
  for (const [f, digest] of Object.entries(V1_FILES)) t.is(createHash('sha256').update(readFileSync(join(V1, f))).digest('hex'), digest, f);
});

test('a version 1 bundle is still read, by both readers: its tables are facility-owned and its changes carry no base', async (t) => {
  // changes.jsonl holds version 1's spelling: table records without scope.
  const plaintext = readFileSync(join(V1, 'changes.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as PayloadRecord);
  t.true(plaintext.some((r) => r.kind === 'table') && plaintext.every((r) => r.kind !== 'table' || !('scope' in r)));
  const asRead = plaintext.map((r) => (r.kind === 'table' ? { ...r, scope: 'facility' } : r));
  for (const reader of [readPayloadRecords, readPayloadInWorker]) {
    const { version, records } = await readVector(V1, reader);
    t.is(version, 1);
    t.deepEqual(records, asRead);
  }
  const keys = JSON.parse(readFileSync(join(V1, 'keys.json'), 'utf8'));
  const a = await openAck(join(V1, 'ack.ferry-ack'));
  t.true(ackSignatureValid(a, fromB64(keys.recipient.ed25519_public)!));
});
