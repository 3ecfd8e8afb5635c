/**
 * Writes one bundle as a stream: JSON lines -> zlib -> STREAM chunks (secretbox) -> zip entry,
 * hashing the ciphertext on the way; the signed manifest is added once the payload is complete.
 * Memory stays flat whatever the number of records.
 */
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import { constants as zlibConstants, createDeflate, type Deflate, type ZlibOptions } from 'node:zlib';
import {
  BUNDLE_ENTRIES,
  BUNDLE_FORMAT,
  CHUNK_SIZE,
  BUNDLE_FORMAT_VERSION,
  BUNDLE_FORMAT_VERSION_REFERENCES,
  MAX_CHANGES,
  MAX_COLUMNS_PER_TABLE,
  MAX_COLUMNS_TOTAL,
  MAX_KEY_COLUMNS,
  MAX_STREAM_BYTES,
  MAX_TABLES,
  maxStreamBytes,
  SEALED_CHUNK_SIZE,
} from './constants.js';
import { ContainerWriter } from './container-writer.js';
import { toB64, toHex } from './encoding.js';
import { manifestBytes, signManifest, type Manifest } from './manifest.js';
import type { BundleDirection, ChangeRecord, PayloadRecord, TableRecord } from './records.js';
import { ChunkSealer, derivePayloadKey, sealedSize } from './stream-crypto.js';
import { ErrorCodes, refusedError } from '../core/errors.js';

export interface BundleSender {
  id: string;
  fingerprint: string;
  signingSecretKey: Uint8Array;
}

export interface BundleRecipient {
  id: string;
  fingerprint: string;
  encryptionKey: Uint8Array;
}

export interface BundleWriterOptions {
  sender: BundleSender;
  recipient: BundleRecipient;
  out: Writable;
  /** 16 random bytes (hex in the manifest) */
  bundleId: Uint8Array;
  /** 32 random bytes: the ephemeral X25519 secret key, used once */
  ephemeralSecret: Uint8Array;
  created: Date;
  compressionLevel?: number;
  /** to-facility: a hub's bundle for one facility (version 3, docs/FORMAT.md "Hub bundles") */
  direction?: BundleDirection;
}

export interface FinishedBundle {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  signature: Uint8Array;
}

/** Upper bound of deflate's output for n input bytes (zlib's deflateBound, rounded up). */
const deflateBound = (n: number) => n + (n >>> 11) + 64;
// The reader needs it too, and must not load the writer (archiver) to get it.
export { sealedSize };

const LINE_BATCH_BYTES = 256 * 1024;

export class BundleWriter {
  private readonly deflate: Deflate;
  private readonly sealer: ChunkSealer;
  private readonly payload = new PassThrough({ highWaterMark: 4 * SEALED_CHUNK_SIZE });
  private readonly hash = createHash('sha256');
  private readonly container: ContainerWriter;
  private readonly ephemeralPublic: Uint8Array;
  private readonly failed: Promise<never>;
  private readonly payloadEnded: Promise<void>;
  private failure: Error | undefined;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** deflate output so far: exact once a flush callback has run (deflate is in flowing mode) */
  private compressedBytes = 0;
  private cipherBytes = 0;
  /** uncompressed bytes handed to deflate since the last sync flush */
  private sinceFlush = 0;
  private streamBytes = 0;
  private changes = 0;
  private first = 0;
  private last = 0;
  private readonly tables: Record<string, number> = {};
  private tablesDescribed = 0;
  private columnsDescribed = 0;
  /** a table record carries references: version 3 */
  private referencesDescribed = false;

