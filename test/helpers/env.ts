/** Shared test helpers: temporary folders cleaned up automatically, nodes, drives, the CLI. */
import type { ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSyntheaDb, SYNTHEA_TABLES } from '../../src/tools/demo/synthea.js';
import type { OpContext } from '../../src/node/context.js';
import { track } from '../../src/facility/track.js';
import { setUpNetwork } from '../../src/tools/harness/network.js';

/**
 * Every node a test makes is sealed with this passphrase at the lowest scrypt cost: the
 * passphrase code runs everywhere, and unlocking costs milliseconds instead of 0.6 s. The CLI
 * children inherit both. Tests of the passphrase itself set their own.
 */
export const TEST_PASSPHRASE = 'test passphrase for ferry';
process.env.FERRY_PASSPHRASE = TEST_PASSPHRASE;
process.env.FERRY_SCRYPT_LOG_N = '10';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FERRY_BIN = join(ROOT, 'bin', 'ferry');

export function tempDir(t: ExecutionContext, prefix = 'ferry-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A deterministic random source, for byte-for-byte reproducible output. */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

export interface Site {
  id: string;
  ctx: OpContext;
  db: string;
  card: string;
}

export interface Network {
  root: string;
  hub: OpContext;
  hubCard: string;
  hubDb: string;
  sites: Site[];
  drive: string;
}

/**
 * A hub and facilities that trust each other. Each facility's EMR holds the Synthea sample
 * (or the part `patients` selects) unless `emptyDb` is set; nothing is tracked unless `trackAll`.
 */
export async function makeNetwork(
  t: ExecutionContext,
  o: { facilities?: string[]; patients?: Array<(i: number) => boolean>; trackAll?: boolean; emptyDb?: boolean; hubId?: string; hubDb?: string } = {},
): Promise<Network> {
  const root = tempDir(t);
  const facilities = (o.facilities ?? ['RW-001']).map((id, i) => {
    const db = join(root, `${id.toLowerCase()}-emr.db`);
    if (o.emptyDb) new Database(db).close();
    else buildSyntheaDb(db, o.patients?.[i] ? { patientFilter: o.patients[i] } : {});
    return { id, db };
  });
  const n = await setUpNetwork(root, { hub: { id: o.hubId ?? 'HUB-1', name: 'Test hub', ...(o.hubDb ? { db: o.hubDb } : {}) }, facilities });
  const drive = join(root, 'drive');
  mkdirSync(drive);
  const sites: Site[] = n.sites.map(({ id, ctx, db, card }) => ({ id, ctx, db, card }));
  if (o.trackAll) for (const s of sites) await trackSynthea(s.ctx);
  return { root, hub: n.hub, hubCard: n.hubCard, hubDb: o.hubDb ?? join(root, 'hub', 'hub.db'), sites, drive };
}

export async function trackSynthea(ctx: OpContext): Promise<void> {
  for (const t of SYNTHEA_TABLES) await track(ctx, { tables: [t.name], ...(t.trackKey ? { key: t.trackKey } : {}) });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Run the built CLI as a user would. */
export function runCli(args: string[], o: { env?: Record<string, string>; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [FERRY_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FERRY_HOME: '', ...o.env },
    ...(o.input !== undefined ? { input: o.input } : {}),
  });
  let json: unknown;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** Run the built CLI without blocking this process (so timers in the test keep running). */
export function runCliAsync(args: string[], o: { env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], { env: { ...process.env, FERRY_HOME: '', ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = args.includes('--json') ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

/** Every row of a table with each value's SQLite type, in key order: for exact comparisons. */
export function typedRows(dbPath: string, table: string, key: string[]): Array<Array<[string, unknown]>> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>).map((c) => c.name).filter((c) => !c.startsWith('ferry_'));
    const sel = cols.map((c) => `typeof("${c}"), "${c}"`).join(', ');
    const stmt = db.prepare(`SELECT ${sel} FROM "${table}" ORDER BY ${key.map((k) => `"${k}"`).join(', ')}`);
    stmt.raw(true);
    stmt.safeIntegers(true);
    return (stmt.all() as unknown[][]).map((r) => cols.map((c, i) => [`${c}:${r[2 * i]}`, r[2 * i + 1] instanceof Buffer ? (r[2 * i + 1] as Buffer).toString('hex') : r[2 * i + 1]] as [string, unknown]));
  } finally {
    db.close();
  }
}

/** Only the columns both sides have (the hub may hold columns another facility added). */
export function typedRowsCols(dbPath: string, table: string, key: string[], cols: string[]): unknown[][] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const stmt = db.prepare(`SELECT ${cols.map((c) => `typeof("${c}"), quote("${c}")`).join(', ')} FROM "${table}" ORDER BY ${key.map((k) => `"${k}"`).join(', ')}`);
    stmt.raw(true);
    return stmt.all() as unknown[][];
  } finally {
    db.close();
  }
}

export function sql<T = unknown>(dbPath: string, query: string, ...params: unknown[]): T[] {
  const db = new Database(dbPath);
  try {
    const stmt = db.prepare(query);
    return stmt.reader ? (stmt.all(...params) as T[]) : (stmt.run(...params), []);
  } finally {
    db.close();
  }
}
