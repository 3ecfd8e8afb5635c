/**
 * fixtures/hub-v1: a hub and two health centres as the ferry before issue 14 left them (see its
 * README.md), copied for one test: node.json pointed at the copy, and the files made private
 * again (git keeps no modes; ferry refuses a secret key others can read).
 */
import type { ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeContext, type OpContext } from '../../src/node/context.js';
import { ROOT, tempDir } from './env.js';

export const HUB_V1 = join(ROOT, 'fixtures', 'hub-v1');

export interface HubV1 {
  root: string;
  hub: OpContext;
  hubDb: string;
  /** RW-017 and RW-021, whose patient ids collide */
  sites: Array<{ id: string; ctx: OpContext; emr: string }>;
  /** an empty drive folder */
  drive: string;
}

export function copyHubV1(t: ExecutionContext): HubV1 {
  const root = tempDir(t, 'ferry-hub-v1-');
  cpSync(HUB_V1, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
  const point = (home: string, db: string) => {
    const file = join(root, home, 'node.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), db }, null, 2));
  };
  point('hub', join(root, 'hub', 'hub.db'));
  point('rw-017', join(root, 'emr-rw-017.db'));
  point('rw-021', join(root, 'emr-rw-021.db'));
  for (const home of ['hub', 'rw-017', 'rw-021']) {
    chmodSync(join(root, home), 0o700);
    for (const f of readdirSync(join(root, home))) if (f.endsWith('.db') || f === 'secret-key.json') chmodSync(join(root, home, f), 0o600);
  }
  const drive = join(root, 'drive');
  mkdirSync(drive);
  return {
    root,
    hub: makeContext(join(root, 'hub')),
    hubDb: join(root, 'hub', 'hub.db'),
    sites: ['RW-017', 'RW-021'].map((id) => ({ id, ctx: makeContext(join(root, id.toLowerCase())), emr: join(root, `emr-${id.toLowerCase()}.db`) })),
    drive,
  };
}

/** Every table of a database with its rows, and its schema version: equal dumps, same content. */
export function dump(path: string): Record<string, unknown> {
  const db = new Database(path, { readonly: true });
  try {
    const out: Record<string, unknown> = { user_version: db.pragma('user_version', { simple: true }) };
    const schema = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as Array<{ type: string; name: string; sql: string }>;
    out.schema = schema;
    for (const { name } of schema.filter((s) => s.type === 'table')) {
      const rows = db.prepare(`SELECT * FROM "${name}"`).safeIntegers(true).raw(true).all() as unknown[][];
      out[name] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).sort();
    }
    return out;
  } finally {
    db.close();
  }
}
