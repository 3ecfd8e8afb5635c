/**
 * Reads a bundle in the order FORMAT.md prescribes, each step a separate function so callers
 * cannot skip one: open (bounded zip checks, manifest version, schema, canonical form) ->
 * verify (signature by a trusted, unrevoked sender; recipient is us) -> hash of the ciphertext
 * -> decrypt and parse. Nothing is decrypted before the first three have passed.
 */
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { crc32, createInflate } from 'node:zlib';
import { BUNDLE_ENTRIES, BUNDLE_FORMAT, MANIFEST_SIGNING_PREFIX, MAX_MANIFEST_BYTES, MAX_PAYLOAD_BYTES, MAX_RECORD_BYTES, SIGNATURE_BYTES } from './constants.js';
import { openContainer, type ContainerEntry } from './container.js';
import { fromB64 } from './encoding.js';
import { parseSignedJson, signedMessage, type Manifest } from './manifest.js';
import type { ChangeRecord, PayloadRecord, TableRecord } from './records.js';
import { sealedSize } from './bundle-writer.js';
import { ChunkOpener, derivePayloadKey } from './stream-crypto.js';
import { schemaProblem } from './validate.js';
import { ErrorCodes, FerryError, refusedError } from '../errors.js';

export interface OpenedBundle {
  path: string;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  signature: Uint8Array;
  payload: ContainerEntry;
}

/** Step 1: the container and the manifest, without any key. */
export async function openBundle(path: string): Promise<OpenedBundle> {
  const entries = await openContainer(path, [
    { name: BUNDLE_ENTRIES.manifest, maxBytes: MAX_MANIFEST_BYTES },
    { name: BUNDLE_ENTRIES.signature, maxBytes: SIGNATURE_BYTES },
    { name: BUNDLE_ENTRIES.payload, maxBytes: MAX_PAYLOAD_BYTES },
  ]);
  const manifestBytes = new Uint8Array(await entries.get(BUNDLE_ENTRIES.manifest)!.read());
  const signature = new Uint8Array(await entries.get(BUNDLE_ENTRIES.signature)!.read());
  const where = `${path}:${BUNDLE_ENTRIES.manifest}`;
  const manifest = parseSignedJson<Manifest>(manifestBytes, where, { format: BUNDLE_FORMAT, schema: 'manifest', code: ErrorCodes.MANIFEST_INVALID });
  const bad = (why: string) => refusedError(ErrorCodes.MANIFEST_INVALID, `${where}: ${why}`, { where });
  if (signature.length !== SIGNATURE_BYTES) {
    throw refusedError(ErrorCodes.SIGNATURE_INVALID, `${path}: the signature is ${signature.length} bytes, not ${SIGNATURE_BYTES}`, { where: path });
  }
  if (manifest.seq.last < manifest.seq.first) throw bad('seq.last is before seq.first');
  if (manifest.changes < 1 || manifest.changes > manifest.seq.last - manifest.seq.first + 1) throw bad('changes does not fit the seq range');
  const p = manifest.payload;
  if (p.ciphertext_bytes !== sealedSize(p.plaintext_bytes)) throw bad('payload sizes do not match the chunk framing');
  const payload = entries.get(BUNDLE_ENTRIES.payload)!;
  if (payload.size !== p.ciphertext_bytes) {
    throw refusedError(ErrorCodes.PAYLOAD_TRUNCATED, `${path}: the payload holds ${payload.size} bytes, the manifest says ${p.ciphertext_bytes}`, {
      where: `${path}:${BUNDLE_ENTRIES.payload}`,
      hint: 'the bundle was truncated or altered; ask the sender to export again',
    });
  }
  return { path, manifest, manifestBytes, signature, payload };
}

/** What the caller's trust store says about a sender. */
export interface SignerStatus {
  signingKey: Uint8Array;
  revoked?: { at: string; reason: string };
}

/** Verify the detached signature over the manifest bytes against one key. */
export function signatureValid(b: Pick<OpenedBundle, 'manifestBytes' | 'signature'>, signingKey: Uint8Array): boolean {
  return nacl.sign.detached.verify(signedMessage(MANIFEST_SIGNING_PREFIX, b.manifestBytes), b.signature, signingKey);
}

