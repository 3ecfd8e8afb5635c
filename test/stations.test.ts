/**
 * Several import stations on one PostgreSQL hub (issue 15): each station is a copy of the hub's
 * home folder, and everything they must share is in the database. Real CLI processes, a real
 * PostgreSQL server; nothing mocked.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { compareHubRows } from '../src/tools/harness/hub-rows.js';
import { SYNTHEA_TABLES } from '../src/tools/demo/synthea.js';
import { startPostgres, PASSWORD_ROLE, PASSWORD_ROLE_SECRET, type PostgresServer } from '../src/tools/harness/postgres-server.js';
import { FERRY_BIN, makeNetwork, runCli, runCliAsync, sql, tempDir, type Network } from './helpers/env.js';
import { hasPostgres, usePostgres } from './helpers/postgres.js';

const pgTest = hasPostgres() ? test : test.skip;
const server = hasPostgres() ? usePostgres(test) : undefined;

const FACILITIES = ['RW-001', 'RW-002', 'RW-003'];

/** Three facilities, their patients apart, sending to a hub on a new PostgreSQL database; station 2 is a copy of the hub's home. */
async function stations(t: ExecutionContext): Promise<{ n: Network; station1: string; station2: string; url: string; pg: PostgresServer }> {
  const pg = await server!();
  const url = pg.createDatabase('stations');
  const n = await makeNetwork(t, { facilities: FACILITIES, patients: [(i) => i % 3 === 0, (i) => i % 3 === 1, (i) => i % 3 === 2], trackAll: true, hubDb: url });
  const station2 = join(n.root, 'station-2');
  cpSync(n.hub.home, station2, { recursive: true });
  return { n, station1: n.hub.home, station2, url, pg };
}

const query = (pg: PostgresServer, url: string, text: string) => pg.psql(text, new URL(url).pathname.slice(1)).trim();

async function rowsEqual(t: ExecutionContext, n: Network): Promise<void> {
  for (const table of SYNTHEA_TABLES) {
    const c = await compareHubRows(n.hub, table.name, n.sites.map((s) => ({ id: s.id, db: s.db })));
    t.like(c, { missing: 0, extra: 0 }, `${table.name}: the hub holds every facility's rows`);
  }
}

