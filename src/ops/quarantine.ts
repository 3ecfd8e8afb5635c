/**
 * Refused bundles are copied into HOME/quarantine with the reason; the drive is never touched.
 *
 * A drive can carry anything, so quarantine keeps only what an operator can use: a file that
 * passed the container checks (a junk file refused as not-a-ferry-file or zip-* is reported,
 * never copied), read without following a link (src/drive/drive-file.ts), hashed and copied as
 * a stream, and only while quarantine holds fewer than QUARANTINE_LIMITS; beyond that the bundle
 * is reported with quarantine-full and nothing is copied.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openDriveFile } from '../drive/drive-file.js';
import { ErrorCodes, refusedError, type ErrorCode, type FerryError } from '../errors.js';
import { ensureDir, HOME_FILES, writeFileDurably } from '../state/home.js';

export interface QuarantineEntry {
  file: string;
  original: string;
  at: string;
  reason: ReturnType<FerryError['toJSON']>;
}

export interface QuarantineLimits {
  /** refused files kept at most */
  maxFiles: number;
  /** their total size at most, in bytes */
  maxBytes: number;
}

/** docs/OPERATIONS.md "Quarantine" documents these. */
export const QUARANTINE_LIMITS: QuarantineLimits = { maxFiles: 200, maxBytes: 1024 ** 3 };

/** Refusals that mean "not a ferry file at all": such a file tells an operator nothing worth a copy. */
const CONTAINER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.NOT_A_FERRY_FILE,
  ErrorCodes.ZIP_INVALID,
  ErrorCodes.ZIP_ENTRY_UNEXPECTED,
  ErrorCodes.ZIP_ENTRY_DUPLICATE,
  ErrorCodes.ZIP_ENTRY_MISSING,
  ErrorCodes.ZIP_ENTRY_TOO_LARGE,
]);

export interface QuarantineResult {
  /** where the copy is (also when the same content was there already) */
  file?: string;
  /** why nothing was copied: a code of the refusal (not a ferry file), or the file was gone or unreadable */
  notCopied?: 'not-a-ferry-file' | 'unreadable';
  /** quarantine-full: over the limits, nothing copied */
  error?: FerryError;
}

const REASON_SUFFIX = '.reason.json';
const COPY_CHUNK = 1024 * 1024;

/** How many refused files quarantine holds, and their total size (reason files included). */
function usage(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    try {
      const st = lstatSync(join(dir, name));
      bytes += st.size;
      if (!name.endsWith(REASON_SUFFIX) && !name.startsWith('.')) files++;
    } catch {
      // removed meanwhile by an operator
    }
  }
  return { files, bytes };
}

/** A name from a drive may be up to 255 bytes: keep it readable and within the file system's limit. */
const keptName = (path: string) => basename(path).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);

/**
 * Copy `path` into quarantine (once per distinct content) and say where it went, or why not.
 * `limits` is a parameter so tests can reach them with a few files.
 */
export async function quarantine(home: string, path: string, reason: FerryError, at: string, limits: QuarantineLimits = QUARANTINE_LIMITS): Promise<QuarantineResult> {
  if (CONTAINER_CODES.has(reason.code)) return { notCopied: 'not-a-ferry-file' };
  const dir = join(home, HOME_FILES.quarantine);
  ensureDir(dir);
  let source;
  try {
    source = await openDriveFile(path);
  } catch (err) {
    return (err as FerryError).code === ErrorCodes.NOT_A_FERRY_FILE ? { notCopied: 'not-a-ferry-file' } : { notCopied: 'unreadable' };
  }
  const temp = join(dir, `.${randomBytes(8).toString('hex')}.partial`);
  let created = false;
  try {
    const size = source.identity.size;
    const used = usage(dir);
    if (used.files + 1 > limits.maxFiles || used.bytes + size > limits.maxBytes) {
      return {
        error: refusedError(
          ErrorCodes.QUARANTINE_FULL,
          `quarantine is full (${used.files} file(s), ${used.bytes} bytes; at most ${limits.maxFiles} files and ${limits.maxBytes} bytes): ${basename(path)} was refused but not copied`,
          {
            where: dir,
            hint: `the refused file is still on the drive; look at the files in ${dir} (\`ferry status\` lists them), keep what you need elsewhere, delete them, and import the drive again`,
          },
        ),
      };
    }
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
        } catch {
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
    const target = join(dir, `${hash.digest('hex').slice(0, 16)}-${keptName(path)}`);
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
