/**
 * Broken bundles, each refused with its expected error code. Each vector is built from one good
 * bundle: flipped bytes, truncation, swapped chunks, hostile zip entries, and manifests re-signed
 * by the real sender key (so that checks after the signature and the hash are reached too).
 */
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, FerryError, type ErrorCode } from '../src/core/errors.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle, type SignerStatus } from '../src/format/bundle-reader.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import { changeRecords, rebuild, RECIPIENT, SENDER, testKeys, writeBundle } from './helpers/bundles.js';
import { tempDir } from './helpers/env.js';
import { buildZip, readZipEntries } from '../src/tools/fuzz/raw-zip.js';

const SEALED = 65552;
const trusted: SignerStatus = { signingKey: SENDER.sign.publicKey, fingerprint: SENDER.fingerprint };

/** Every reading step in order, as the hub runs them. */
async function readFully(path: string, signer: SignerStatus | undefined, self = RECIPIENT.id, reader = readPayloadRecords): Promise<number> {
  return (await readRecords(path, signer, self, reader)).length;
}

async function readRecords(path: string, signer: SignerStatus | undefined, self = RECIPIENT.id, reader = readPayloadRecords): Promise<unknown[]> {
  const b = await openBundle(path);
  verifyBundle(b, signer, { id: self });
  await checkPayloadHash(b);
  const out: unknown[] = [];
  for await (const r of reader(b, { encryptionSecretKey: RECIPIENT.box.secretKey, encryptionKey: RECIPIENT.box.publicKey })) out.push(r);
  return out;
}

let goodPath = '';
let goodDir = '';
test.before(async () => {
  goodDir = mkdtempSync(join(tmpdir(), 'ferry-vectors-'));
  const dir = goodDir;
  goodPath = join(dir, 'good.ferry-bundle');
  // Incompressible rows so that the payload spans several chunks (4 × 64 KiB and more).
  await writeBundle(goodPath, changeRecords(400, { noise: 700 }));
});

test.after.always(() => rmSync(goodDir, { recursive: true, force: true }));

test('the good bundle reads fully (the baseline for every vector)', async (t) => {
  t.is(await readFully(goodPath, trusted), 401);
  const b = await openBundle(goodPath);
  t.true(b.manifest.payload.ciphertext_bytes > 4 * SEALED);
});

type Vector = { name: string; make: (src: string, dst: string) => Promise<void> | void; code: ErrorCode; signer?: SignerStatus | 'none'; self?: string };

const flipAt = (find: (buf: Buffer) => number) => (src: string, dst: string) => {
  const buf = readFileSync(src);
  const at = find(buf);
  buf[at] = buf[at]! ^ 0x01;
  writeFileSync(dst, buf);
};
const entryOffset = (buf: Buffer, name: string) => buf.indexOf(Buffer.from(name)) + name.length;
/** Flip one byte of an entry's data and rebuild the zip, CRCs recomputed: an alteration, not damage. */
const alterEntry = (entry: string, at: (data: Buffer) => number) => async (src: string, dst: string) => {
  const entries = await readZipEntries(src);
  writeFileSync(dst, buildZip(entries.map((e) => {
    if (e.name !== entry) return e;
    const data = Buffer.from(e.data);
    const i = at(data);
    data[i] = data[i]! ^ 0x01;
    return { ...e, data };
  })));
};

