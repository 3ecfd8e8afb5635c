import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ackSignatureValid, openAck } from '../src/format/ack.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import { fromB64 } from '../src/format/encoding.js';
import { openRotation, verifyRotation } from '../src/format/rotation.js';
import { fingerprintOf } from '../src/format/identity.js';
import { ROOT, tempDir } from './helpers/env.js';
import { makeVector, VECTOR_ZLIB, vectorFiles } from './helpers/vector.js';

const FIXTURE = join(ROOT, 'fixtures', 'vectors', 'v1');

test('the format v1 test vector regenerates byte for byte, negative vectors included', async (t) => {
  const dir = tempDir(t);
  await makeVector(dir);
  const files = vectorFiles(FIXTURE);
  t.deepEqual(vectorFiles(dir), files, 'the generator writes exactly the committed files');
  t.true(files.filter((f) => f.startsWith('negative/')).length >= 30);
  const zlib = process.versions.zlib === VECTOR_ZLIB ? '' : ` (this Node's zlib is ${process.versions.zlib}; the vector was written with ${VECTOR_ZLIB})`;
  for (const f of files) t.true(readFileSync(join(dir, f)).equals(readFileSync(join(FIXTURE, f))), `${f} differs from fixtures/vectors/v1/${f}${zlib}`);
});

test('the test vector decrypts to its plaintext with the keys in keys.json alone', async (t) => {
  const keys = JSON.parse(readFileSync(join(FIXTURE, 'keys.json'), 'utf8'));
  const b = await openBundle(join(FIXTURE, 'bundle.ferry-bundle'));
  verifyBundle(b, { signingKey: fromB64(keys.sender.ed25519_public)!, fingerprint: keys.sender.fingerprint }, { id: keys.recipient.id });
  await checkPayloadHash(b);
  const lines: string[] = [];
  for await (const r of readPayloadRecords(b, { encryptionSecretKey: fromB64(keys.recipient.x25519_secret)!, encryptionKey: fromB64(keys.recipient.x25519_public)! })) lines.push(`${JSON.stringify(r)}\n`);
  t.is(lines.join(''), readFileSync(join(FIXTURE, 'changes.jsonl'), 'utf8'));
  const a = await openAck(join(FIXTURE, 'ack.ferry-ack'));
  t.true(ackSignatureValid(a, fromB64(keys.recipient.ed25519_public)!));
  t.is(a.ack.bundle_id, b.manifest.bundle_id);
});

test('keys.json carries both public keys of each node, so the fingerprint rule can be applied', (t) => {
  const keys = JSON.parse(readFileSync(join(FIXTURE, 'keys.json'), 'utf8'));
  for (const node of [keys.sender, keys.recipient, keys.rotation.new]) {
    t.is(fingerprintOf(fromB64(node.ed25519_public, 32)!, fromB64(node.x25519_public, 32)!), node.fingerprint);
  }
});

test('the rotation notice of the vector verifies against the sender key and announces the new keys in keys.json', async (t) => {
  const keys = JSON.parse(readFileSync(join(FIXTURE, 'keys.json'), 'utf8'));
  const r = await openRotation(join(FIXTURE, keys.rotation.file));
  const next = verifyRotation(r, fromB64(keys.sender.ed25519_public)!);
  t.is(r.notice.id, keys.sender.id);
  t.is(r.notice.old.fingerprint, keys.sender.fingerprint);
  t.is(next.fingerprint, keys.rotation.new.fingerprint);
  t.is(Buffer.from(next.signingKey).toString('base64'), keys.rotation.new.ed25519_public);
  t.is(Buffer.from(next.encryptionKey).toString('base64'), keys.rotation.new.x25519_public);
});
