/**
 * Payload confidentiality: an ephemeral X25519 key per bundle, a payload key derived from the
 * shared secret, and the payload cut into CHUNK_SIZE chunks each sealed with secretbox under
 * a nonce holding a chunk counter and a last-chunk flag (age's STREAM construction). Reordered,
 * dropped, truncated, spliced or extended chunk sequences all fail to open.
 */
import nacl from 'tweetnacl';
import { Transform, type TransformCallback } from 'node:stream';
import { CHUNK_SIZE, PAYLOAD_KEY_LABEL, SEALED_CHUNK_SIZE, SECRETBOX_OVERHEAD } from './constants.js';
import { sha256, utf8 } from './encoding.js';
import { ErrorCodes, refusedError } from '../core/errors.js';

/** Ciphertext bytes for a compressed stream of n bytes. */
export const sealedSize = (n: number) => n + SECRETBOX_OVERHEAD * Math.max(1, Math.ceil(n / CHUNK_SIZE));

/** payload_key = SHA-256(label || X25519(secret, public) || ephemeral_public || recipient_public) */
export function derivePayloadKey(
  ourSecret: Uint8Array,
  theirPublic: Uint8Array,
  ephemeralPublic: Uint8Array,
  recipientPublic: Uint8Array,
): Uint8Array {
  const shared = nacl.scalarMult(ourSecret, theirPublic);
  // A low-order public key gives an all-zero secret that anyone can compute: refuse it.
  if (shared.every((b) => b === 0)) {
    throw refusedError(ErrorCodes.PAYLOAD_UNAUTHENTICATED, 'the bundle names an invalid ephemeral key', {
      hint: 'the bundle was made by a faulty or hostile writer; ask the sender to export again',
    });
  }
  return sha256(utf8(PAYLOAD_KEY_LABEL), shared, ephemeralPublic, recipientPublic);
}

/** nonce = 15 zero bytes || chunk counter (uint64, big-endian) || flag (0x01 on the last chunk) */
export function chunkNonce(counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  new DataView(nonce.buffer).setBigUint64(15, BigInt(counter), false);
  nonce[23] = last ? 1 : 0;
  return nonce;
}

/**
 * Seals a byte stream into STREAM chunks, synchronously: push() returns the chunks completed so
 * far, finish() the last one. Holds at most one chunk of plaintext.
 */
export class ChunkSealer {
  private pending: Buffer = Buffer.alloc(0);
  private counter = 0;
  /** plaintext bytes sealed so far */
  plaintextBytes = 0;
  chunks = 0;

  constructor(private readonly key: Uint8Array) {}

  push(data: Buffer): Buffer[] {
    const all = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const out: Buffer[] = [];
    let offset = 0;
    // Keep at least one byte back: the last chunk must carry the last flag, and a chunk is
    // only known to be last when the input ends.
    while (all.length - offset > CHUNK_SIZE) {
      out.push(this.seal(all.subarray(offset, offset + CHUNK_SIZE), false));
      offset += CHUNK_SIZE;
    }
    this.pending = Buffer.from(all.subarray(offset));
    return out;
  }

  finish(): Buffer {
    // Only an empty stream may end with an empty chunk: then it is the one and only chunk.
    if (this.pending.length === 0 && this.chunks > 0) throw new Error('internal: stream ended on a chunk boundary');
    const last = this.seal(this.pending, true);
    this.pending = Buffer.alloc(0);
    return last;
  }

  private seal(chunk: Uint8Array, last: boolean): Buffer {
    this.plaintextBytes += chunk.length;
    this.chunks++;
    return Buffer.from(nacl.secretbox(chunk, chunkNonce(this.counter++, last), this.key));
  }
}

/** Number of sealed chunks for a ciphertext of `length` bytes, or an error if no valid framing exists. */
export function chunkCountFor(length: number): number {
  if (length < SECRETBOX_OVERHEAD) {
    throw refusedError(ErrorCodes.PAYLOAD_TRUNCATED, `the payload is ${length} bytes, shorter than one sealed chunk`);
  }
  const n = Math.max(1, Math.ceil(length / SEALED_CHUNK_SIZE));
  // The last chunk holds 1..CHUNK_SIZE bytes, or 0 when it is the only chunk.
  if (n > 1 && length - (n - 1) * SEALED_CHUNK_SIZE < SECRETBOX_OVERHEAD + 1) {
    throw refusedError(ErrorCodes.PAYLOAD_TRUNCATED, `a payload of ${length} bytes does not divide into sealed chunks`);
  }
  return n;
}

/**
 * Opens STREAM chunks. The total ciphertext length is known from the (verified) zip entry, so
 * the last chunk is known by position; a payload cut at a chunk boundary leaves a last chunk
 * sealed without the last flag, which fails to open.
 */
export class ChunkOpener extends Transform {
  private buffered: Buffer[] = [];
  private bufferedLength = 0;
  private counter = 0;
  private consumed = 0;
  private readonly chunks: number;

  constructor(
    private readonly key: Uint8Array,
    private readonly totalLength: number,
  ) {
    super();
    this.chunks = chunkCountFor(totalLength);
  }

  override _transform(data: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffered.push(data);
    this.bufferedLength += data.length;
    try {
      if (this.counter < this.chunks - 1 && this.bufferedLength >= SEALED_CHUNK_SIZE) {
        const all = Buffer.concat(this.buffered);
        let offset = 0;
        while (this.counter < this.chunks - 1 && all.length - offset >= SEALED_CHUNK_SIZE) {
          this.push(this.open(all.subarray(offset, offset + SEALED_CHUNK_SIZE), false));
          offset += SEALED_CHUNK_SIZE;
        }
        this.buffered = [all.subarray(offset)];
        this.bufferedLength = all.length - offset;
      }
      if (this.consumed + this.bufferedLength > this.totalLength) {
        throw refusedError(ErrorCodes.PAYLOAD_INVALID, 'the payload is longer than its declared length');
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      const rest = Buffer.concat(this.buffered);
      if (this.counter !== this.chunks - 1 || this.consumed + rest.length !== this.totalLength) {
        throw refusedError(ErrorCodes.PAYLOAD_TRUNCATED, 'the payload ended before its last chunk');
      }
      this.push(this.open(rest, true));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private open(sealed: Uint8Array, last: boolean): Buffer {
    const opened = nacl.secretbox.open(sealed, chunkNonce(this.counter, last), this.key);
    if (!opened) {
      throw refusedError(
        ErrorCodes.PAYLOAD_UNAUTHENTICATED,
        `payload chunk ${this.counter} failed authentication${last ? ' (as the last chunk)' : ''}`,
        { hint: 'the bundle was altered, truncated or is not for this key; it was not applied' },
      );
    }
    this.counter++;
    this.consumed += sealed.length;
    return Buffer.from(opened);
  }
}