  constructor(private readonly o: BundleWriterOptions) {
    const eph = nacl.box.keyPair.fromSecretKey(o.ephemeralSecret);
    this.ephemeralPublic = eph.publicKey;
    const key = derivePayloadKey(eph.secretKey, o.recipient.encryptionKey, eph.publicKey, o.recipient.encryptionKey);
    // A large write buffer keeps deflate (in the thread pool) and this thread busy at the same time.
    this.deflate = createDeflate({ level: o.compressionLevel ?? 6, chunkSize: 64 * 1024, highWaterMark: 1024 * 1024 } as ZlibOptions);
    this.sealer = new ChunkSealer(key);
    this.container = new ContainerWriter(o.out);
    this.container.add({ name: BUNDLE_ENTRIES.payload, data: this.payload });
    // Flowing mode: compressed bytes are sealed as soon as deflate emits them, so the counts
    // are exact after a flush; backpressure is applied at the payload stream instead.
    this.deflate.on('data', (c: Buffer) => {
      this.compressedBytes += c.length;
      for (const sealed of this.sealer.push(c)) this.emitSealed(sealed);
    });
    this.payloadEnded = new Promise((resolve) => {
      this.deflate.on('end', () => {
        if (this.failure) return;
        this.emitSealed(this.sealer.finish());
        this.payload.end();
        resolve();
      });
    });
    this.failed = new Promise<never>((_, reject) => {
      const fail = (err: Error) => {
        this.failure ??= err;
        reject(err);
      };
      for (const s of [this.deflate, this.payload, o.out]) s.on('error', fail);
    });
    this.failed.catch(() => undefined);
  }

  private emitSealed(sealed: Buffer): void {
    this.cipherBytes += sealed.length;
    this.hash.update(sealed);
    this.payload.write(sealed);
  }

  get recordCount(): number {
    return this.changes;
  }

  /** Sealed bytes produced so far. */
  get bytesOut(): number {
    return this.cipherBytes;
  }

  /** Bytes the payload would take, sealed, if `extraLine` more bytes were written and the bundle finished now. */
  sealedUpperBound(extraLine = 0): number {
    return sealedSize(this.compressedBytes + deflateBound(this.sinceFlush + this.batchBytes + extraLine));
  }

