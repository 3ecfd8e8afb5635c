/**
 * `npm run fuzz -- [--cases N] [--seed S] [--save DIR]`: mutates a golden bundle, ack and key
 * rotation notice
 * (bit flips, truncation, zip-level edits, manifest fields changed and re-signed by an
 * untrusted key) and reads each through the full reader, as a hub or a facility would. Every
 * case must be refused with a typed FerryError, in bounded time; an accepted case, an untyped
 * exception or a hang is a finding (saved to --save DIR as a new test vector) and exits 1.
 */
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { inMegabytes } from '../../core/format-numbers.js';
import { ackSignatureValid, encodeAck, openAck, type Ack } from '../../format/ack.js';
import { BundleWriter } from '../../format/bundle-writer.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../../format/bundle-reader.js';
import { canonicalJson, utf8 } from '../../format/encoding.js';
import { signManifest } from '../../format/manifest.js';
import type { PayloadRecord } from '../../format/records.js';
import { fingerprintOf } from '../../format/identity.js';
import { encodeRotation, makeRotationNotice, openRotation, rotationKeys, verifyRotation } from '../../format/rotation.js';
import { isFacility } from '../../node/role.js';
import { numberArg, seededRandom } from '../harness/args.js';
import { buildZip, readZipEntries, type RawEntry } from './raw-zip.js';

const args = process.argv.slice(2);
const CASES = numberArg(args, '--cases', 10000);
const SEED = numberArg(args, '--seed', 1);
const SAVE = args.includes('--save') ? args[args.indexOf('--save') + 1]! : undefined;
const CASE_TIMEOUT_MS = 5000;

const rand = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (n: number) => Math.floor(rand() * n);

function keys(seed: number) {
  const r = new Uint8Array(64).map((_, i) => (seed * 31 + i * 7) & 0xff);
  const sign = nacl.sign.keyPair.fromSeed(r.subarray(0, 32));
  const box = nacl.box.keyPair.fromSecretKey(r.subarray(32));
  return { sign, box, fingerprint: fingerprintOf(sign.publicKey, box.publicKey) };
}
const SENDER = keys(1);
const HUB = keys(2);
const STRANGER = keys(3);
const SENDER_NEXT = keys(4);

async function goldenBundle(path: string): Promise<void> {
  const w = new BundleWriter({
    sender: { id: 'RW-001', fingerprint: SENDER.fingerprint, signingSecretKey: SENDER.sign.secretKey },
    recipient: { id: 'HUB-1', fingerprint: HUB.fingerprint, encryptionKey: HUB.box.publicKey },
    out: createWriteStream(path),
    bundleId: new Uint8Array(16).fill(7),
    ephemeralSecret: new Uint8Array(32).fill(9),
    created: new Date('2026-01-01T00:00:00.000Z'),
  });
  const records: PayloadRecord[] = [{ kind: 'table', table: 'p', columns: [{ name: 'id', type: 'TEXT' }, { name: 'v', type: '' }], key: ['id'], scope: 'facility' }];
  for (let i = 1; i <= 300; i++) {
    // Incompressible text so that the payload spans several chunks.
    const v = createHash('sha256').update(String(i)).digest('base64').repeat(8);
    records.push({ kind: 'change', origin: 'RW-001', seq: i, clock: [1767225600000 + i, 0], table: 'p', op: i % 50 === 0 ? 'delete' : 'insert', ...(i % 50 === 0 ? { key: [`r${i}`], row: null } : { row: [`r${i}`, i % 3 ? v : { real: i / 7 }] }) });
  }
  for (const r of records) await w.write(r);
  await w.finish();
}

async function goldenAck(): Promise<Buffer> {
  const ack: Ack = {
    format: 'ferry-ack', version: 1, ack_id: '0'.repeat(32), hub: 'HUB-1', hub_fingerprint: HUB.fingerprint, facility: 'RW-001',
    bundle_id: '07'.repeat(16), seq: { first: 1, last: 300 }, applied_ranges: [[1, 300]], outcome: 'applied',
    counts: { applied: 300, already_present: 0, conflicts: 0, rejected: 0 }, created: '2026-01-02T00:00:00.000Z',
  };
  return encodeAck(ack, HUB.sign.secretKey);
}

