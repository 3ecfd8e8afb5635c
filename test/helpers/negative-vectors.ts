/**
 * Negative test vectors (docs/FORMAT.md, "Test vector"): files broken on purpose, one rule each,
 * with the error code and reading step a reader must refuse them with. Written to
 * fixtures/vectors/v2/negative/ with an index, expected.json, in the style of age's testkit.
 * Bundles are at the version ferry writes (2) unless a vector is about version 1's rules.
 *
 * Every bundle is signed by the vector's real sender key and sealed for its real recipient, and
 * every ack and notice by its real signer, so that only the rule a vector names can fail: a
 * vector that a careless reader accepts proves that reader lacks that one rule.
 */
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { ACK_SIGNING_PREFIX, BUNDLE_FORMAT_VERSION, CHUNK_SIZE, ROTATION_SIGNING_PREFIX } from '../../src/format/constants.js';
import { canonicalJson, toB64, toHex } from '../../src/format/encoding.js';
import { signManifest, signedMessage, type Manifest } from '../../src/format/manifest.js';
import type { Ack } from '../../src/format/ack.js';
import type { RotationNotice } from '../../src/format/rotation.js';
import { ChunkSealer, derivePayloadKey } from '../../src/format/stream-crypto.js';
import { ErrorCodes, type ErrorCode } from '../../src/core/errors.js';
import { rowDigest } from '../../src/format/row-digest.js';
import { buildZip, type RawEntry } from '../../src/tools/fuzz/raw-zip.js';
import { RECIPIENT, SENDER, testKeys, type TestKeys } from './bundles.js';
import { seededRandom } from './env.js';

export const SEALED = CHUNK_SIZE + 16;

/** What expected.json says about one file. `step` numbers the steps of the procedure for the file's kind in FORMAT.md. */
export interface Expectation {
  code: ErrorCode;
  step: number;
  breaks: string;
}

export interface NegativeVector extends Expectation {
  /** file name; says what is broken, and its extension says which reading procedure applies */
  name: string;
  bytes: () => Buffer | Promise<Buffer>;
}

/** The good material the negative vectors are cut from: made by makeVector first. */
export interface GoodVector {
  records: string[];
  ack: Ack;
  rotation: RotationNotice;
  rotatedTo: TestKeys;
}

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Per-vector randomness derived from its name (at most 32 bytes), so that adding a vector changes no other file. */
const derived = (label: string, name: string, n: number) => new Uint8Array(createHash('sha256').update(`${label}\n${name}`).digest().subarray(0, n));

interface Craft {
  /** stream lines, each without its newline */
  lines: string[];
  /** bytes appended to the zlib stream before sealing */
  zlibTail?: Buffer;
  /** the sealed payload changed before the manifest is computed (sizes and hash then match it) */
  sealed?: (p: Buffer) => Buffer;
  manifest?: (m: Manifest) => unknown;
  /** the canonical manifest text changed before signing */
  manifestText?: (s: string) => string;
  signature?: (sig: Buffer) => Buffer;
  /** the zip's entries changed after signing (names, data, extra entries) */
  entries?: (e: RawEntry[]) => RawEntry[];
  /** the whole file changed last */
  file?: (zip: Buffer) => Buffer;
}

