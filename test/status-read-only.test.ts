/**
 * `ferry status` only reads (the TUI runs it on every refresh, beside a running export): a
 * tracked table that gained a column is reported, not re-tracked, and the EMR is left as it was;
 * the node's own files and databases (and `ferry inspect`'s) are left byte for byte as they were.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from '../src/courier/inspect.js';
import { exportChanges } from '../src/facility/export.js';
import { track } from '../src/facility/track.js';
import { acquireLock } from '../src/node/lock.js';
import { rotateKeys } from '../src/node/rotate.js';
import { importDrive } from '../src/roles/import.js';
import { status } from '../src/roles/status.js';
import { makeNetwork, runCli, sql } from './helpers/env.js';

const bytes = (path: string) => (existsSync(path) ? readFileSync(path) : Buffer.alloc(0));

test('status on a facility whose tracked table gained a column leaves the EMR byte for byte as it was, and needs no lock', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  sql(site.db, 'ALTER TABLE patients ADD COLUMN PHONE TEXT');
  const schema = sql(site.db, 'SELECT type, name, sql FROM sqlite_master ORDER BY name');
  const before = [bytes(site.db), bytes(`${site.db}-wal`)];
  // Another ferry holds the node's lock (an export running): status neither waits nor fails.
  const lock = await acquireLock(site.ctx.home, 'export', 0);
  try {
    const st = await status(site.ctx);
    t.is(st.role, 'facility');
    if (st.role !== 'facility') return;
    t.deepEqual(st.tracking_needs_refresh, ['patients'], 'the change is reported for the next export to pick up');
    t.true(st.pending > 0);
  } finally {
    lock.release();
  }
  t.true(bytes(site.db).equals(before[0]!), 'the EMR file is unchanged');
  t.true(bytes(`${site.db}-wal`).equals(before[1]!), 'and so is its write-ahead log');
  t.deepEqual(sql(site.db, 'SELECT type, name, sql FROM sqlite_master ORDER BY name'), schema, 'no log column, no trigger changed');
});

test('status on a facility whose EMR ferry has not tracked yet creates nothing in it', async (t) => {
  const n = await makeNetwork(t, {});
  const site = n.sites[0]!;
  const before = sql(site.db, 'SELECT name FROM sqlite_master ORDER BY name');
  const st = await status(site.ctx);
  t.like(st, { role: 'facility', pending: 0, tracked: [] });
  t.deepEqual(sql(site.db, 'SELECT name FROM sqlite_master ORDER BY name'), before, 'no ferry_clock or ferry_tables made by a read');
});

/** Every file of a node's home (and the hub database, wherever it is), byte for byte. */
function snapshot(...places: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) for (const f of readdirSync(path)) walk(join(path, f));
    else out.set(path, readFileSync(path));
  };
  for (const p of places) walk(p);
  return out;
}

/**
 * Nothing made, removed or changed. One allowance, SQLite's: a read-only connection to a WAL
 * database needs the -shm index beside it (readers keep their marks there) and an empty -wal,
 * and cannot remove them when it closes; the next writer does. The databases themselves, and
 * any -wal with content, are compared byte for byte.
 */
function assertUnchanged(t: ExecutionContext, before: Map<string, Buffer>, after: Map<string, Buffer>, what: string) {
  const sqliteCompanion = (path: string) => path.endsWith('-shm') || (path.endsWith('-wal') && !before.has(path) && after.get(path)!.length === 0);
  t.deepEqual([...after.keys()].filter((p) => !sqliteCompanion(p)).sort(), [...before.keys()].filter((p) => !p.endsWith('-shm')).sort(), `${what}: no file made or removed`);
  for (const [path, bytes] of before) if (!path.endsWith('-shm')) t.true(after.get(path)?.equals(bytes), `${what}: ${path} byte for byte as it was`);
}

/** A network where the hub has imported and the facility has read the ack, so every database holds something. */
async function roundTrip(t: ExecutionContext) {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  await importDrive(n.sites[0]!.ctx, { from: n.drive });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive }); // a bundle on the drive for inspect to check
  return n;
}