/** Run the CLI and kill it (SIGKILL: no clean-up of any kind) after `ms`. */
function killedAfter(args: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], { env: { ...process.env, FERRY_HOME: '' }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const bundlesOn = (drive: string) => (existsSync(join(drive, 'FERRY', 'bundles')) ? readdirSync(join(drive, 'FERRY', 'bundles')).filter((f) => f.endsWith('.ferry-bundle')) : []);

pgTest('two stations import two drives with overlapping bundles from three facilities at once: each bundle applied once, rows equal, both drives\' acks clear the facilities', async (t) => {
  const { n, station1, station2, url, pg } = await stations(t);
  const driveA = join(n.root, 'drive-a');
  const driveB = join(n.root, 'drive-b');
  mkdirSync(driveA);
  // Small bundles, so each facility's changes are several bundles on a drive.
  for (const s of n.sites) await exportChanges(s.ctx, { to: driveA, maxBundleBytes: 64 * 1024 });
  // The courier's second copy: the same bundles on another drive.
  cpSync(driveA, driveB, { recursive: true });
  // Later changes at two facilities go on drive A only.
  for (const s of n.sites.slice(0, 2)) {
    sql(s.db, `INSERT INTO organizations ("Id", "NAME") VALUES ('org-new-${s.id}', 'New clinic ${s.id}')`);
    await exportChanges(s.ctx, { to: driveA, maxBundleBytes: 64 * 1024 });
  }
  const onA = bundlesOn(driveA);
  const onB = bundlesOn(driveB);
  t.true(onB.every((f) => onA.includes(f)) && onA.length > onB.length, 'drive B holds a copy of some of drive A\'s bundles');

  const [a, b] = await Promise.all([
    runCliAsync(['--home', station1, '--json', 'import', '--from', driveA]),
    runCliAsync(['--home', station2, '--json', 'import', '--from', driveB]),
  ]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  const outcomes = [...a.json.bundles, ...b.json.bundles].map((x: { outcome: string }) => x.outcome);
  t.true(outcomes.every((o) => o === 'applied' || o === 'already-applied'), outcomes.join(','));
  t.is(outcomes.filter((o) => o === 'applied').length, onA.length, 'every distinct bundle applied exactly once, by one station or the other');

  t.is(query(pg, url, 'SELECT count(*) FROM ferry_bundles'), String(onA.length), 'the ledger holds each bundle once');
  t.is(query(pg, url, 'SELECT count(*) FROM (SELECT bundle_id FROM ferry_bundles GROUP BY 1 HAVING count(*) > 1) d'), '0');
  await rowsEqual(t, n);

  // Both drives' acks are valid: the facilities read drive B's first, then A's, and nothing stays pending.
  for (const s of n.sites) {
    for (const drive of [driveB, driveA]) {
      const r = runCli(['--home', s.ctx.home, '--json', 'import', '--from', drive]);
      t.is(r.code, 0, r.stderr);
    }
    const st = runCli(['--home', s.ctx.home, '--json', 'status']);
    t.is(st.json.pending, 0, `${s.id} has nothing left to send`);
  }
});

pgTest('a revocation made at station 2 refuses the next bundle at station 1', async (t) => {
  const { n, station1, station2 } = await stations(t);
  const drive = n.drive;
  const revoked = runCli(['--home', station2, 'revoke', 'RW-003', '--reason', 'laptop stolen']);
  t.is(revoked.code, 0, revoked.stderr);
  await exportChanges(n.sites[2]!.ctx, { to: drive });
  await exportChanges(n.sites[0]!.ctx, { to: drive });
  const r = runCli(['--home', station1, '--json', 'import', '--from', drive]);
  t.is(r.code, 1, 'one bundle refused, the other applied');
  const by = Object.fromEntries(r.json.bundles.map((x: { sender: string; outcome: string; reason?: { code: string } }) => [x.sender, x]));
  t.like(by['RW-003'], { outcome: 'refused', reason: { code: 'signer-revoked' } });
  t.is(by['RW-001'].outcome, 'applied');
  const log = runCli(['--home', station1, '--json', 'log']);
  t.true(JSON.stringify(log.json).includes('laptop stolen'), "station 1's log shows station 2's revocation");
  // The refused bundle was copied into station 1's quarantine; station 2's status lists it, and where the copy is.
  const st2 = runCli(['--home', station2, '--json', 'status']);
  t.is(st2.code, 0, st2.stderr);
  t.is(st2.json.quarantined.length, 1);
  t.like(st2.json.quarantined[0], { station: hostname(), reason: { code: 'signer-revoked' } });
  t.true((st2.json.quarantined[0].file as string).startsWith(join(station1, 'quarantine')), 'the copy is in station 1\'s folder');
  t.regex(st2.json.store, /^PostgreSQL database stations_/);
});

pgTest('a station killed in the middle of an import leaves all or nothing of each bundle, and the import completes when run again', async (t) => {
  const { n, station1, url, pg } = await stations(t);
  const drive = n.drive;
  for (const s of n.sites) await exportChanges(s.ctx, { to: drive });
  const total = bundlesOn(drive).length;
  // Kills later and later until one comes after the last bundle: the machine's speed decides which
  // kills fall inside a bundle's transaction (the power-cut harness makes many more).
  for (let delay = 60, ledger = 0; ledger < total; delay = Math.round(delay * 1.4)) {
    await killedAfter(['--home', station1, 'import', '--from', drive], delay);
    // All or nothing: every bundle in the ledger has its rows, no rows without a ledger row.
    ledger = Number(query(pg, url, 'SELECT count(*) FROM ferry_bundles'));
    t.true(ledger <= total);
    t.log(`killed at ${delay} ms: ${ledger} of ${total} bundles applied`);
    const origins = query(pg, url, 'SELECT DISTINCT origin FROM ferry_bundles ORDER BY 1').split('\n').filter(Boolean);
    // (before the first commit the table itself is not there: its creation is part of the bundle)
    const made = query(pg, url, "SELECT to_regclass('patients') IS NOT NULL") === 't';
    const withRows = made ? query(pg, url, 'SELECT DISTINCT ferry_origin FROM patients ORDER BY 1').split('\n').filter(Boolean) : [];
    t.deepEqual(withRows, origins, `after a kill at ${delay} ms: rows only of applied bundles`);
  }
  const again = runCli(['--home', station1, '--json', 'import', '--from', drive]);
  t.is(again.code, 0, again.stderr);
  t.is(query(pg, url, 'SELECT count(*) FROM ferry_bundles'), String(total));
  await rowsEqual(t, n);
});

pgTest('a PostgreSQL server that is down or refuses the login: a clear error and exit code, no stack trace, nothing quarantined', async (t) => {
  // A server of its own, to stop.
  const own = await startPostgres();
  t.teardown(() => own.stop());
  own.psql(`CREATE DATABASE pwdb OWNER ${PASSWORD_ROLE}`);
  const url = `postgresql:///pwdb?host=${encodeURIComponent(own.socketDir)}&port=${own.port}&user=${PASSWORD_ROLE}`;
  const env = { PGPASSWORD: PASSWORD_ROLE_SECRET };
  process.env.PGPASSWORD = PASSWORD_ROLE_SECRET;
  let n: Network;
  try {
    n = await makeNetwork(t, { facilities: ['RW-001'], trackAll: true, hubDb: url });
  } finally {
    delete process.env.PGPASSWORD;
  }
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const home = n.hub.home;

  const wrong = runCli(['--home', home, 'import', '--from', n.drive], { env: { PGPASSWORD: 'not the password' } });
  t.is(wrong.code, 2, wrong.stderr);
  t.regex(wrong.stderr, /cannot log in to the hub's PostgreSQL database pwdb as ferry_pw/);
  t.notRegex(wrong.stderr, /not the password|at .*\.js:\d+/);

  const none = runCli(['--home', home, 'status'], { env: { PGPASSWORD: '' } });
  t.is(none.code, 2, none.stderr);
  t.regex(none.stderr, /asks for a password, and none is given/);

  const ok = runCli(['--home', home, 'status'], { env });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /database: PostgreSQL database pwdb as ferry_pw at /);
  t.notRegex(ok.stdout, new RegExp(PASSWORD_ROLE_SECRET));

  await own.stop();
  const down = runCli(['--home', home, 'import', '--from', n.drive], { env });
  t.is(down.code, 3, down.stderr);
  t.regex(down.stderr, /cannot reach the hub's PostgreSQL database pwdb/);
  t.notRegex(down.stderr, /at .*\.js:\d+/);
  t.false(existsSync(join(home, 'quarantine')) && readdirSync(join(home, 'quarantine')).length > 0, 'nothing quarantined');
  t.is(bundlesOn(n.drive).length, 1, 'the bundle is still on the drive');
});

pgTest('ferry init refuses a PostgreSQL URL holding a password, and a password file others may read', async (t) => {
  const pg = await server!();
  const url = pg.createDatabase('init');
  const root = tempDir(t);
  const withPassword = url.replace('postgresql:///', 'postgresql://postgres:hunter2@localhost/');
  const r = runCli(['--home', join(root, 'a'), 'init', '--role', 'hub', '--id', 'HUB-1', '--db', withPassword]);
  t.is(r.code, 2);
  t.regex(r.stderr, /holds a password/);
  t.notRegex(r.stderr, /hunter2/);
  t.false(existsSync(join(root, 'a', 'node.json')));

  const file = join(root, 'password');
  writeFileSync(file, 'whatever\n', { mode: 0o644 });
  chmodSync(file, 0o644);
  const loose = runCli(['--home', join(root, 'b'), 'init', '--role', 'hub', '--id', 'HUB-1', '--db', url, '--db-password-file', file]);
  t.is(loose.code, 2);
  t.regex(loose.stderr, /may be read by others \(mode 644\)/);
  t.regex(loose.stderr, /chmod 600/);

  chmodSync(file, 0o600);
  const ok = runCli(['--home', join(root, 'c'), '--json', 'init', '--role', 'hub', '--id', 'HUB-1', '--db', url, '--db-password-file', file]);
  t.is(ok.code, 0, ok.stderr);
  const config = JSON.parse(readFileSync(join(root, 'c', 'node.json'), 'utf8'));
  t.like(config, { db: url, db_password_file: file });
  t.false(JSON.stringify(config).includes('whatever'), 'node.json names the file, never the password');
  const again = runCli(['--home', join(root, 'd'), 'init', '--role', 'hub', '--id', 'HUB-2', '--db', url]);
  t.is(again.code, 2);
  t.regex(again.stderr, /already holds a ferry hub/);
});

pgTest('conflicts, resolve, log and watch work on a PostgreSQL hub as on SQLite', async (t) => {
  const pg = await server!();
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true, hubDb: pg.createDatabase('faces') });
  for (const s of n.sites) {
    sql(s.db, 'CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT)');
    sql(s.db, "INSERT INTO location VALUES ('loc-1', 'Kigali')");
    t.is(runCli(['--home', s.ctx.home, 'track', '--table', 'location', '--shared']).code, 0);
  }
  const media = join(n.root, 'media');
  const usb = join(media, 'COURIER');
  mkdirSync(usb, { recursive: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: usb });
  const watched = runCli(['--home', n.hub.home, '--json', 'watch', '--once', '--mount-root', media]);
  t.is(watched.code, 0, watched.stderr);
  t.is(query(pg, n.hubDb, 'SELECT count(*) FROM ferry_bundles'), '2', 'watch imported the drive');
  // Both edit the row they agreed on: one conflict.
  sql(n.sites[0]!.db, "UPDATE location SET name = 'Kigali City' WHERE uuid = 'loc-1'");
  sql(n.sites[1]!.db, "UPDATE location SET name = 'Kigali Town' WHERE uuid = 'loc-1'");
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  t.is(runCli(['--home', n.hub.home, 'import', '--from', n.drive]).code, 0);
  const list = runCli(['--home', n.hub.home, '--json', 'conflicts']);
  t.is(list.code, 0, list.stderr);
  t.is(list.json.conflicts.length, 1);
  const c = list.json.conflicts[0];
  const resolved = runCli(['--home', n.hub.home, '--json', 'conflicts', 'resolve', String(c.id), '--keep', 'other']);
  t.is(resolved.code, 0, resolved.stderr);
  t.like(resolved.json, { kept: 'other', changed: true });
  t.is(query(pg, n.hubDb, "SELECT name FROM location WHERE uuid = 'loc-1'"), c.other.row.name, 'the table holds the version kept');
  t.is(runCli(['--home', n.hub.home, '--json', 'conflicts']).json.conflicts.length, 0);
  const log = runCli(['--home', n.hub.home, '--json', 'log']);
  t.is(log.code, 0, log.stderr);
  t.true(log.json.entries.some((e: { action: string }) => e.action === 'conflict-resolve'), 'the resolution is in the audit log');
});
