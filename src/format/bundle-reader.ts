/**
 * Reads a bundle in the order FORMAT.md prescribes, each step a separate function so callers
 * cannot skip one: open (bounded zip checks, manifest version, schema, canonical form) ->
 * verify (signature by a trusted, unrevoked sender; recipient is us) -> hash of the ciphertext
 * -> decrypt and parse. Nothing is decrypted before the first three have passed.
 */
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { crc32, createInflate } from 'node:zlib';
import {
  BUNDLE_ENTRIES,
  BUNDLE_FORMAT,
  BUNDLE_VERSIONS_READ,
  MANIFEST_SIGNING_PREFIX,
  MAX_CHANGES,
  MAX_MANIFEST_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_RECORD_BYTES,
  MAX_TABLES,
  maxStreamBytes,
  SIGNATURE_BYTES,
} from './constants.js';
import { openContainer, type ContainerEntry } from './container.js';
import { fromB64 } from './encoding.js';
import { parseSignedJson, signedMessage, type Manifest } from './manifest.js';
import { duplicateName, isReservedName } from './names.js';
import { RecordChecker, shownName } from './record-checks.js';
import type { BundleDirection, PayloadRecord } from './records.js';
import { ChunkOpener, derivePayloadKey, sealedSize } from './stream-crypto.js';
import { isZlibError, neverFilesFault, readFailure } from './read-failure.js';
import { ErrorCodes, FerryError, refusedError } from '../core/errors.js';