const vectors: Vector[] = [
  // bytes altered in each zip entry
  { name: 'a byte flipped in the payload entry', make: flipAt((b) => entryOffset(b, 'payload.bin') + 5000), code: ErrorCodes.PAYLOAD_HASH_MISMATCH },
  // Deliberate alterations come with a correct CRC (the zip is rebuilt), so the signature and
  // manifest checks are what catches them; plain damage is caught by the CRC first.
  { name: 'a manifest value altered (CRC fixed)', make: alterEntry('manifest.json', (d) => d.indexOf(Buffer.from('"created":"2026')) + 14), code: ErrorCodes.SIGNATURE_INVALID },
  { name: 'the manifest structure altered (CRC fixed)', make: alterEntry('manifest.json', () => 0), code: ErrorCodes.MANIFEST_INVALID },
  { name: 'the signature altered (CRC fixed)', make: alterEntry('manifest.sig', () => 10), code: ErrorCodes.SIGNATURE_INVALID },
  { name: 'a byte of the manifest damaged (CRC no longer matches)', make: flipAt((b) => b.indexOf(Buffer.from('"created":"2026')) + 14), code: ErrorCodes.ZIP_INVALID },
  { name: 'a byte of the signature damaged (CRC no longer matches)', make: flipAt((b) => entryOffset(b, 'manifest.sig') + 10), code: ErrorCodes.ZIP_INVALID },
  // truncation of the file
  { name: 'the file cut in the middle of the payload', make: (s, d) => writeFileSync(d, readFileSync(s).subarray(0, 100_000)), code: ErrorCodes.ZIP_INVALID },
  { name: 'the file cut before its central directory', make: (s, d) => { const b = readFileSync(s); writeFileSync(d, b.subarray(0, b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) - 10)); }, code: ErrorCodes.ZIP_INVALID },
  // payload surgery, re-signed by the sender so that only the STREAM framing can catch it
  { name: 'payload truncated at a chunk boundary', make: (s, d) => rebuild(s, d, { payload: (p) => p.subarray(0, 2 * SEALED) }), code: ErrorCodes.PAYLOAD_UNAUTHENTICATED },
  { name: 'payload truncated between chunk boundaries', make: (s, d) => rebuild(s, d, { payload: (p) => p.subarray(0, 2 * SEALED + 1000) }), code: ErrorCodes.PAYLOAD_UNAUTHENTICATED },
  { name: 'payload chunks swapped', make: (s, d) => rebuild(s, d, { payload: (p) => Buffer.concat([p.subarray(SEALED, 2 * SEALED), p.subarray(0, SEALED), p.subarray(2 * SEALED)]) }), code: ErrorCodes.PAYLOAD_UNAUTHENTICATED },
  { name: 'trailing data after the last chunk', make: (s, d) => rebuild(s, d, { payload: (p) => Buffer.concat([p, Buffer.alloc(100, 7)]) }), code: ErrorCodes.PAYLOAD_UNAUTHENTICATED },
  { name: 'a whole extra chunk after the last', make: (s, d) => rebuild(s, d, { payload: (p) => Buffer.concat([p, p.subarray(0, SEALED)]) }), code: ErrorCodes.PAYLOAD_UNAUTHENTICATED },
  { name: 'a chunk spliced in from another bundle', make: async (s, d) => {
      const other = `${d}.other`;
      await writeBundle(other, changeRecords(400, { noise: 700, seed: 9 }), { seed: 5 });
      const o = (await readZipEntries(other)).find((e) => e.name === 'payload.bin')!.data;
      await rebuild(s, d, { payload: (p) => Buffer.concat([p.subarray(0, SEALED), o.subarray(SEALED, 2 * SEALED), p.subarray(2 * SEALED)]) });
    }, code: ErrorCodes.PAYLOAD_UNAUTHENTICATED },
  // who signed, for whom
  { name: 'addressed to another hub', make: (s, d) => copyFileSync(s, d), self: 'HUB-2', code: ErrorCodes.WRONG_RECIPIENT },
  { name: 'signed by an unknown node', make: (s, d) => copyFileSync(s, d), signer: 'none', code: ErrorCodes.SIGNER_UNKNOWN },
  { name: 'signed by a revoked node', make: (s, d) => copyFileSync(s, d), signer: { signingKey: SENDER.sign.publicKey, fingerprint: SENDER.fingerprint, revoked: { at: '2026-01-01T00:00:00Z', reason: 'laptop stolen' } }, code: ErrorCodes.SIGNER_REVOKED },
  { name: 'manifest re-signed by another key', make: (s, d) => rebuild(s, d, { manifest: (m) => m, signer: testKeys('X', 77) }), code: ErrorCodes.SIGNATURE_INVALID },
  { name: 'an unknown format version', make: (s, d) => rebuild(s, d, { manifest: (m) => ({ ...m, version: 4 }) }), code: ErrorCodes.VERSION_UNSUPPORTED },
  { name: 'a manifest field the schema does not know', make: (s, d) => rebuild(s, d, { manifest: (m) => ({ ...m, extra: 'x' }) }), code: ErrorCodes.MANIFEST_INVALID },
  { name: 'a manifest not in canonical form', make: (s, d) => rebuild(s, d, { manifest: (m) => m, rawManifest: (b) => Buffer.from(JSON.stringify(JSON.parse(b.toString()), null, 1)) }), code: ErrorCodes.MANIFEST_INVALID },
  { name: 'a manifest with a duplicated key', make: (s, d) => rebuild(s, d, { manifest: (m) => m, rawManifest: (b) => Buffer.from(b.toString().replace('{"bundle_id"', '{"changes":1,"bundle_id"')) }), code: ErrorCodes.MANIFEST_INVALID },
  { name: 'a manifest claiming fewer changes than the payload holds', make: (s, d) => rebuild(s, d, { manifest: (m) => ({ ...m, changes: m.changes - 1, tables: { t: m.changes - 1 } }) }), code: ErrorCodes.PAYLOAD_INVALID },
  { name: 'per-table counts that do not add up to changes', make: (s, d) => rebuild(s, d, { manifest: (m) => ({ ...m, changes: m.changes - 1 }) }), code: ErrorCodes.MANIFEST_INVALID },
  // hostile zip structure
  { name: 'an extra entry named ../x', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip([...e, { name: '../x', data: Buffer.from('x') }])); }, code: ErrorCodes.ZIP_ENTRY_UNEXPECTED },
  { name: 'the payload renamed ../payload.bin', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip(e.map((x) => (x.name === 'payload.bin' ? { ...x, name: '../payload.bin' } : x)))); }, code: ErrorCodes.ZIP_ENTRY_UNEXPECTED },
  { name: 'an absolute entry name', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip([...e, { name: '/etc/passwd', data: Buffer.from('x') }])); }, code: ErrorCodes.ZIP_ENTRY_UNEXPECTED },
  { name: 'a duplicated entry name', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip([...e, e.find((x) => x.name === 'manifest.json')!])); }, code: ErrorCodes.ZIP_ENTRY_DUPLICATE },
  { name: 'a missing signature entry', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip(e.filter((x) => x.name !== 'manifest.sig'))); }, code: ErrorCodes.ZIP_ENTRY_MISSING },
  { name: 'an oversized manifest (over 64 KiB)', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip(e.map((x) => (x.name === 'manifest.json' ? { ...x, data: Buffer.alloc(70_000, 32) } : x)))); }, code: ErrorCodes.ZIP_ENTRY_TOO_LARGE },
  { name: 'a manifest declaring a huge size (zip bomb)', make: async (s, d) => { const e = await readZipEntries(s); writeFileSync(d, buildZip(e.map((x) => (x.name === 'manifest.json' ? { ...x, method: 8, uncompressedSize: 2_000_000_000 } : x)))); }, code: ErrorCodes.ZIP_INVALID },
  { name: 'not a zip at all', make: (_s, d) => writeFileSync(d, 'hello, I am a text file'), code: ErrorCodes.ZIP_INVALID },
  { name: 'an empty file', make: (_s, d) => writeFileSync(d, ''), code: ErrorCodes.ZIP_INVALID },
];

