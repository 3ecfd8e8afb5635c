/**
 * Refused bundles are copied into HOME/quarantine with the reason; the drive is never touched.
 *
 * A drive can carry anything, and anyone can write one without a key, so quarantine keeps only
 * what an operator can use and what junk cannot crowd out:
 * - a bundle signed by a key this hub trusts or once trusted (a revoked facility's, a key retired
 *   by a rotation), whatever was refused after that: only a key holder can make one;
 * - a bundle whose manifest passed its checks but names a sender this hub does not know, kept
 *   for review (it may be a facility not enrolled yet) in a small room of its own, so that files
 *   claiming unknown senders cannot take the place of the rest;
 * - nothing else: a file refused before its signature was checked or whose signature does not
 *   verify (junk, not-a-ferry-file, zip-*, manifest-invalid, signature-invalid) is reported,
 *   never copied.
 * A copy is read without following a link (src/core/safe-file.ts), hashed and copied as a
 * stream, and made only within QUARANTINE_LIMITS; beyond them the bundle is reported with
 * quarantine-full and nothing is copied.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { openDriveFile } from '../core/safe-file.js';
import { ErrorCodes, FerryError, refusedError } from '../core/errors.js';
import { driveFileFailure } from '../node/item-failure.js';
import { ensureDir, HOME_FILES, writeFileDurably } from '../store/home.js';
import type { HubStore, QuarantineEntry } from '../store/hub-store.js';

export type { QuarantineEntry } from '../store/hub-store.js';

export interface QuarantineLimits {
  /** refused files kept at most, of every kind */
  maxFiles: number;
  /** their total size at most, in bytes */
  maxBytes: number;
  /** of those, files from senders this hub does not know, at most */
  unknownSenderFiles: number;
  /** and their total size at most, in bytes */
  unknownSenderBytes: number;
}

/** docs/OPERATIONS.md "Quarantine" documents these. */
export const QUARANTINE_LIMITS: QuarantineLimits = { maxFiles: 200, maxBytes: 1024 ** 3, unknownSenderFiles: 20, unknownSenderBytes: 64 * 1024 ** 2 };

/**
 * How far a refused file got, which decides whether quarantine keeps it:
 * - signed: its signature verified with a key this hub trusts or once trusted;
 * - unknown-sender: its manifest passed its checks, and names a sender this hub never trusted;
 * - unverified: anything else (refused before the signature was checked, or it does not verify).
 */
export type Standing = 'signed' | 'unknown-sender' | 'unverified';

export interface QuarantineResult {
  /** where the copy is (also when the same content was there already) */
  file?: string;
  /** why nothing was copied: not a ferry file, not signed by a key this hub knows, or the file was gone or unreadable */
  notCopied?: 'not-a-ferry-file' | 'unverified' | 'unreadable';
  /** quarantine-full: over the limits, nothing copied */
  error?: FerryError;
}

const REASON_SUFFIX = '.reason.json';
/** Copies of bundles from unknown senders are named so, and counted apart (kept names start with hex). */
const UNKNOWN_SENDER_PREFIX = 'signer-unknown-';
const COPY_CHUNK = 1024 * 1024;

interface Usage {
  files: number;
  bytes: number;
}

/** How many refused files quarantine holds and their total size (reason files included): all, and those from unknown senders. */
function usage(dir: string): { all: Usage; unknownSender: Usage } {
  const all = { files: 0, bytes: 0 };
  const unknownSender = { files: 0, bytes: 0 };
  for (const name of readdirSync(dir)) {
    try {
      const st = lstatSync(join(dir, name));
      const file = !name.endsWith(REASON_SUFFIX) && !name.startsWith('.') ? 1 : 0;
      all.bytes += st.size;
      all.files += file;
      if (name.startsWith(UNKNOWN_SENDER_PREFIX)) {
        unknownSender.bytes += st.size;
        unknownSender.files += file;
      }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err; // removed meanwhile by an operator
    }
  }
  return { all, unknownSender };
}