async function goldenRotation(): Promise<Buffer> {
  const notice = makeRotationNotice({ id: 'RW-001', role: 'facility', old: rotationKeys({ signingKey: SENDER.sign.publicKey, encryptionKey: SENDER.box.publicKey, fingerprint: SENDER.fingerprint }), new: rotationKeys({ signingKey: SENDER_NEXT.sign.publicKey, encryptionKey: SENDER_NEXT.box.publicKey, fingerprint: SENDER_NEXT.fingerprint }), created: new Date('2026-01-03T00:00:00.000Z') });
  return encodeRotation(notice, SENDER.sign.secretKey, SENDER_NEXT.sign.secretKey);
}

type Mutation = (bytes: Buffer, entries: RawEntry[]) => { bytes: Buffer; name: string };

function flipBits(bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  for (let i = 0, n = 1 + int(8); i < n; i++) {
    const at = int(b.length);
    b[at] = b[at]! ^ (1 << int(8));
  }
  return b;
}

const hostileNames = ['../x', '/etc/passwd', 'manifest.json/', 'MANIFEST.JSON', 'payload.bin\u0000', 'a'.repeat(300), '..\\payload.bin', './manifest.sig'];

function resignWith(entries: RawEntry[], signer: typeof SENDER, edit: (m: Record<string, unknown>) => void, bodyName: string, sigName: string, prefixSigner: (bytes: Uint8Array, key: Uint8Array) => Uint8Array): RawEntry[] {
  const body = entries.find((e) => e.name === bodyName)!;
  const m = JSON.parse(body.data.toString('utf8')) as Record<string, unknown>;
  try {
    edit(m);
  } catch {
    m.version = 99; // an edit meant for the other document kind
  }
  let bytes: Buffer;
  try {
    bytes = Buffer.from(utf8(canonicalJson(m)));
  } catch {
    bytes = Buffer.from(JSON.stringify(m));
  }
  const sig = Buffer.from(prefixSigner(new Uint8Array(bytes), signer.sign.secretKey));
  return entries.map((e) => (e.name === bodyName ? { ...e, data: bytes } : e.name === sigName ? { ...e, data: sig } : e));
}

const fieldEdits: Array<(m: Record<string, unknown>) => void> = [
  (m) => (m.recipient = 'HUB-2'),
  (m) => (m.sender = 'RW-666'),
  (m) => (m.version = int(5)),
  (m) => (m.changes = int(1000)),
  (m) => ((m.seq as { first: number }).first = int(10)),
  (m) => ((m.payload as { sha256: string }).sha256 = '0'.repeat(64)),
  (m) => ((m.payload as { ciphertext_bytes: number }).ciphertext_bytes = int(1e6)),
  (m) => (m.created = 'yesterday'),
  (m) => (m.extra = { nested: [1, 2, 3] }),
  (m) => delete m.bundle_id,
  (m) => ((m.counts as Record<string, number> | undefined) ? ((m.counts as Record<string, number>).applied = 1e9) : (m.changes = -1)),
  (m) => ((m.applied_ranges as unknown) !== undefined ? (m.applied_ranges = [[1, 1e9]]) : (m.tables = { p: 1e9 })),
  (m) => (m.new !== undefined ? ((m.new as { fingerprint: string }).fingerprint = STRANGER.fingerprint) : (m.created = '2026-01-01T00:00:00Z')),
  (m) => (m.old !== undefined ? (m.id = 'RW-002') : (m.format = 'ferry-rotation')),
];

type Kind = 'bundle' | 'ack' | 'rotation';
const BODY: Record<Kind, { body: string; sig: string; prefix: string }> = {
  bundle: { body: 'manifest.json', sig: 'manifest.sig', prefix: 'ferry/v1/bundle-manifest\n' },
  ack: { body: 'ack.json', sig: 'ack.sig', prefix: 'ferry/v1/ack\n' },
  rotation: { body: 'rotation.json', sig: 'old-key.sig', prefix: 'ferry/v1/key-rotation\n' },
};

