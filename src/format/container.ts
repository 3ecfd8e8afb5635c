/**
 * The zip container (docs/FORMAT.md, Container). Writing goes through archiver
 * (container-writer.ts: stored entries, fixed entry time). Reading goes through unzipper's
 * Open.file, which reads the central directory; its streaming Parse and Extract are never used:
 * they believe each local header as it comes, which a hostile zip makes disagree with the
 * directory, and Extract writes entries by name. Entry data is then read directly at the offset
 * the checked local header gives. The reader looks for exactly the entry names it expects,
 * checks every size before reading, and refuses the rest.
 */
import type { CentralDirectory } from 'unzipper';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ErrorCodes, refusedError } from '../core/errors.js';
import { openDriveFile, reopenDriveFileSync, type FileIdentity } from '../core/safe-file.js';
import { isZipParseError, readFailure } from './read-failure.js';

export interface ExpectedEntry {
  name: string;
  maxBytes: number;
}

export interface ContainerEntry {
  name: string;
  size: number;
  /** the CRC-32 the central directory declares (checked by read(), and by the payload hash pass) */
  crc32: number;
  /** A fresh stream of the entry's bytes (stored, so no decompression). */
  stream(): Readable;
  /** The whole entry; only for entries whose size was capped small. */
  read(): Promise<Buffer>;
}

/** The largest container we will even look at: FAT32's file limit. */
const MAX_CONTAINER_BYTES = 4 * 1024 ** 3;

/** Open a ferry zip and return exactly the expected entries, or throw a typed refusal. */
export async function openContainer(path: string, expected: readonly ExpectedEntry[]): Promise<Map<string, ContainerEntry>> {
  // A link, FIFO or device is refused here, unopened (src/core/safe-file.ts); the structure is
  // then read through this one descriptor, and every later entry stream must find the same file.
  const { handle, identity } = await openDriveFile(path);
  try {
    return await readContainer(path, handle, identity, expected);
  } finally {
    await handle.close();
  }
}

/** The most unzipper may read at once while it parses the central directory (see directorySource). */
const MAX_DIRECTORY_READ = 1024 * 1024;

/**
 * unzipper's view of the file, read through our descriptor: each read is one bounded positional
 * read (a ferry file's central directory and end record are a few kilobytes), and every read has
 * finished before the descriptor is closed.
 */
function directorySource(handle: FileHandle, size: number, reads: Array<Promise<unknown>>) {
  return {
    size: () => Promise.resolve(size),
    stream: (offset: number, length?: number) => {
      const out = new PassThrough();
      const n = Math.max(0, Math.min(size - offset, length ?? Number.MAX_SAFE_INTEGER, MAX_DIRECTORY_READ));
      const buf = Buffer.alloc(n);
      const read = (n === 0 ? Promise.resolve({ bytesRead: 0 }) : handle.read(buf, 0, n, offset)).then(
        ({ bytesRead }) => out.end(buf.subarray(0, bytesRead)),
        (err: Error) => out.destroy(err),
      );
      reads.push(read);
      return out;
    },
  };
}