/** A bundle from the vector's sender to its recipient, built by hand so that any rule can be broken alone. */
function craftBundle(name: string, c: Craft): Buffer {
  const stream = Buffer.from(c.lines.map((l) => `${l}\n`).join(''), 'utf8');
  const z = Buffer.concat([deflateSync(stream, { level: 6 }), c.zlibTail ?? Buffer.alloc(0)]);
  const eph = nacl.box.keyPair.fromSecretKey(derived('ephemeral', name, 32));
  const sealer = new ChunkSealer(derivePayloadKey(eph.secretKey, RECIPIENT.box.publicKey, eph.publicKey, RECIPIENT.box.publicKey));
  let payload: Buffer = Buffer.concat([...sealer.push(z), sealer.finish()]);
  if (c.sealed) payload = c.sealed(payload);
  const changes = c.lines.map((l) => JSON.parse(l) as { kind: string; seq: number; table: string }).filter((r) => r.kind === 'change');
  const tables: Record<string, number> = {};
  for (const ch of changes) tables[ch.table] = (tables[ch.table] ?? 0) + 1;
  const n = Math.max(1, Math.ceil(payload.length / SEALED));
  const m: Manifest = {
    format: 'ferry-bundle',
    version: BUNDLE_FORMAT_VERSION,
    bundle_id: toHex(derived('bundle id', name, 16)),
    sender: SENDER.id,
    sender_fingerprint: SENDER.fingerprint,
    recipient: RECIPIENT.id,
    recipient_fingerprint: RECIPIENT.fingerprint,
    created: '2026-01-02T03:04:05.000Z',
    seq: { first: changes[0]!.seq, last: changes[changes.length - 1]!.seq },
    changes: changes.length,
    tables,
    payload: {
      compression: 'zlib',
      chunk_size: CHUNK_SIZE,
      plaintext_bytes: payload.length - 16 * n,
      ciphertext_bytes: payload.length,
      stream_bytes: stream.length,
      sha256: sha256hex(payload),
      ephemeral_key: toB64(eph.publicKey),
    },
  };
  let text = canonicalJson(c.manifest ? c.manifest(m) : m);
  if (c.manifestText) text = c.manifestText(text);
  const manifestBytes = Buffer.from(text, 'utf8');
  let sig: Buffer = Buffer.from(signManifest(new Uint8Array(manifestBytes), SENDER.sign.secretKey));
  if (c.signature) sig = c.signature(sig);
  let entries: RawEntry[] = [
    { name: 'payload.bin', data: payload },
    { name: 'manifest.json', data: manifestBytes },
    { name: 'manifest.sig', data: sig },
  ];
  if (c.entries) entries = c.entries(entries);
  const zip = buildZip(entries);
  return c.file ? c.file(zip) : zip;
}

function signedContainer(bodyName: string, text: string, sigs: Array<{ name: string; prefix: string; key: Uint8Array; alter?: (s: Buffer) => Buffer }>): Buffer {
  const body = Buffer.from(text, 'utf8');
  return buildZip([
    { name: bodyName, data: body },
    ...sigs.map((s) => {
      const sig = Buffer.from(nacl.sign.detached(signedMessage(s.prefix, new Uint8Array(body)), s.key));
      return { name: s.name, data: s.alter ? s.alter(sig) : sig };
    }),
  ]);
}

function craftAck(ack: Ack, o: { text?: (s: string) => string; signature?: (s: Buffer) => Buffer } = {}): Buffer {
  const text = o.text ? o.text(canonicalJson(ack)) : canonicalJson(ack);
  return signedContainer('ack.json', text, [{ name: 'ack.sig', prefix: ACK_SIGNING_PREFIX, key: RECIPIENT.sign.secretKey, ...(o.signature ? { alter: o.signature } : {}) }]);
}

function craftRotation(n: RotationNotice, newKey: Uint8Array, o: { newSignature?: (s: Buffer) => Buffer } = {}): Buffer {
  return signedContainer('rotation.json', canonicalJson(n), [
    { name: 'old-key.sig', prefix: ROTATION_SIGNING_PREFIX, key: SENDER.sign.secretKey },
    { name: 'new-key.sig', prefix: ROTATION_SIGNING_PREFIX, key: newKey, ...(o.newSignature ? { alter: o.newSignature } : {}) },
  ]);
}

const flipByte = (at: number) => (b: Buffer) => {
  const out = Buffer.from(b);
  out[at] = out[at]! ^ 0x01;
  return out;
};

/** One line of the change stream, written as given (some values cannot be written with JSON.stringify). */
const change = (seq: number, table: string, row: string, clock = `[1767322800000,${seq}]`) =>
  `{"kind":"change","origin":"${SENDER.id}","seq":${seq},"clock":${clock},"table":"${table}","op":"insert","row":${row}}`;