function mutations(kind: Kind): Mutation[] {
  const { body: bodyName, sig: sigName, prefix } = BODY[kind];
  const sign = (bytes: Uint8Array, key: Uint8Array) => (kind === 'bundle' ? signManifest(bytes, key) : nacl.sign.detached(new Uint8Array([...utf8(prefix), ...bytes]), key));
  return [
    (b) => ({ bytes: flipBits(b), name: 'bit flips' }),
    (b) => ({ bytes: b.subarray(0, int(b.length)), name: 'truncated' }),
    (b) => ({ bytes: Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(100) }, () => int(256)))]), name: 'trailing bytes' }),
    (_b, e) => {
      const victim = int(e.length);
      return { bytes: buildZip(e.map((x, i) => (i === victim ? { ...x, name: pick(hostileNames) } : x))), name: 'entry renamed hostile' };
    },
    (_b, e) => ({ bytes: buildZip([...e, { name: pick(hostileNames), data: Buffer.alloc(int(100000)) }]), name: 'extra entry' }),
    (_b, e) => ({ bytes: buildZip([...e, e[int(e.length)]!]), name: 'duplicate entry' }),
    (_b, e) => {
      const victim = int(e.length);
      return { bytes: buildZip(e.filter((_, i) => i !== victim)), name: 'missing entry' };
    },
    (_b, e) => ({ bytes: buildZip(e.map((x) => ({ ...x, uncompressedSize: pick([0, 1, x.data.length + 1, 2 ** 31, 2 ** 32 - 1]) }))), name: 'declared sizes' }),
    (_b, e) => ({ bytes: buildZip(e.map((x) => ({ ...x, method: pick([8, 12, 99]) }))), name: 'compression method' }),
    (_b, e) => ({ bytes: buildZip(e.map((x) => ({ ...x, externalAttributes: (0o120777 << 16) >>> 0 }))), name: 'symlink entries' }),
    (_b, e) => ({ bytes: buildZip([...e.slice().reverse()]), name: 'entries reordered (must still read)' }),
    (_b, e) => ({ bytes: buildZip(resignWith(e, STRANGER, pick(fieldEdits), bodyName, sigName, sign)), name: 'field changed, re-signed by an untrusted key' }),
    (_b, e) => ({ bytes: buildZip(e.map((x) => (x.name === bodyName ? { ...x, data: flipBits(x.data) } : x))), name: `${bodyName} bits flipped` }),
    (_b, e) => ({ bytes: buildZip(e.map((x) => (x.name === (kind === 'bundle' ? 'payload.bin' : sigName) ? { ...x, data: flipBits(x.data) } : x))), name: kind === 'bundle' ? 'payload bits flipped' : 'signature bits flipped' }),
  ];
}

async function sameContent(path: string, golden: RawEntry[]): Promise<boolean> {
  try {
    const got = await readZipEntries(path);
    if (got.length !== golden.length) return false;
    return golden.every((g) => got.some((e) => e.name === g.name && e.data.equals(g.data)));
  } catch {
    return false;
  }
}

type Outcome = { result: 'refused'; code: string } | { result: 'accepted' } | { result: 'untyped'; error: string } | { result: 'hang' };

async function readBundleFully(path: string): Promise<void> {
  const b = await openBundle(path);
  verifyBundle(b, { signingKey: SENDER.sign.publicKey, fingerprint: SENDER.fingerprint }, { id: 'HUB-1' });
  await checkPayloadHash(b);
  for await (const _ of readPayloadRecords(b, { encryptionSecretKey: HUB.box.secretKey, encryptionKey: HUB.box.publicKey })) void _;
}

async function readAckFully(path: string): Promise<void> {
  const a = await openAck(path);
  if (!ackSignatureValid(a, HUB.sign.publicKey)) throw new FerryError('signature-invalid', 'refused', 'ack signature invalid');
  if (a.ack.facility !== 'RW-001') throw new FerryError('ack-invalid', 'refused', 'not for us');
}