async function readContainer(path: string, handle: FileHandle, identity: FileIdentity, expected: readonly ExpectedEntry[]): Promise<Map<string, ContainerEntry>> {
  const size = identity.size;
  if (size > MAX_CONTAINER_BYTES) {
    throw refusedError(ErrorCodes.ZIP_ENTRY_TOO_LARGE, `${path} is ${size} bytes, larger than any ferry file can be`, { where: path });
  }
  await checkEndOfDirectory(path, handle, size, expected.length);
  // Loaded here, not at the top: only commands that read a ferry file need it (not status,
  // not --help). Outside the try: a failure to load is a bug, not a damaged zip.
  const { default: unzipper } = await import('unzipper');
  let directory: CentralDirectory;
  const reads: Array<Promise<unknown>> = [];
  try {
    directory = await unzipper.Open.custom(directorySource(handle, size, reads));
  } catch (err) {
    throw readFailure(err, path, isZipParseError, () =>
      refusedError(ErrorCodes.ZIP_INVALID, `${path} is not a readable zip (${(err as Error).message})`, {
        where: path,
        cause: err,
        hint: 'the file is damaged or truncated; ask the sender to export again',
      }),
    );
  } finally {
    await Promise.allSettled(reads);
  }
  const wanted = new Map(expected.map((e) => [e.name, e]));
  const found = new Map<string, ContainerEntry>();
  for (const file of directory.files) {
    const name = file.path;
    const spec = wanted.get(name);
    if (!spec) {
      throw refusedError(ErrorCodes.ZIP_ENTRY_UNEXPECTED, `${path} holds an unexpected entry ${JSON.stringify(name.slice(0, 80))}`, {
        where: `${path}:${name.slice(0, 80)}`,
        hint: 'a ferry file holds only its own entries; this one was altered or is not a ferry file',
      });
    }
    if (found.has(name)) {
      throw refusedError(ErrorCodes.ZIP_ENTRY_DUPLICATE, `${path} holds the entry ${name} more than once`, { where: `${path}:${name}` });
    }
    const f = file as unknown as { compressionMethod: number; flags: number; uncompressedSize: number; compressedSize: number; type: string };
    const unixMode = ((file as unknown as { externalFileAttributes?: number }).externalFileAttributes ?? 0) >>> 16;
    if ((unixMode & 0o170000) === 0o120000) {
      throw refusedError(ErrorCodes.ZIP_INVALID, `${path}: entry ${name} is a symbolic link`, { where: `${path}:${name}` });
    }
    if (f.type !== 'File' || f.compressionMethod !== 0 || (f.flags & 1) !== 0 || f.uncompressedSize !== f.compressedSize) {
      throw refusedError(ErrorCodes.ZIP_INVALID, `${path}: entry ${name} is not a plain stored file`, { where: `${path}:${name}` });
    }
    if (f.uncompressedSize > spec.maxBytes || f.uncompressedSize > size) {
      throw refusedError(ErrorCodes.ZIP_ENTRY_TOO_LARGE, `${path}: entry ${name} declares ${f.uncompressedSize} bytes (at most ${Math.min(spec.maxBytes, size)} allowed)`, {
        where: `${path}:${name}`,
      });
    }
    const declared = f.uncompressedSize;
    const dataStart = await localDataOffset(path, handle, (file as unknown as { offsetToLocalFileHeader: number }).offsetToLocalFileHeader, name, size);
    if (dataStart + declared > size) {
      throw refusedError(ErrorCodes.ZIP_INVALID, `${path}: entry ${name} runs past the end of the file`, { where: `${path}:${name}` });
    }
    // Entry data is read with our own file stream (errors handled, range fixed from the
    // checked headers), not unzipper's entry stream.
    // The descriptor is reopened for each stream, without following a link, and must be the
    // file checked above: a name swapped on the drive since is refused, not read.
    const stream = () => {
      if (declared === 0) return Readable.from([]);
      try {
        const fd = reopenDriveFileSync(path, identity);
        return createReadStream(path, { fd, start: dataStart, end: dataStart + declared - 1 });
      } catch (err) {
        return new Readable({
          read() {
            this.destroy(err as Error);
          },
        });
      }
    };
    const crc = (file as unknown as { crc32: number }).crc32 >>> 0;
    found.set(name, {
      name,
      size: declared,
      crc32: crc,
      stream,
      read: async () => {
        const chunks: Buffer[] = [];
        for await (const c of stream() as AsyncIterable<Buffer>) chunks.push(c);
        const buf = Buffer.concat(chunks);
        if (buf.length !== declared) {
          throw refusedError(ErrorCodes.ZIP_INVALID, `${path}: entry ${name} holds ${buf.length} bytes, not the ${declared} declared`, { where: `${path}:${name}` });
        }
        // unzipper reads the CRC-32 but never checks it (docs/FORMAT.md, Container, has readers
        // check it); integrity rests on signatures and hashes, but a damaged entry is reported as what it is.
        if (crc32(buf) >>> 0 !== crc) throw refusedError(ErrorCodes.ZIP_INVALID, `${path}: entry ${name} fails its CRC-32 check`, { where: `${path}:${name}` });
        return buf;
      },
    });
  }
  for (const e of expected) {
    if (!found.has(e.name)) {
      throw refusedError(ErrorCodes.ZIP_ENTRY_MISSING, `${path} has no ${e.name} entry`, {
        where: path,
        hint: 'the file is incomplete or not a ferry file',
      });
    }
  }
  return found;
}

