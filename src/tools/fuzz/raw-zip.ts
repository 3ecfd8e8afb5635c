/** A raw zip writer for broken-on-purpose containers (names and layouts archiver would not write), for the fuzzer and the tests. */
import { crc32 } from 'node:zlib';
import unzipper from 'unzipper';

export interface RawEntry {
  name: string | Buffer;
  data: Buffer;
  /** external attributes (high 16 bits: Unix mode, e.g. 0o120777 for a symlink) */
  externalAttributes?: number;
  /** 0 stored (default), 8 deflate (data must then be raw deflate) */
  method?: number;
  uncompressedSize?: number;
}

export function buildZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
    const crc = crc32(e.data) >>> 0;
    const size = e.uncompressedSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(e.method ?? 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, e.data);
    // The central header repeats the local header's fields two bytes further on (APPNOTE 4.3.7,
    // 4.3.12): both stay written out offset by offset, to be read against the specification.
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(e.method ?? 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    if (e.externalAttributes !== undefined) {
      central.writeUInt16LE(0x0314, 4); // made by Unix
      central.writeUInt32LE(e.externalAttributes >>> 0, 38);
    }
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The entries of a (good) zip, by name, in order. */
export async function readZipEntries(path: string): Promise<Array<{ name: string; data: Buffer }>> {
  const dir = await unzipper.Open.file(path);
  const out: Array<{ name: string; data: Buffer }> = [];
  for (const f of dir.files) out.push({ name: f.path, data: await f.buffer() });
  return out;
}
