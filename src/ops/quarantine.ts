/** Refused bundles are copied into HOME/quarantine with the reason; the drive is never touched. */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FerryError } from '../errors.js';
import { ensureDir, HOME_FILES, writeFileDurably } from '../state/home.js';

export interface QuarantineEntry {
  file: string;
  original: string;
  at: string;
  reason: ReturnType<FerryError['toJSON']>;
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
}

/** Copy `path` into quarantine (once per distinct content) and return where it went. */
export function quarantine(home: string, path: string, reason: FerryError, at: string): string | undefined {
  const dir = join(home, HOME_FILES.quarantine);
  ensureDir(dir);
  let id: string;
  try {
    id = fileHash(path);
  } catch {
    return undefined; // unreadable: nothing to keep
  }
  const target = join(dir, `${id}-${basename(path)}`);
  if (!existsSync(target)) {
    copyFileSync(path, target);
    writeFileDurably(`${target}.reason.json`, `${JSON.stringify({ original: path, at, reason: reason.toJSON() }, null, 2)}\n`);
  }
  return target;
}

export function listQuarantine(home: string): QuarantineEntry[] {
  const dir = join(home, HOME_FILES.quarantine);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.reason.json'))
    .map((f) => {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<QuarantineEntry, 'file'>;
      return { file: join(dir, f.replace(/\.reason\.json$/, '')), ...r };
    })
    .sort((a, b) => a.at.localeCompare(b.at));
}