/** The end-of-central-directory record sits in the last 22 + 65,535 bytes. */
const EOCD_SIGNATURE = 0x06054b50;
const MAX_EOCD_SEARCH = 22 + 65535;

/**
 * Read the end-of-central-directory record ourselves before handing the file to unzipper: a zip
 * that declares thousands of entries, or a huge directory, is refused here, in bounded time and
 * memory, instead of after unzipper parsed it all.
 */
async function checkEndOfDirectory(path: string, fh: FileHandle, size: number, expectedEntries: number): Promise<void> {
  const bad = (why: string, code: typeof ErrorCodes.ZIP_INVALID | typeof ErrorCodes.ZIP_ENTRY_UNEXPECTED = ErrorCodes.ZIP_INVALID) =>
    refusedError(code, `${path}: ${why}`, { where: path, hint: 'the file is damaged, altered, or not a ferry file' });
  if (size < 22) throw bad('too short to be a zip');
  const tail = Math.min(size, MAX_EOCD_SEARCH);
  const buf = Buffer.alloc(tail);
  await fh.read(buf, 0, tail, size - tail);
  let at = -1;
  for (let i = tail - 22; i >= 0; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIGNATURE) {
      at = i;
      break;
    }
  }
  if (at < 0) throw bad('no end-of-central-directory record (not a zip, or truncated)');
  // ferry writes no archive comment: the record must end the file, with nothing after it.
  if (buf.readUInt16LE(at + 20) !== 0 || at + 22 !== tail) throw bad('bytes follow the end of the zip (appended data or a comment)');
  const entries = buf.readUInt16LE(at + 10);
  const directoryBytes = buf.readUInt32LE(at + 12);
  // Any ZIP64 marker, not only these two: unzipper would follow it into its own ZIP64 parsing.
  const zip64 = buf.readUInt16LE(at + 4) === 0xffff || entries === 0xffff || directoryBytes === 0xffffffff || buf.readUInt32LE(at + 16) === 0xffffffff;
  if (zip64) throw bad('a ZIP64 archive; ferry files are never that large');
  // Up to twice the expected count reaches the per-entry checks, which name the exact problem
  // (a duplicate, a ../ name); beyond that the file is refused unread.
  if (entries > 2 * expectedEntries) throw bad(`declares ${entries} entries; a ferry file holds ${expectedEntries}`, ErrorCodes.ZIP_ENTRY_UNEXPECTED);
  if (directoryBytes > 2 * expectedEntries * (46 + 1024)) throw bad(`declares a ${directoryBytes}-byte central directory, far more than ${expectedEntries} entries need`);
}

/** Where an entry's data starts: after its local header, whose name must match the central directory's. */
async function localDataOffset(path: string, fh: FileHandle, headerOffset: number, name: string, size: number): Promise<number> {
  const bad = (why: string) => refusedError(ErrorCodes.ZIP_INVALID, `${path}: entry ${name}: ${why}`, { where: `${path}:${name}` });
  if (!Number.isSafeInteger(headerOffset) || headerOffset < 0 || headerOffset + 30 > size) throw bad('its local header is outside the file');
  const head = Buffer.alloc(30);
  await fh.read(head, 0, 30, headerOffset);
  if (head.readUInt32LE(0) !== 0x04034b50) throw bad('no local header where the directory says');
  const nameLength = head.readUInt16LE(26);
  const extraLength = head.readUInt16LE(28);
  const localName = Buffer.alloc(nameLength);
  await fh.read(localName, 0, nameLength, headerOffset + 30);
  if (localName.toString('utf8') !== name) throw bad('the local header names another entry');
  return headerOffset + 30 + nameLength + extraLength;
}

/** A small container built in memory (acks, rotation notices): the zip file's bytes. */
export async function containerBytes(entries: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const { ContainerWriter } = await import('./container-writer.js');
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  const w = new ContainerWriter(out);
  for (const e of entries) w.add(e);
  const ended = new Promise((resolve) => out.on('end', resolve));
  await Promise.all([w.finish().catch(() => undefined), ended]);
  return Buffer.concat(parts);
}