  /** Exact compressed size so far: pushes everything buffered through deflate with a sync flush. */
  async syncFlush(): Promise<void> {
    await this.writeBatch();
    await Promise.race([new Promise<void>((resolve) => this.deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve())), this.failed]);
    this.sinceFlush = 0;
  }

  /**
   * Can `lineBytes` more bytes of stream (a change, and `table`'s record when the bundle does not
   * describe it yet) go into this bundle without passing a limit a reader checks (docs/FORMAT.md
   * "Limits")? When not, the caller finishes this bundle and starts the next. The relative limit
   * is judged on the compressed size so far, exact after a sync flush, and a lower bound of the
   * final size: a flush is made only when the cheaper estimate cannot answer.
   */
  async fits(lineBytes: number, table?: TableRecord): Promise<boolean> {
    if (this.changes + 1 > MAX_CHANGES) return false;
    if (table && (this.tablesDescribed + 1 > MAX_TABLES || this.columnsDescribed + table.columns.length > MAX_COLUMNS_TOTAL)) return false;
    const stream = this.streamBytes + lineBytes;
    if (stream > MAX_STREAM_BYTES) return false;
    if (stream <= maxStreamBytes(this.compressedBytes)) return true;
    await this.syncFlush();
    return stream <= maxStreamBytes(this.compressedBytes);
  }

  /** Append one record. Change records must come in ascending seq order. */
  write(record: PayloadRecord): Promise<void> {
    return this.writeLine(record, `${JSON.stringify(record)}\n`);
  }

  /** Append a record already serialised as `line` (its JSON and a newline): serialise once. */
  async writeLine(record: PayloadRecord, line: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (record.kind === 'change') this.countChange(record);
    else this.countTable(record);
    const bytes = Buffer.from(line, 'utf8');
    this.batch.push(bytes);
    this.batchBytes += bytes.length;
    this.streamBytes += bytes.length;
    if (this.batchBytes >= LINE_BATCH_BYTES) await this.writeBatch();
  }

  private countChange(c: ChangeRecord): void {
    if (this.changes > 0 && c.seq <= this.last) throw new Error(`internal: change seq ${c.seq} after ${this.last}`);
    if (this.changes === 0) this.first = c.seq;
    this.last = c.seq;
    this.changes++;
    this.tables[c.table] = (this.tables[c.table] ?? 0) + 1;
  }

  /** A table no bundle can carry: refused here, so that no reader has to. */
  private countTable(t: TableRecord): void {
    const over = (why: string) =>
      refusedError(ErrorCodes.LIMIT_EXCEEDED, `table ${t.table} ${why}`, { hint: 'a bundle cannot carry this table; track fewer columns of it, or a shorter key' });
    if (t.columns.length > MAX_COLUMNS_PER_TABLE) throw over(`has ${t.columns.length} columns; a bundle carries at most ${MAX_COLUMNS_PER_TABLE} per table`);
    if (t.key.length > MAX_KEY_COLUMNS) throw over(`has a key of ${t.key.length} columns; a bundle carries at most ${MAX_KEY_COLUMNS}`);
    this.tablesDescribed++;
    this.columnsDescribed += t.columns.length;
    if (t.references !== undefined) this.referencesDescribed = true;
  }

  private async writeBatch(): Promise<void> {
    if (this.batchBytes === 0) return;
    const data = Buffer.concat(this.batch);
    this.batch = [];
    this.sinceFlush += this.batchBytes;
    this.batchBytes = 0;
    const deflated = this.deflate.write(data);
    if (!deflated) await Promise.race([once(this.deflate, 'drain'), this.failed]);
    if (this.payload.writableNeedDrain) await Promise.race([once(this.payload, 'drain'), this.failed]);
  }

  /** Complete the payload, sign the manifest, close the zip. Resolves once `out` is closed. */
  async finish(): Promise<FinishedBundle> {
    if (this.changes === 0) throw new Error('internal: a bundle needs at least one change');
    await this.writeBatch();
    this.deflate.end();
    await Promise.race([this.payloadEnded, this.failed]);
    const o = this.o;
    const manifest: Manifest = {
      format: BUNDLE_FORMAT,
      version: this.referencesDescribed || o.direction === 'to-facility' ? BUNDLE_FORMAT_VERSION_REFERENCES : BUNDLE_FORMAT_VERSION,
      bundle_id: toHex(o.bundleId),
      sender: o.sender.id,
      sender_fingerprint: o.sender.fingerprint,
      recipient: o.recipient.id,
      recipient_fingerprint: o.recipient.fingerprint,
      created: o.created.toISOString(),
      seq: { first: this.first, last: this.last },
      changes: this.changes,
      tables: this.tables,
      payload: {
        compression: 'zlib',
        chunk_size: CHUNK_SIZE,
        plaintext_bytes: this.sealer.plaintextBytes,
        ciphertext_bytes: this.cipherBytes,
        stream_bytes: this.streamBytes,
        sha256: this.hash.digest('hex'),
        ephemeral_key: toB64(this.ephemeralPublic),
      },
    };
    if (this.cipherBytes !== sealedSize(this.sealer.plaintextBytes) || this.sealer.chunks !== Math.ceil(this.cipherBytes / SEALED_CHUNK_SIZE)) {
      throw new Error('internal: sealed payload length does not match its framing');
    }
    const bytes = manifestBytes(manifest);
    const signature = signManifest(bytes, o.sender.signingSecretKey);
    this.container.add({ name: BUNDLE_ENTRIES.manifest, data: Buffer.from(bytes) });
    this.container.add({ name: BUNDLE_ENTRIES.signature, data: Buffer.from(signature) });
    await Promise.race([this.container.finish(), this.failed]);
    return { manifest, manifestBytes: bytes, signature };
  }

  /** Stop writing; the caller removes the partial file. */
  abort(): void {
    this.container.abort();
    this.deflate.destroy();
    this.payload.destroy();
    this.o.out.destroy();
  }
}