/** A table record with its scope (version 2), or without one (null: the member is left out, as version 1 writes it). */
const table = (name: string, columns: Array<[string, string]> = [['id', 'INTEGER'], ['v', 'TEXT']], scope: string | null = 'facility') =>
  JSON.stringify({ kind: 'table', table: name, columns: columns.map(([n, type]) => ({ name: n, type })), key: [columns[0]![0]], ...(scope === null ? {} : { scope }) });
/** An update or delete of row `id` in table `t`, with `base` as its base member when given (raw JSON text). */
const later = (seq: number, op: 'update' | 'delete', id: number, base?: string) =>
  `{"kind":"change","origin":"${SENDER.id}","seq":${seq},"clock":[1767322800000,${seq}],"table":"t","op":"${op}",${op === 'delete' ? `"key":[${id}],"row":null` : `"row":[${id},"b"]`}${base === undefined ? '' : `,"base":${base}`}}`;
/** A well-formed base: the digest of the row [1,"a"] (docs/FORMAT.md "Row digest"). */
const BASE_1A = JSON.stringify(rowDigest([1, 'a']));

/** Incompressible rows: a stream that needs two sealed chunks. */
function twoChunkLines(): string[] {
  const noise = seededRandom(4242);
  const lines = [table('t')];
  for (let i = 1; i <= 150; i++) lines.push(change(i, 't', `[${i},"${toB64(noise(600))}"]`));
  return lines;
}