test('status and inspect at a facility and at a hub leave node.json, the keys, the card, state.db and hub.db byte for byte as they were', async (t) => {
  const n = await roundTrip(t);
  const site = n.sites[0]!;
  for (const [who, ctx, places] of [
    ['facility', site.ctx, [site.ctx.home]],
    ['hub', n.hub, [n.hub.home, n.hubDb]],
  ] as const) {
    const before = snapshot(...places);
    t.like(await status(ctx), { role: who });
    assertUnchanged(t, before, snapshot(...places), `status at the ${who}`);
    const seen = await inspect(ctx, { path: n.drive });
    t.true(seen.items.length > 0);
    assertUnchanged(t, before, snapshot(...places), `inspect at the ${who}`);
  }
});

test('status during a key rotation cut short shows the decided key but leaves finishing it to a command that holds the lock', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const home = n.sites[0]!.ctx.home;
  const before = { secret: readFileSync(join(home, 'secret-key.json'), 'utf8'), card: readFileSync(join(home, 'identity.json'), 'utf8') };
  const r = await rotateKeys(n.sites[0]!.ctx);
  const after = { secret: readFileSync(join(home, 'secret-key.json'), 'utf8'), card: readFileSync(join(home, 'identity.json'), 'utf8') };
  sql(join(home, 'state.db'), 'UPDATE ferry_own_rotations SET pending_secret = ?, pending_card = ?', after.secret, after.card);
  writeFileSync(join(home, 'secret-key.json'), before.secret, { mode: 0o600 });
  writeFileSync(join(home, 'identity.json'), before.card);
  const files = snapshot(home);
  // Another ferry holds the lock: whatever status did to the key files would race it.
  const lock = await acquireLock(home, 'export', 0);
  try {
    t.is((await status(n.sites[0]!.ctx)).fingerprint, r.new_fingerprint);
    await inspect(n.sites[0]!.ctx, { path: n.drive });
  } finally {
    lock.release();
  }
  assertUnchanged(t, files, snapshot(home), 'status and inspect during a pending rotation');
});

test('a lost state.db is not replaced by an empty one: status and inspect say so, and create nothing', async (t) => {
  const n = await makeNetwork(t, {});
  for (const ctx of [n.sites[0]!.ctx, n.hub]) {
    const state = join(ctx.home, 'state.db');
    rmSync(state);
    const r = runCli(['--home', ctx.home, 'status', '--json']);
    t.is(r.code, 2, r.stdout + r.stderr);
    t.is(r.json?.error?.code, 'database-missing');
    t.regex(r.json?.error?.hint ?? '', /restore the node folder .* from its backup/);
    t.false(existsSync(state), 'no empty trust store left behind');
    await t.throwsAsync(inspect(ctx, { path: n.drive }), { message: /state database .* does not exist/ });
    t.false(existsSync(state));
  }
});

test('status refuses a hub database or state database an older ferry made, and leaves it unmigrated', async (t) => {
  const n = await makeNetwork(t, {});
  sql(n.hubDb, 'PRAGMA user_version = 0');
  const before = snapshot(n.hub.home, n.hubDb);
  const r = runCli(['--home', n.hub.home, 'status', '--json']);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.is(r.json?.error?.code, 'database-outdated');
  t.regex(r.json?.error?.hint ?? '', /ferry migrate/);
  assertUnchanged(t, before, snapshot(n.hub.home, n.hubDb), 'a refused status');
  const site = n.sites[0]!;
  sql(join(site.ctx.home, 'state.db'), 'ALTER TABLE ferry_exports DROP COLUMN carried');
  const stale = snapshot(site.ctx.home);
  await t.throwsAsync(status(site.ctx), { message: /older ferry/ });
  assertUnchanged(t, stale, snapshot(site.ctx.home), 'a refused status at the facility');
  // A command that changes state migrates it; then status reads it.
  await track(site.ctx, { tables: ['patients'] });
  t.like(await status(site.ctx), { role: 'facility' });
});