/** Step 2: sender known, unrevoked and the signature valid; recipient is `self`. */
export function verifyBundle(b: OpenedBundle, signer: SignerStatus | undefined, self: { id: string } | undefined): void {
  const m = b.manifest;
  if (!signer) {
    throw refusedError(ErrorCodes.SIGNER_UNKNOWN, `bundle from ${m.sender} (fingerprint ${m.sender_fingerprint}): this node does not trust that sender`, {
      where: b.path,
      hint: `if ${m.sender} is a real facility, enrol it with \`ferry trust CARD\` after comparing fingerprints aloud`,
    });
  }
  if (signer.revoked) {
    throw refusedError(ErrorCodes.SIGNER_REVOKED, `bundle from ${m.sender}: that node was revoked on ${signer.revoked.at} (${signer.revoked.reason})`, {
      where: b.path,
      hint: 'bundles from a revoked node are refused; re-enrol it with a new identity card if that was a mistake',
    });
  }
  if (!signatureValid(b, signer.signingKey)) {
    throw refusedError(ErrorCodes.SIGNATURE_INVALID, `bundle from ${m.sender}: the signature does not verify with that sender's key`, {
      where: b.path,
      hint: 'the manifest was altered or signed by another key; the bundle was not applied',
    });
  }
  if (self && m.recipient !== self.id) {
    throw refusedError(ErrorCodes.WRONG_RECIPIENT, `bundle from ${m.sender} is addressed to ${m.recipient}, not to this node (${self.id})`, {
      where: b.path,
      hint: `take the drive to ${m.recipient}`,
    });
  }
}

/** Step 3: the ciphertext's SHA-256 equals the signed manifest's. Reads the payload once. */
export async function checkPayloadHash(b: OpenedBundle): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  let crc = 0;
  try {
    for await (const chunk of b.payload.stream() as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > b.manifest.payload.ciphertext_bytes) break;
      hash.update(chunk);
      crc = crc32(chunk, crc);
    }
  } catch (err) {
    throw refusedError(ErrorCodes.ZIP_INVALID, `${b.path}: the payload cannot be read (${(err as Error).message})`, { where: b.path, cause: err });
  }
  if (bytes === b.manifest.payload.ciphertext_bytes && crc >>> 0 !== b.payload.crc32) {
    throw refusedError(ErrorCodes.PAYLOAD_HASH_MISMATCH, `${b.path}: the payload fails its zip CRC-32 check`, {
      where: `${b.path}:${BUNDLE_ENTRIES.payload}`,
      hint: 'the bundle was damaged on the drive; ask the sender to export again',
    });
  }
  if (bytes !== b.manifest.payload.ciphertext_bytes || hash.digest('hex') !== b.manifest.payload.sha256) {
    throw refusedError(ErrorCodes.PAYLOAD_HASH_MISMATCH, `${b.path}: the payload does not match the hash in the signed manifest`, {
      where: `${b.path}:${BUNDLE_ENTRIES.payload}`,
      hint: 'the bundle was damaged or altered on the drive; ask the sender to export again',
    });
  }
}

/** Splits a byte stream into lines, refusing a line longer than MAX_RECORD_BYTES and a stream of the wrong length. */
class LineSplitter extends Transform {
  private rest: Buffer = Buffer.alloc(0);
  private total = 0;
  constructor(private readonly expectedBytes: number) {
    super({ readableObjectMode: true });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.expectedBytes) {
      done(refusedError(ErrorCodes.PAYLOAD_INVALID, 'the change stream is longer than the manifest says'));
      return;
    }
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    const lines: string[] = [];
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      lines.push(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    // One stream object per chunk of lines, not per line: the stream machinery costs per object.
    if (lines.length) this.push(lines);
    this.rest = Buffer.from(buf.subarray(start));
    if (this.rest.length > MAX_RECORD_BYTES) {
      done(refusedError(ErrorCodes.PAYLOAD_INVALID, `a change record is longer than ${MAX_RECORD_BYTES} bytes`));
      return;
    }
    done();
  }
  override _flush(done: TransformCallback): void {
    if (this.rest.length) done(refusedError(ErrorCodes.PAYLOAD_INVALID, 'the change stream does not end with a newline'));
    else if (this.total !== this.expectedBytes) done(refusedError(ErrorCodes.PAYLOAD_INVALID, 'the change stream is shorter than the manifest says'));
    else done();
  }
}

/**
 * Step 4: decrypt, decompress and parse, checking every record against its schema and the
 * manifest (sender, seq range and order, counts). Call only after steps 1–3 passed.
 */
export async function* readPayloadRecords(
  b: OpenedBundle,
  recipient: { encryptionSecretKey: Uint8Array; encryptionKey: Uint8Array },
): AsyncGenerator<PayloadRecord> {
  for await (const batch of readPayloadBatches(b, recipient)) yield* batch.records;
}

