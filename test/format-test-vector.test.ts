import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ackSignatureValid, openAck } from '../src/format/ack.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import { fromB64 } from '../src/format/encoding.js';
import { ROOT, tempDir } from './helpers/env.js';
import { makeVector, VECTOR_FILES } from './helpers/vector.js';

const FIXTURE = join(ROOT, 'fixtures', 'vectors', 'v1');

test('the format v1 test vector regenerates byte for byte', async (t) => {
  const dir = tempDir(t);
  await makeVector(dir);
  for (const f of VECTOR_FILES) {
    t.true(readFileSync(join(dir, f)).equals(readFileSync(join(FIXTURE, f))), `${f} differs from fixtures/vectors/v1/${f}`);
  }
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