for (const v of vectors) {
  test(`refused: ${v.name} -> ${v.code}`, async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'broken.ferry-bundle');
    await v.make(goodPath, path);
    const signer = v.signer === 'none' ? undefined : (v.signer ?? trusted);
    const err = await t.throwsAsync(readFully(path, signer, v.self ?? RECIPIENT.id));
    t.true(err instanceof FerryError, `expected a typed error, got ${err?.stack}`);
    t.is((err as FerryError).code, v.code, (err as Error).message);
    t.truthy((err as FerryError).message);
  });
}

test('the hub’s worker-thread reader gives the same records, and the same refusals, as the single-thread one', async (t) => {
  t.deepEqual(await readRecords(goodPath, trusted, RECIPIENT.id, readPayloadInWorker), await readRecords(goodPath, trusted));
  const payloadLevel = vectors.filter((v) => ([ErrorCodes.PAYLOAD_UNAUTHENTICATED, ErrorCodes.PAYLOAD_INVALID] as ErrorCode[]).includes(v.code));
  t.true(payloadLevel.length >= 7, `${payloadLevel.length} vectors reach the payload`);
  const dir = tempDir(t);
  for (const v of payloadLevel) {
    const path = join(dir, 'broken.ferry-bundle');
    await v.make(goodPath, path);
    const err = await t.throwsAsync(readFully(path, v.signer === 'none' ? undefined : (v.signer ?? trusted), v.self ?? RECIPIENT.id, readPayloadInWorker), undefined, v.name);
    t.true(err instanceof FerryError, `${v.name}: expected a typed error, got ${err?.stack}`);
    t.is((err as FerryError).code, v.code, `${v.name}: ${(err as Error).message}`);
  }
});