/** quarantine-full for `path`, or undefined when a copy of `size` bytes fits. */
function overLimits(dir: string, path: string, size: number, standing: Standing, limits: QuarantineLimits): FerryError | undefined {
  const used = usage(dir);
  const name = basename(path);
  const hint = `the refused file is still on the drive; look at the files in ${dir} (\`ferry status\` lists them), keep what you need elsewhere, delete them, and import the drive again`;
  if (used.all.files + 1 > limits.maxFiles || used.all.bytes + size > limits.maxBytes) {
    return refusedError(
      ErrorCodes.QUARANTINE_FULL,
      `quarantine is full (${used.all.files} file(s), ${used.all.bytes} bytes; at most ${limits.maxFiles} files and ${limits.maxBytes} bytes): ${name} was refused but not copied`,
      { where: dir, hint },
    );
  }
  const u = used.unknownSender;
  if (standing === 'unknown-sender' && (u.files + 1 > limits.unknownSenderFiles || u.bytes + size > limits.unknownSenderBytes)) {
    return refusedError(
      ErrorCodes.QUARANTINE_FULL,
      `quarantine is full for bundles from senders this hub does not know (${u.files} file(s), ${u.bytes} bytes; at most ${limits.unknownSenderFiles} files and ${limits.unknownSenderBytes} bytes): ${name} was refused but not copied`,
      {
        where: dir,
        hint: `the refused file is still on the drive; if its sender is a real facility, enrol it (\`ferry trust CARD\`) and import the drive again; delete the ${UNKNOWN_SENDER_PREFIX}* files in ${dir} you do not need`,
      },
    );
  }
  return undefined;
}

/** A name from a drive may be up to 255 bytes: keep it readable and within the file system's limit. */
const keptName = (path: string) => basename(path).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);

/**
 * Copy `path` into quarantine (once per distinct content) and say where it went, or why not.
 * `limits` is a parameter so tests can reach them with a few files.
 */
export async function quarantine(home: string, path: string, reason: FerryError, at: string, standing: Standing, limits: QuarantineLimits = QUARANTINE_LIMITS): Promise<QuarantineResult> {
  // Decided by how far the file got, not by the refusal's code: a signed bundle whose payload
  // entry is damaged (zip-invalid) is kept, junk claiming any code is not.
  if (standing === 'unverified') return { notCopied: 'unverified' };
  const dir = join(home, HOME_FILES.quarantine);
  ensureDir(dir);
  let source;
  try {
    source = await openDriveFile(path);
  } catch (err) {
    if (!(err instanceof FerryError)) throw err; // a bug, not an unreadable file
    return err.code === ErrorCodes.NOT_A_FERRY_FILE ? { notCopied: 'not-a-ferry-file' } : { notCopied: 'unreadable' };
  }
  const temp = join(dir, `.${randomBytes(8).toString('hex')}.partial`);
  let created = false;
  try {
    const size = source.identity.size;
    const full = overLimits(dir, path, size, standing, limits);
    if (full) return { error: full };
    const hash = createHash('sha256');
    const out = await open(temp, 'wx', 0o600);
    created = true;
    try {
      const buf = Buffer.alloc(Math.min(COPY_CHUNK, Math.max(size, 1)));
      // Up to the size checked against the limits, even if the file grows meanwhile.
      for (let pos = 0; pos < size; ) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await source.handle.read(buf, 0, Math.min(buf.length, size - pos), pos));
        } catch (err) {
          driveFileFailure(err, path);
          return { notCopied: 'unreadable' }; // the drive failed under us: nothing kept
        }
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        await out.write(chunk, 0, bytesRead);
        pos += bytesRead;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    const target = join(dir, `${standing === 'unknown-sender' ? UNKNOWN_SENDER_PREFIX : ''}${hash.digest('hex').slice(0, 16)}-${keptName(path)}`);
    if (existsSync(target)) {
      unlinkSync(temp);
    } else {
      renameSync(temp, target);
      writeFileDurably(`${target}${REASON_SUFFIX}`, `${JSON.stringify({ original: path, at, reason: reason.toJSON() }, null, 2)}\n`);
    }
    created = false;
    return { file: target };
  } finally {
    await source.handle.close();
    if (created) {
      try {
        unlinkSync(temp);
      } catch {
        /* already gone */
      }
    }
  }
}

/** The refused bundles quarantined at this hub: every station's records, or this home's folder where it is the only record. */
export async function listQuarantined(home: string, store: HubStore): Promise<QuarantineEntry[]> {
  const records = await store.quarantineRecords();
  if (!records) return listQuarantine(home);
  // This station's copies an operator has since deleted are not listed (other stations' are theirs to see).
  const here = hostname();
  return records.filter((r) => r.station !== here || existsSync(r.file));
}

export function listQuarantine(home: string): QuarantineEntry[] {
  const dir = join(home, HOME_FILES.quarantine);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(REASON_SUFFIX))
    .map((f) => {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<QuarantineEntry, 'file'>;
      return { file: join(dir, f.replace(/\.reason\.json$/, '')), ...r };
    })
    .sort((a, b) => a.at.localeCompare(b.at));
}