export function negativeVectors(good: GoodVector): NegativeVector[] {
  const lines = good.records;
  const other = testKeys('RW-666', 66);
  return [
    // Reading a bundle, step 1: the container.
    { name: 'broken-zip-trailing-bytes.ferry-bundle', code: ErrorCodes.ZIP_INVALID, step: 1, breaks: 'bytes follow the end-of-central-directory record', bytes: () => craftBundle('zip-trailing', { lines, file: (z) => Buffer.concat([z, Buffer.from('appended')]) }) },
    { name: 'broken-zip-duplicate-entry.ferry-bundle', code: ErrorCodes.ZIP_ENTRY_DUPLICATE, step: 1, breaks: 'manifest.json appears twice', bytes: () => craftBundle('zip-duplicate', { lines, entries: (e) => [...e, e[1]!] }) },
    { name: 'broken-zip-entry-dotdot.ferry-bundle', code: ErrorCodes.ZIP_ENTRY_UNEXPECTED, step: 1, breaks: 'an extra entry named ../payload.bin', bytes: () => craftBundle('zip-dotdot', { lines, entries: (e) => [...e, { name: '../payload.bin', data: e[0]!.data }] }) },
    // Step 3: the manifest, in the order format, version, schema, canonical form, sizes.
    { name: 'broken-manifest-format-unknown.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'format is "ferry-bundel"', bytes: () => craftBundle('format-unknown', { lines, manifest: (m) => ({ ...m, format: 'ferry-bundel' }) }) },
    { name: 'broken-manifest-version-4.ferry-bundle', code: ErrorCodes.VERSION_UNSUPPORTED, step: 3, breaks: 'version is 4 (bundles are read at versions 1, 2 and 3)', bytes: () => craftBundle('version-4', { lines, manifest: (m) => ({ ...m, version: 4 }) }) },
    { name: 'broken-manifest-not-canonical-space.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'one space after the first colon; signed as it is', bytes: () => craftBundle('not-canonical', { lines, manifestText: (s) => s.replace('{"bundle_id":', '{"bundle_id": ') }) },
    { name: 'broken-manifest-duplicate-key.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: `"changes" appears twice (a parser keeping the first sees 1, one keeping the last sees ${lines.filter((l) => l.startsWith('{"kind":"change"')).length})`, bytes: () => craftBundle('duplicate-key', { lines, manifestText: (s) => s.replace('{"bundle_id":', '{"changes":1,"bundle_id":') }) },
    { name: 'broken-manifest-number-unsafe.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'stream_bytes is 9007199254740993, above 2^53-1: not canonical JSON', bytes: () => craftBundle('number-unsafe', { lines, manifestText: (s) => s.replace(/"stream_bytes":\d+/, '"stream_bytes":9007199254740993') }) },
    { name: 'broken-manifest-changes-zero.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'changes is 0 (and tables empty)', bytes: () => craftBundle('changes-zero', { lines, manifest: (m) => ({ ...m, changes: 0, tables: {} }) }) },
    { name: 'broken-manifest-sizes-inconsistent.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'plaintext_bytes is one more than ciphertext_bytes allows', bytes: () => craftBundle('sizes', { lines, manifest: (m) => ({ ...m, payload: { ...m.payload, plaintext_bytes: m.payload.plaintext_bytes + 1 } }) }) },
    { name: 'broken-payload-entry-short.ferry-bundle', code: ErrorCodes.PAYLOAD_TRUNCATED, step: 3, breaks: 'payload.bin holds 10 bytes fewer than ciphertext_bytes (manifest and signature intact)', bytes: () => craftBundle('entry-short', { lines, entries: (e) => e.map((x) => (x.name === 'payload.bin' ? { ...x, data: x.data.subarray(0, x.data.length - 10) } : x)) }) },
    { name: 'broken-limit-stream-bytes-ratio.ferry-bundle', code: ErrorCodes.LIMIT_EXCEEDED, step: 3, breaks: 'stream_bytes is 64 MiB + 1, over max(64 MiB, 100 x plaintext_bytes)', bytes: () => craftBundle('stream-ratio', { lines, manifest: (m) => ({ ...m, payload: { ...m.payload, stream_bytes: 64 * 1024 * 1024 + 1 } }) }) },
    // Step 4: who signed it.
    { name: 'broken-signature-flipped.ferry-bundle', code: ErrorCodes.SIGNATURE_INVALID, step: 4, breaks: 'one bit of manifest.sig flipped', bytes: () => craftBundle('signature-flipped', { lines, signature: flipByte(10) }) },
    { name: 'broken-sender-fingerprint-mismatch.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 4, breaks: "sender_fingerprint is another node's; the signature is the sender's", bytes: () => craftBundle('fingerprint', { lines, manifest: (m) => ({ ...m, sender_fingerprint: other.fingerprint }) }) },
    // Step 5: for whom.
    { name: 'broken-wrong-recipient.ferry-bundle', code: ErrorCodes.WRONG_RECIPIENT, step: 5, breaks: 'recipient is HUB-2', bytes: () => craftBundle('wrong-recipient', { lines, manifest: (m) => ({ ...m, recipient: 'HUB-2' }) }) },
    // Step 6: the payload's hash.
    { name: 'broken-payload-hash-mismatch.ferry-bundle', code: ErrorCodes.PAYLOAD_HASH_MISMATCH, step: 6, breaks: 'one bit of payload.bin flipped after signing (zip CRC recomputed)', bytes: () => craftBundle('hash', { lines, entries: (e) => e.map((x) => (x.name === 'payload.bin' ? { ...x, data: flipByte(20)(x.data) } : x)) }) },
    // Step 7: decryption; sizes and hash match the altered payload, so only the STREAM nonces catch these.
    { name: 'broken-ephemeral-key-low-order.ferry-bundle', code: ErrorCodes.PAYLOAD_UNAUTHENTICATED, step: 7, breaks: 'ephemeral_key is the all-zero point: the shared secret is all zero', bytes: () => craftBundle('low-order', { lines, manifest: (m) => ({ ...m, payload: { ...m.payload, ephemeral_key: toB64(new Uint8Array(32)) } }) }) },
    { name: 'broken-payload-chunk-dropped.ferry-bundle', code: ErrorCodes.PAYLOAD_UNAUTHENTICATED, step: 7, breaks: 'the last of two chunks dropped; sizes and hash describe what is left', bytes: () => craftBundle('chunk-dropped', { lines: twoChunkLines(), sealed: (p) => p.subarray(0, SEALED) }) },
    { name: 'broken-payload-chunks-reordered.ferry-bundle', code: ErrorCodes.PAYLOAD_UNAUTHENTICATED, step: 7, breaks: 'the two chunks swapped; sizes and hash describe the swapped payload', bytes: () => craftBundle('chunks-reordered', { lines: twoChunkLines(), sealed: (p) => Buffer.concat([p.subarray(SEALED), p.subarray(0, SEALED)]) }) },
    // Step 7: the change stream.
    { name: 'broken-zlib-trailing-bytes.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'four bytes after the end of the zlib stream', bytes: () => craftBundle('zlib-tail', { lines, zlibTail: Buffer.from('junk') }) },
    { name: 'broken-change-table-undescribed.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a change to table "visits", which no table record describes', bytes: () => craftBundle('undescribed', { lines: [table('t'), change(1, 't', '[1,"a"]'), change(2, 'visits', '[2,"b"]')] }) },
    { name: 'broken-change-seq-out-of-range.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'changes 1, 2 and 9 in a bundle whose manifest says 1..8', bytes: () => craftBundle('seq-range', { lines: [table('t'), change(1, 't', '[1,"a"]'), change(2, 't', '[2,"b"]'), change(9, 't', '[9,"c"]')], manifest: (m) => ({ ...m, seq: { first: 1, last: 8 } }) }) },
    { name: 'broken-value-int-leading-zeros.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'the value {"int":"007"}', bytes: () => craftBundle('int-007', { lines: [table('t'), change(1, 't', '[{"int":"007"},"a"]')] }) },
    { name: 'broken-value-int-unsafe-bare.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'the bare number 9007199254740993 (above 2^53-1; must travel as {"int"})', bytes: () => craftBundle('unsafe-bare', { lines: [table('t'), change(1, 't', '[9007199254740993,"a"]')] }) },
    { name: 'broken-change-clock-unsafe.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a change whose clock wall is 9007199254740992 (2^53, above 2^53-1)', bytes: () => craftBundle('clock-unsafe', { lines: [table('t'), change(1, 't', '[1,"a"]', '[9007199254740992,0]')] }) },
    { name: 'broken-value-blob-unpadded.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'the value {"blob":"AAEC/w"} (base64 without its padding)', bytes: () => craftBundle('blob-unpadded', { lines: [table('t', [['id', 'INTEGER'], ['v', 'BLOB']]), change(1, 't', '[1,{"blob":"AAEC/w"}]')] }) },
    { name: 'broken-table-names-differ-by-case.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'tables "Visits" and "visits" in one bundle (the manifest\'s tables name both)', bytes: () => craftBundle('names-case', { lines: [table('Visits'), table('visits'), change(1, 'Visits', '[1,"a"]'), change(2, 'visits', '[1,"b"]')] }) },
    { name: 'broken-table-name-reserved.ferry-bundle', code: ErrorCodes.MANIFEST_INVALID, step: 3, breaks: 'a table named "ferry_applied" (prefix reserved; the manifest\'s tables name it)', bytes: () => craftBundle('reserved', { lines: [table('ferry_applied'), change(1, 'ferry_applied', '[1,"a"]')] }) },
    { name: 'broken-declared-type-sql.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a column whose declared type is "TEXT); DELETE FROM ferry_applied; --"', bytes: () => craftBundle('type-sql', { lines: [table('t', [['id', 'INTEGER'], ['v', 'TEXT); DELETE FROM ferry_applied; --']]), change(1, 't', '[1,"a"]')] }) },
    // Step 7: table scopes and bases (docs/FORMAT.md "Table scope", "Record checks").
    { name: 'broken-table-scope-missing.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a version 2 table record without scope', bytes: () => craftBundle('scope-missing', { lines: [table('t', undefined, null), change(1, 't', '[1,"a"]')] }) },
    { name: 'broken-table-scope-in-v1.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a version 1 bundle whose table record carries a scope ("facility")', bytes: () => craftBundle('scope-in-v1', { lines: [table('t'), change(1, 't', '[1,"a"]')], manifest: (m) => ({ ...m, version: 1 }) }) },
    { name: 'broken-table-scope-unknown.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a table record whose scope is "global"', bytes: () => craftBundle('scope-unknown', { lines: [table('t', undefined, 'global'), change(1, 't', '[1,"a"]')] }) },
    { name: 'broken-shared-update-without-base.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'an update in a shared table without base', bytes: () => craftBundle('shared-update-no-base', { lines: [table('t', undefined, 'shared'), change(1, 't', '[1,"a"]'), later(2, 'update', 1)] }) },
    { name: 'broken-shared-delete-without-base.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a delete in a shared table without base', bytes: () => craftBundle('shared-delete-no-base', { lines: [table('t', undefined, 'shared'), change(1, 't', '[1,"a"]'), later(2, 'delete', 1)] }) },
    { name: 'broken-shared-insert-with-base.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'an insert in a shared table with a base', bytes: () => craftBundle('shared-insert-base', { lines: [table('t', undefined, 'shared'), change(1, 't', '[1,"a"]').replace(/}$/, `,"base":${BASE_1A}}`)] }) },
    { name: 'broken-facility-update-with-base.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'an update in a facility-owned table with a base', bytes: () => craftBundle('facility-update-base', { lines: [table('t'), change(1, 't', '[1,"a"]'), later(2, 'update', 1, BASE_1A)] }) },
    { name: 'broken-base-uppercase-hex.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a shared update whose base is in uppercase hex', bytes: () => craftBundle('base-uppercase', { lines: [table('t', undefined, 'shared'), change(1, 't', '[1,"a"]'), later(2, 'update', 1, BASE_1A.toUpperCase())] }) },
    { name: 'broken-base-short.ferry-bundle', code: ErrorCodes.PAYLOAD_INVALID, step: 7, breaks: 'a shared delete whose base is 63 hex digits', bytes: () => craftBundle('base-short', { lines: [table('t', undefined, 'shared'), change(1, 't', '[1,"a"]'), later(2, 'delete', 1, `${BASE_1A.slice(0, 64)}"`)] }) },
    // Reading an acknowledgement.
    { name: 'broken-ack-not-canonical.ferry-ack', code: ErrorCodes.ACK_INVALID, step: 2, breaks: 'one space after the first colon; signed as it is', bytes: () => craftAck(good.ack, { text: (s) => s.replace('{"ack_id":', '{"ack_id": ') }) },
    { name: 'broken-ack-version-2.ferry-ack', code: ErrorCodes.VERSION_UNSUPPORTED, step: 2, breaks: 'version is 2', bytes: () => craftAck({ ...good.ack, version: 2 }) },
    { name: 'broken-ack-ranges-overlapping.ferry-ack', code: ErrorCodes.ACK_INVALID, step: 2, breaks: 'applied_ranges [[1,2],[2,3]] overlap', bytes: () => craftAck({ ...good.ack, applied_ranges: [[1, 2], [2, 3]] }) },
    { name: 'broken-ack-signature-flipped.ferry-ack', code: ErrorCodes.SIGNATURE_INVALID, step: 5, breaks: 'one bit of ack.sig flipped', bytes: () => craftAck(good.ack, { signature: flipByte(10) }) },
    // Key rotation notice.
    { name: 'broken-rotation-new-signature-flipped.ferry-rotation', code: ErrorCodes.SIGNATURE_INVALID, step: 5, breaks: 'one bit of new-key.sig flipped', bytes: () => craftRotation(good.rotation, good.rotatedTo.sign.secretKey, { newSignature: flipByte(10) }) },
    { name: 'broken-rotation-fingerprint-mismatch.ferry-rotation', code: ErrorCodes.ROTATION_INVALID, step: 4, breaks: "new.fingerprint is another node's; both signatures valid", bytes: () => craftRotation({ ...good.rotation, new: { ...good.rotation.new, fingerprint: other.fingerprint } }, good.rotatedTo.sign.secretKey) },
  ];
}