test('a schema error names the failing field', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'b.ferry-bundle');
  await rebuild(goodPath, path, { manifest: (m) => ({ ...m, seq: { first: 'one', last: 3 } }) });
  const err = await t.throwsAsync(openBundle(path));
  t.regex(err!.message, /seq\.first/);
});

test('hostile containers are refused early and cheaply: thousands of entries, a symlink entry, a non-UTF-8 name', async (t) => {
  const dir = tempDir(t);
  const good = await readZipEntries(goodPath);
  const many = join(dir, 'many.ferry-bundle');
  writeFileSync(many, buildZip([...good, ...Array.from({ length: 5000 }, (_, i) => ({ name: `junk/${i}`, data: Buffer.from('x') }))]));
  const started = process.hrtime.bigint();
  const err = await t.throwsAsync(openBundle(many));
  t.is((err as FerryError).code, ErrorCodes.ZIP_ENTRY_UNEXPECTED);
  t.regex(err!.message, /declares 5003 entries/);
  t.true(Number(process.hrtime.bigint() - started) / 1e6 < 500, 'refused from the end-of-directory record, not after parsing 5000 entries');
  const link = join(dir, 'link.ferry-bundle');
  writeFileSync(link, buildZip(good.map((e) => (e.name === 'manifest.sig' ? { ...e, externalAttributes: (0o120777 << 16) >>> 0 } : e))));
  t.is(((await t.throwsAsync(openBundle(link))) as FerryError).code, ErrorCodes.ZIP_INVALID);
  const latin = join(dir, 'latin.ferry-bundle');
  writeFileSync(latin, buildZip([...good.filter((e) => e.name !== 'manifest.sig'), { name: Buffer.from([0x6d, 0xe9, 0xff, 0x2e, 0x73, 0x69, 0x67]), data: good.find((e) => e.name === 'manifest.sig')!.data }]));
  const e3 = (await t.throwsAsync(openBundle(latin))) as FerryError;
  t.true([ErrorCodes.ZIP_ENTRY_UNEXPECTED, ErrorCodes.ZIP_ENTRY_MISSING].includes(e3.code as never), e3.code);
});

test('bytes appended after the zip (found by the fuzzer) are refused', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'appended.ferry-bundle');
  writeFileSync(path, Buffer.concat([readFileSync(goodPath), Buffer.from('appended')]));
  const err = (await t.throwsAsync(openBundle(path))) as FerryError;
  t.is(err.code, ErrorCodes.ZIP_INVALID);
  t.regex(err.message, /bytes follow the end of the zip/);
});