/** A run of consecutive records, with the exact lines they were parsed from. */
export interface PayloadBatch {
  lines: string[];
  records: PayloadRecord[];
}

/**
 * readPayloadRecords by batches of lines, every record checked before its batch is yielded;
 * the checks of the whole stream (counts, last seq) run before the generator ends, so a
 * consumer must treat only a completed generator as a valid bundle.
 */
export async function* readPayloadBatches(
  b: OpenedBundle,
  recipient: { encryptionSecretKey: Uint8Array; encryptionKey: Uint8Array },
): AsyncGenerator<PayloadBatch> {
  const m = b.manifest;
  const ephemeral = fromB64(m.payload.ephemeral_key, 32)!;
  const key = derivePayloadKey(recipient.encryptionSecretKey, ephemeral, ephemeral, recipient.encryptionKey);
  const opener = new ChunkOpener(key, m.payload.ciphertext_bytes);
  const inflate = createInflate();
  const lines = new LineSplitter(m.payload.stream_bytes);
  const out = pipeline(b.payload.stream(), opener, inflate, lines, () => undefined);
  const where = `${b.path}:${BUNDLE_ENTRIES.payload}`;
  const invalid = (why: string) => refusedError(ErrorCodes.PAYLOAD_INVALID, `${where}: ${why}`, { where, hint: 'the sender wrote an inconsistent bundle; it was not applied' });
  const tables = new Map<string, TableRecord>();
  const counts: Record<string, number> = {};
  let changes = 0;
  let lastSeq = 0;
  try {
    for await (const batch of out as AsyncIterable<string[]>) {
      const records: PayloadRecord[] = [];
      for (const line of batch) {
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch {
          throw invalid(`record ${changes + tables.size + 1} is not JSON`);
        }
        const problem = schemaProblem('change-record', rec);
        if (problem) throw invalid(`record ${changes + tables.size + 1}: ${problem}`);
        const r = rec as PayloadRecord;
        if (r.kind === 'table') {
          if (tables.has(r.table)) throw invalid(`table ${r.table} is described twice`);
          const names = new Set(r.columns.map((c) => c.name));
          if (names.size !== r.columns.length || !r.key.every((k) => names.has(k))) throw invalid(`table ${r.table}: columns and key do not agree`);
          tables.set(r.table, r);
        } else {
          checkChange(r, tables, invalid);
          if (r.origin !== m.sender) throw invalid(`change ${r.seq} names origin ${r.origin}, not the sender ${m.sender}`);
          if (r.seq <= lastSeq || r.seq < m.seq.first || r.seq > m.seq.last) throw invalid(`change ${r.seq} is out of order or outside ${m.seq.first}–${m.seq.last}`);
          if (changes === 0 && r.seq !== m.seq.first) throw invalid(`the first change is ${r.seq}, the manifest says ${m.seq.first}`);
          lastSeq = r.seq;
          changes++;
          counts[r.table] = (counts[r.table] ?? 0) + 1;
        }
        records.push(r);
      }
      yield { lines: batch, records };
    }
  } catch (err) {
    if (err instanceof FerryError) throw err;
    const code = (err as { code?: string }).code ?? '';
    throw refusedError(ErrorCodes.PAYLOAD_INVALID, `${where}: the payload cannot be decompressed (${code || (err as Error).message})`, { where, cause: err });
  }
  if (changes !== m.changes || lastSeq !== m.seq.last) throw invalid(`the payload holds ${changes} changes up to ${lastSeq}, the manifest says ${m.changes} up to ${m.seq.last}`);
  for (const [t, n] of Object.entries(m.tables)) if (counts[t] !== n) throw invalid(`table ${t} has ${counts[t] ?? 0} changes, the manifest says ${n}`);
}

function checkChange(r: ChangeRecord, tables: Map<string, TableRecord>, invalid: (why: string) => FerryError): void {
  const t = tables.get(r.table);
  if (!t) throw invalid(`change ${r.seq} names table ${r.table} before describing it`);
  if (r.row && r.row.length !== t.columns.length) throw invalid(`change ${r.seq}: the row has ${r.row.length} values, table ${r.table} has ${t.columns.length} columns`);
  if (r.key && r.key.length !== t.key.length) throw invalid(`change ${r.seq}: the key has ${r.key.length} values, table ${r.table} has ${t.key.length} key columns`);
}
