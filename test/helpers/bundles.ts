/** Building bundles directly with the format library, with fixed keys. */
import nacl from 'tweetnacl';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BundleWriter, type FinishedBundle } from '../../src/format/bundle-writer.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle, type SignerStatus } from '../../src/format/bundle-reader.js';
import { canonicalJson, toB64, toHex, utf8 } from '../../src/format/encoding.js';
import { manifestBytes, signManifest, type Manifest } from '../../src/format/manifest.js';
import { keyIndexes, type ChangeRecord, type PayloadRecord, type TableRecord, type TableScope } from '../../src/format/records.js';
import { rowDigest } from '../../src/format/row-digest.js';
import type { EncodedValue } from '../../src/format/values.js';
import { ChunkSealer, derivePayloadKey } from '../../src/format/stream-crypto.js';
import { deflateSync } from 'node:zlib';
import { fingerprintOf } from '../../src/format/identity.js';
import { seededRandom } from './env.js';
import { buildZip, readZipEntries } from '../../src/tools/fuzz/raw-zip.js';
import { createHash } from 'node:crypto';

export interface TestKeys {
  id: string;
  sign: nacl.SignKeyPair;
  box: nacl.BoxKeyPair;
  fingerprint: string;
}

export function testKeys(id: string, seed: number): TestKeys {
  const r = seededRandom(seed);
  const sign = nacl.sign.keyPair.fromSeed(r(32));
  const box = nacl.box.keyPair.fromSecretKey(r(32));
  return { id, sign, box, fingerprint: fingerprintOf(sign.publicKey, box.publicKey) };
}

export const SENDER = testKeys('RW-001', 1);
export const RECIPIENT = testKeys('HUB-1', 2);

export function tableRecord(scope: TableScope = 'facility'): PayloadRecord {
  return table('t', [['id', 'INTEGER'], ['v', 'TEXT']], ['id'], scope);
}

/** A table record: facility-owned (each facility's rows its own) unless `scope` says shared. */
export function table(name: string, columns: Array<[string, string]>, key: string[], scope: TableScope = 'facility'): TableRecord {
  return { kind: 'table', table: name, columns: columns.map(([n, type]) => ({ name: n, type })), key, scope };
}

/**
 * A change to a shared table, made at `origin` to the row as it stood there (`was`, one value per
 * column of `t`, in its order): its base is that row's digest, as a facility's export computes
 * it. An update carries `row`; a delete (row null) carries the key, taken from `was`.
 */
export function sharedChange(t: TableRecord, origin: string, seq: number, was: readonly EncodedValue[], row: EncodedValue[] | null, wall: number): ChangeRecord {
  if (was.length !== t.columns.length) throw new Error(`the row based on has ${was.length} values, table ${t.table} ${t.columns.length} columns`);
  const base = rowDigest(was);
  if (row) return { kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'update', row, base };
  return { kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'delete', key: keyIndexes(t).map((i) => was[i]!), row: null, base };
}

/** n change records whose text is random (incompressible) when `noise` is set. */
export function changeRecords(n: number, o: { noise?: number; origin?: string; seed?: number } = {}): PayloadRecord[] {
  const r = seededRandom(o.seed ?? 7);
  const out: PayloadRecord[] = [tableRecord()];
  for (let i = 1; i <= n; i++) {
    const v = o.noise ? Buffer.from(r(o.noise)).toString('base64') : `value ${i} — ünïcødé ✓`;
    out.push({ kind: 'change', origin: o.origin ?? SENDER.id, seq: i, clock: [1700000000000 + i, 0], table: 't', op: 'insert', row: [i, v] });
  }
  return out;
}

export async function writeBundle(path: string, records: PayloadRecord[], o: { sender?: TestKeys; recipient?: TestKeys; seed?: number; created?: Date } = {}): Promise<FinishedBundle> {
  const sender = o.sender ?? SENDER;
  const recipient = o.recipient ?? RECIPIENT;
  const r = seededRandom(o.seed ?? 99);
  const w = new BundleWriter({
    sender: { id: sender.id, fingerprint: sender.fingerprint, signingSecretKey: sender.sign.secretKey },
    recipient: { id: recipient.id, fingerprint: recipient.fingerprint, encryptionKey: recipient.box.publicKey },
    out: createWriteStream(path),
    bundleId: r(16),
    ephemeralSecret: r(32),
    created: o.created ?? new Date('2026-01-02T03:04:05.000Z'),
  });
  for (const rec of records) await w.write(rec);
  return w.finish();
}

/**
 * Rebuild a bundle with a changed manifest and/or payload, re-signed by `signer` (default the real
 * sender): the hash and sizes are made to match, so later checks are reached.
 */
