/**
 * The negative test vectors (fixtures/vectors/v2/negative, docs/FORMAT.md "Test vector"): each
 * file, read through ferry's readers with the vector's keys, is refused with the code its index
 * names. An independent reader can run the same files (scripts/read-vector.py does).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, FerryError } from '../src/core/errors.js';
import { ackSignatureValid, openAck } from '../src/format/ack.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import { fromB64 } from '../src/format/encoding.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import { openRotation, verifyRotation } from '../src/format/rotation.js';
import { sameName } from '../src/format/names.js';
import { ROOT } from './helpers/env.js';
import { VECTOR_DIR } from './helpers/vector.js';
import type { Expectation } from './helpers/negative-vectors.js';

const VECTOR = join(ROOT, 'fixtures', 'vectors', VECTOR_DIR);
const DIR = join(VECTOR, 'negative');
const keys = JSON.parse(readFileSync(join(VECTOR, 'keys.json'), 'utf8'));
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expectation>;
const key = (b64: string) => fromB64(b64, 32)!;

/** The hub's reading steps, in FORMAT.md's order (step 5's ledger and key checks need a hub's state, and no vector targets them). */
async function readBundle(path: string, reader: typeof readPayloadRecords): Promise<void> {
  const b = await openBundle(path);
  // Everything the vector knows about the sender; a reader that checks sender_fingerprint needs the encryption key too.
  const signer = { signingKey: key(keys.sender.ed25519_public), encryptionKey: key(keys.sender.x25519_public), fingerprint: keys.sender.fingerprint as string };
  verifyBundle(b, signer, { id: keys.recipient.id });
  await checkPayloadHash(b);
  for await (const _ of reader(b, { encryptionSecretKey: key(keys.recipient.x25519_secret), encryptionKey: key(keys.recipient.x25519_public) }));
}

/** A facility's reading steps for an ack (FORMAT.md "Reading an acknowledgement"), as import-facility runs them. */
async function readAck(path: string): Promise<string | undefined> {
  const a = await openAck(path);
  if (!sameName(a.ack.facility, keys.sender.id)) return 'not ours';
  if (!sameName(a.ack.hub, keys.recipient.id)) return ErrorCodes.SIGNER_UNKNOWN;
  if (!ackSignatureValid(a, key(keys.recipient.ed25519_public))) return ErrorCodes.SIGNATURE_INVALID;
  return undefined;
}

async function refusal(name: string, reader = readPayloadRecords): Promise<string> {
  const path = join(DIR, name);
  try {
    if (name.endsWith('.ferry-bundle')) await readBundle(path, reader);
    else if (name.endsWith('.ferry-ack')) return (await readAck(path)) ?? 'accepted';
    else verifyRotation(await openRotation(path), key(keys.sender.ed25519_public));
    return 'accepted';
  } catch (err) {
    if (!(err instanceof FerryError)) return `untyped: ${(err as Error).stack}`;
    if (!err.message) return 'typed, without a message';
    return err.code;
  }
}

test('every negative vector is listed in expected.json, says it is broken, and names a known code', (t) => {
  const files = readdirSync(DIR).filter((f) => f !== 'expected.json').sort();
  t.deepEqual(files, Object.keys(expected).sort());
  const codes = new Set<string>(Object.values(ErrorCodes));
  for (const [name, e] of Object.entries(expected)) {
    t.regex(name, /^broken-[a-z0-9-]+\.ferry-(bundle|ack|rotation)$/);
    t.true(codes.has(e.code), `${name}: ${e.code}`);
    t.true(Number.isInteger(e.step) && e.step >= 1 && e.step <= 7, name);
    t.truthy(e.breaks);
  }
});

for (const [name, e] of Object.entries(expected)) {
  test(`negative vector ${name} is refused with ${e.code} (step ${e.step}: ${e.breaks})`, async (t) => {
    t.is(await refusal(name), e.code);
    // The hub reads payloads in a worker thread: it must refuse with the same code.
    if (name.endsWith('.ferry-bundle') && e.step === 7) t.is(await refusal(name, readPayloadInWorker), e.code, 'worker-thread reader');
  });
}