const LIMIT_HINT = 'the bundle goes beyond a limit of the ferry format (docs/FORMAT.md, "Limits"); it was not applied: ask the sender to export again with an up-to-date ferry';

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
  const manifest = parseSignedJson<Manifest>(manifestBytes, where, { format: BUNDLE_FORMAT, schema: 'manifest', code: ErrorCodes.MANIFEST_INVALID, versions: BUNDLE_VERSIONS_READ });
  const bad = (why: string) => refusedError(ErrorCodes.MANIFEST_INVALID, `${where}: ${why}`, { where });
  if (signature.length !== SIGNATURE_BYTES) {
    throw refusedError(ErrorCodes.SIGNATURE_INVALID, `${path}: the signature is ${signature.length} bytes, not ${SIGNATURE_BYTES}`, { where: path });
  }
  const p = manifest.payload;
  // Limits first, from the manifest alone: nothing is decrypted or inflated for a bundle over them.
  const tableCount = Object.keys(manifest.tables).length;
  const over = (why: string) => refusedError(ErrorCodes.LIMIT_EXCEEDED, `${where}: ${why}`, { where, hint: LIMIT_HINT });
  if (p.stream_bytes > maxStreamBytes(p.plaintext_bytes)) {
    throw over(`payload.stream_bytes (${p.stream_bytes}) is more than ${maxStreamBytes(p.plaintext_bytes)}, the most a compressed stream of ${p.plaintext_bytes} bytes may inflate to`);
  }
  if (manifest.changes > MAX_CHANGES) throw over(`${manifest.changes} changes, more than ${MAX_CHANGES} in one bundle`);
  if (tableCount > MAX_TABLES) throw over(`${tableCount} tables, more than ${MAX_TABLES} in one bundle`);
  if (manifest.seq.last < manifest.seq.first) throw bad('seq.last is before seq.first');
  if (manifest.changes > manifest.seq.last - manifest.seq.first + 1) throw bad('changes does not fit the seq range');
  const perTable = Object.values(manifest.tables).reduce((sum, n) => sum + n, 0);
  if (perTable !== manifest.changes) throw bad(`the per-table counts add up to ${perTable}, changes says ${manifest.changes}`);
  const reserved = Object.keys(manifest.tables).find(isReservedName);
  if (reserved) throw bad(`tables names ${shownName(reserved)}: table names starting with ferry_ or sqlite_ are reserved`);
  const twice = duplicateName(Object.keys(manifest.tables));
  if (twice) throw bad(`tables names ${shownName(twice)} twice (names that differ only by case are one name)`);
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
  /** the fingerprint of the sender's keys (signing and encryption) that the caller trusts */
  fingerprint: string;
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
  if (m.sender_fingerprint !== signer.fingerprint) {
    throw refusedError(ErrorCodes.MANIFEST_INVALID, `bundle from ${m.sender}: sender_fingerprint ${m.sender_fingerprint} is not the fingerprint of the signing key (${signer.fingerprint})`, {
      where: `${b.path}:${BUNDLE_ENTRIES.manifest}`,
      hint: 'the sender wrote a manifest that misnames its own key; the bundle was not applied',
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
    // The entry's range was checked against the file: only the drive (or a bug) can fail here.
    throw readFailure(err, b.path, neverFilesFault, () => refusedError(ErrorCodes.ZIP_INVALID, `${b.path}: the payload cannot be read`, { where: b.path }));
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

/**
 * Splits a byte stream into lines, refusing a line longer than MAX_RECORD_BYTES, a line that is
 * not UTF-8, and a stream of the wrong length. A long line is kept as a list of pieces and joined
 * once, so that splitting stays linear in the input (joining the rest with each chunk was
 * quadratic: a single 20 MiB value took minutes).
 */
class LineSplitter extends Transform {
  private pieces: Buffer[] = [];
  private pending = 0;
  private total = 0;
  private lineCount = 0;
  constructor(
    private readonly expectedBytes: number,
    private readonly where: string,
  ) {
    super({ readableObjectMode: true });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.expectedBytes) {
      done(this.invalid('the change stream is longer than the manifest says'));
      return;
    }
    try {
      const lines: string[] = [];
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        lines.push(this.line(chunk.subarray(start, nl)));
        start = nl + 1;
      }
      // One stream object per chunk of lines, not per line: the stream machinery costs per object.
      if (lines.length) this.push(lines);
      if (start < chunk.length) {
        this.pending += chunk.length - start;
        this.tooLong();
        this.pieces.push(chunk.subarray(start));
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }
  private line(tail: Buffer): string {
    let bytes = tail;
    if (this.pending) {
      this.pending += tail.length;
      this.tooLong();
      bytes = Buffer.concat([...this.pieces, tail], this.pending);
      this.pieces = [];
      this.pending = 0;
    } else if (tail.length > MAX_RECORD_BYTES) {
      this.pending = tail.length;
      this.tooLong();
    }
    this.lineCount++;
    if (!isUtf8(bytes)) throw this.invalid(`record ${this.lineCount} is not UTF-8 text`);
    return bytes.toString('utf8');
  }
  /** Refuses the line being gathered (record lineCount + 1) once it is over the limit: before it is joined. */
  private tooLong(): void {
    if (this.pending > MAX_RECORD_BYTES) {
      throw refusedError(ErrorCodes.LIMIT_EXCEEDED, `${this.where}: record ${this.lineCount + 1} is longer than ${MAX_RECORD_BYTES} bytes`, { where: this.where, hint: LIMIT_HINT });
    }
  }
  private invalid(why: string): FerryError {
    return refusedError(ErrorCodes.PAYLOAD_INVALID, `${this.where}: ${why}`, { where: this.where });
  }
  override _flush(done: TransformCallback): void {
    if (this.pending) done(this.invalid('the change stream does not end with a newline'));
    else if (this.total !== this.expectedBytes) done(this.invalid('the change stream is shorter than the manifest says'));
    else done();
  }
}

/**
 * Step 4: decrypt, decompress and parse, checking every record against its schema and the
 * manifest (sender, seq range and order, counts). Call only after steps 1–3 passed.
 */
export async function* readPayloadRecords(
  b: OpenedBundle,
  recipient: PayloadRecipient,
): AsyncGenerator<PayloadRecord> {
  for await (const batch of readPayloadBatches(b, recipient)) yield* batch.records;
}

/** The reader's keys, and which way the bundle travels (a facility reads its hub's bundles). */
export interface PayloadRecipient {
  encryptionSecretKey: Uint8Array;
  encryptionKey: Uint8Array;
  /** default to-hub: a facility's bundle read at a hub */
  direction?: BundleDirection;
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
export async function* readPayloadBatches(b: OpenedBundle, recipient: PayloadRecipient): AsyncGenerator<PayloadBatch> {
  const m = b.manifest;
  const ephemeral = fromB64(m.payload.ephemeral_key, 32)!;
  const key = derivePayloadKey(recipient.encryptionSecretKey, ephemeral, ephemeral, recipient.encryptionKey);
  const opener = new ChunkOpener(key, m.payload.ciphertext_bytes);
  const inflate = createInflate();
  const where = `${b.path}:${BUNDLE_ENTRIES.payload}`;
  const lines = new LineSplitter(m.payload.stream_bytes, where);
  let finished!: (err: Error | null) => void;
  const ended = new Promise<Error | null>((resolve) => (finished = resolve));
  const out = pipeline(b.payload.stream(), opener, inflate, lines, (err) => finished(err ?? null));
  const invalid = (why: string) => refusedError(ErrorCodes.PAYLOAD_INVALID, `${where}: ${why}`, { where, hint: 'the sender wrote an inconsistent bundle; it was not applied' });
  const limit = (why: string) => refusedError(ErrorCodes.LIMIT_EXCEEDED, `${where}: ${why}`, { where, hint: LIMIT_HINT });
  const checker = new RecordChecker(m, { invalid, limit }, recipient.direction);
  try {
    for await (const batch of out as AsyncIterable<string[]>) {
      yield { lines: batch, records: batch.map((line) => checker.check(line)) };
    }
    await ended;
  } catch (err) {
    // Decryption and line splitting refuse with FerryErrors; of the rest only zlib's are the bundle's fault.
    throw readFailure(err, b.path, isZlibError, () =>
      refusedError(ErrorCodes.PAYLOAD_INVALID, `${where}: the payload cannot be decompressed (${(err as { code: string }).code})`, { where, cause: err }),
    );
  }
  // Node's inflate stops at the end of the zlib stream and ignores what follows: refuse it here.
  if (inflate.bytesWritten !== m.payload.plaintext_bytes) {
    throw invalid(`${m.payload.plaintext_bytes - inflate.bytesWritten} bytes follow the end of the zlib stream`);
  }
  checker.finish();
}