export async function rebuild(
  src: string,
  dst: string,
  o: { manifest?: (m: Manifest) => unknown; payload?: (p: Buffer) => Buffer; signer?: TestKeys; rawManifest?: (bytes: Buffer) => Buffer } = {},
): Promise<void> {
  const entries = await readZipEntries(src);
  const get = (n: string) => entries.find((e) => e.name === n)!.data;
  let payload = get('payload.bin');
  const m = JSON.parse(get('manifest.json').toString('utf8')) as Manifest;
  if (o.payload) {
    payload = o.payload(payload);
    const n = Math.max(1, Math.ceil(payload.length / 65552));
    m.payload.ciphertext_bytes = payload.length;
    m.payload.plaintext_bytes = payload.length - 16 * n;
    m.payload.sha256 = createHash('sha256').update(payload).digest('hex');
  }
  const changed = o.manifest ? o.manifest(m) : m;
  let bytes: Buffer = Buffer.from(o.manifest || o.payload ? utf8(canonicalJson(changed)) : get('manifest.json'));
  if (o.rawManifest) bytes = o.rawManifest(bytes);
  const sig = Buffer.from(signManifest(new Uint8Array(bytes), (o.signer ?? SENDER).sign.secretKey));
  writeFileSync(dst, buildZip([{ name: 'payload.bin', data: payload }, { name: 'manifest.json', data: bytes }, { name: 'manifest.sig', data: sig }]));
}

/** What a reader that trusts SENDER, and is RECIPIENT, is given. */
export const SENDER_TRUSTED: SignerStatus = { signingKey: SENDER.sign.publicKey, fingerprint: SENDER.fingerprint };
export const RECIPIENT_KEYS = { encryptionSecretKey: RECIPIENT.box.secretKey, encryptionKey: RECIPIENT.box.publicKey };

/** Every record of a bundle from SENDER to RECIPIENT, through the reader's steps in their order. */
export async function readAllRecords(path: string, reader: typeof readPayloadRecords = readPayloadRecords): Promise<PayloadRecord[]> {
  const b = await openBundle(path);
  verifyBundle(b, SENDER_TRUSTED, { id: RECIPIENT.id });
  await checkPayloadHash(b);
  const out: PayloadRecord[] = [];
  for await (const r of reader(b, RECIPIENT_KEYS)) out.push(r);
  return out;
}

export { manifestBytes, join };

/**
 * A bundle made by hand from a raw change stream, so that a test can send what ferry's writer
 * never would (deeply nested JSON, duplicate members, oversized tables, bytes after the zlib
 * stream). The manifest's counts are taken from the lines that parse as change records, then
 * `manifest` may change anything; it is signed by `sender` (default the real sender), so every
 * check after the signature is reached.
 */
export function rawBundle(
  path: string,
  stream: Buffer | string,
  o: { compressed?: (z: Buffer) => Buffer; manifest?: (m: Manifest) => Manifest; sender?: TestKeys; recipient?: TestKeys; ephemeral?: { secret: Uint8Array; public: Uint8Array } } = {},
): Manifest {
  const sender = o.sender ?? SENDER;
  const recipient = o.recipient ?? RECIPIENT;
  const plain = Buffer.isBuffer(stream) ? stream : Buffer.from(stream, 'utf8');
  const r = seededRandom(1234);
  const eph = o.ephemeral ?? (() => {
    const k = nacl.box.keyPair.fromSecretKey(r(32));
    return { secret: k.secretKey, public: k.publicKey };
  })();
  let compressed: Buffer = deflateSync(plain);
  if (o.compressed) compressed = o.compressed(compressed);
  const sealer = new ChunkSealer(derivePayloadKey(eph.secret, recipient.box.publicKey, eph.public, recipient.box.publicKey));
  const payload = Buffer.concat([...sealer.push(compressed), sealer.finish()]);
  const tables: Record<string, number> = {};
  const seqs: number[] = [];
  for (const line of plain.toString('utf8').split('\n')) {
    let rec: { kind?: unknown; seq?: unknown; table?: unknown } | undefined;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (rec?.kind !== 'change' || typeof rec.seq !== 'number' || typeof rec.table !== 'string') continue;
    seqs.push(rec.seq);
    tables[rec.table] = (tables[rec.table] ?? 0) + 1;
  }
  const base: Manifest = {
    format: 'ferry-bundle',
    version: 1,
    bundle_id: toHex(r(16)),
    sender: sender.id,
    sender_fingerprint: sender.fingerprint,
    recipient: recipient.id,
    recipient_fingerprint: recipient.fingerprint,
    created: '2026-01-02T03:04:05.000Z',
    seq: { first: seqs.length ? Math.min(...seqs) : 1, last: seqs.length ? Math.max(...seqs) : 1 },
    changes: Math.max(1, seqs.length),
    tables,
    payload: {
      compression: 'zlib',
      chunk_size: 65536,
      plaintext_bytes: compressed.length,
      ciphertext_bytes: payload.length,
      stream_bytes: plain.length,
      sha256: createHash('sha256').update(payload).digest('hex'),
      ephemeral_key: toB64(eph.public),
    },
  };
  const m = o.manifest ? o.manifest(base) : base;
  const bytes = Buffer.from(utf8(canonicalJson(m)));
  const sig = Buffer.from(signManifest(new Uint8Array(bytes), sender.sign.secretKey));
  writeFileSync(path, buildZip([{ name: 'payload.bin', data: payload }, { name: 'manifest.json', data: bytes }, { name: 'manifest.sig', data: sig }]));
  return m;
}

/** One line of a change stream: a table record or change record as JSON, with its newline. */
export const jsonLine = (record: unknown): string => `${JSON.stringify(record)}\n`;