async function readRotationFully(path: string): Promise<void> {
  const r = await openRotation(path);
  verifyRotation(r, SENDER.sign.publicKey);
  if (r.notice.id !== 'RW-001' || !isFacility(r.notice)) throw new FerryError('rotation-invalid', 'refused', 'not the peer it claims');
}

async function run(read: () => Promise<void>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve({ result: 'hang' }), CASE_TIMEOUT_MS)));
  const attempt = read().then(
    (): Outcome => ({ result: 'accepted' }),
    (err): Outcome => (err instanceof FerryError ? { result: 'refused', code: err.code } : { result: 'untyped', error: String((err as Error)?.stack ?? err).slice(0, 300) }),
  );
  const out = await Promise.race([attempt, hang]);
  clearTimeout(timer);
  return out;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-fuzz-'));
  try {
    const bundlePath = join(dir, 'golden.ferry-bundle');
    await goldenBundle(bundlePath);
    const ackPath = join(dir, 'golden.ferry-ack');
    writeFileSync(ackPath, await goldenAck());
    const rotationPath = join(dir, 'golden.ferry-rotation');
    writeFileSync(rotationPath, await goldenRotation());
    const golden = {
      bundle: { bytes: readFileSync(bundlePath), entries: (await readZipEntries(bundlePath)) as RawEntry[], read: readBundleFully, ext: '.ferry-bundle' },
      ack: { bytes: readFileSync(ackPath), entries: (await readZipEntries(ackPath)) as RawEntry[], read: readAckFully, ext: '.ferry-ack' },
      rotation: { bytes: readFileSync(rotationPath), entries: (await readZipEntries(rotationPath)) as RawEntry[], read: readRotationFully, ext: '.ferry-rotation' },
    };
    // The goldens themselves must read: otherwise every refusal below proves nothing.
    for (const g of Object.values(golden)) {
      const ok = await run(() => g.read(join(dir, `golden${g.ext}`)));
      if (ok.result !== 'accepted') throw new Error(`the golden file does not read: ${JSON.stringify(ok)}`);
    }
    const counts = { tried: 0, refused: 0, accepted: 0, untyped: 0, hang: 0, benign: 0 };
    const codes = new Map<string, number>();
    const byKind: Record<Kind, number> = { bundle: 0, ack: 0, rotation: 0 };
    const findings: string[] = [];
    const started = Date.now();
    let peakRss = 0;
    for (let i = 0; i < CASES; i++) {
      // 5 bundles, 2 acks and 1 rotation notice in every 8 cases.
      const kind: Kind = i % 8 === 3 || i % 8 === 7 ? 'ack' : i % 8 === 5 ? 'rotation' : 'bundle';
      const g = golden[kind];
      const m = pick(mutations(kind))(g.bytes, g.entries);
      const path = join(dir, `case${g.ext}`);
      writeFileSync(path, m.bytes);
      const out = await run(() => g.read(path));
      counts.tried++;
      byKind[kind]++;
      if (out.result === 'refused') {
        counts.refused++;
        codes.set(out.code, (codes.get(out.code) ?? 0) + 1);
      } else if (out.result === 'accepted' && (await sameContent(path, g.entries))) {
        // Accepted with exactly the golden entries (names and bytes, read independently): the
        // mutation touched only zip metadata without meaning to ferry (entry times, attributes,
        // order), and what would be applied is the signed original.
        counts.benign++;
      } else {
        counts[out.result]++;
        findings.push(`case ${i} (${kind}, ${m.name}): ${JSON.stringify(out)}`);
        if (SAVE) {
          mkdirSync(SAVE, { recursive: true });
          writeFileSync(join(SAVE, `fuzz-found-seed${SEED}-case${i}${g.ext}`), m.bytes);
        }
      }
      if (i % 500 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const seconds = (Date.now() - started) / 1000;
    const report = { seed: SEED, ...counts, by_kind: byKind, seconds, cases_per_s: Math.round(counts.tried / seconds), peak_rss_mb: inMegabytes(peakRss), codes: Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])), findings: findings.slice(0, 20) };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return findings.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
