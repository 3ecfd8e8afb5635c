import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { acquireLock } from '../src/node/lock.js';
import { FerryError } from '../src/core/errors.js';
import { exportChanges } from '../src/facility/export.js';
import { FERRY_BIN, makeNetwork, ROOT, runCli, sql, tempDir } from './helpers/env.js';

test('a second ferry on the same node waits, or exits 4 (busy) with who holds the lock', async (t) => {
  const dir = tempDir(t);
  const held = await acquireLock(dir, 'import', 0);
  const err = await t.throwsAsync(acquireLock(dir, 'import', 300));
  t.is((err as FerryError).code, 'locked');
  t.is((err as FerryError).kind, 'busy');
  t.regex(err!.message, new RegExp(`pid ${process.pid}`));
  setTimeout(() => held.release(), 200);
  const second = await acquireLock(dir, 'import', 5000);
  t.true(existsSync(join(dir, 'lock')));
  second.release();
  t.false(existsSync(join(dir, 'lock')));
});

test('a stale lock left by a killed process is detected and cleared', async (t) => {
  const dir = tempDir(t);
  const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$" ']).toString().trim()); // a pid that has exited
  writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'import' }));
  const l = await acquireLock(dir, 'import', 0);
  t.is(l.clearedStale?.pid, dead);
  l.release();
});

/** Start the built CLI with the lock probe in it; `attempts()` is how often it has found the lock held so far. */
function probedCli(t: ExecutionContext, args: string[]) {
  const probe = join(tempDir(t), 'attempts');
  writeFileSync(probe, '');
  const child = spawn(process.execPath, [FERRY_BIN, ...args], {
    env: { ...process.env, FERRY_HOME: '', FERRY_TEST_LOCK_PROBE: probe, NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, 'test', 'helpers', 'lock-probe.mjs')).href}` },
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; at: number; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, at: Date.now(), stdout })));
  const attempts = () => readFileSync(probe, 'utf8').split('\n').filter(Boolean).length;
  return { child, exited, attempts };
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('two imports at once on the same hub never both apply: the CLI exits 4 for the loser, or with --wait queues behind the holder', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const held = await acquireLock(n.hub.home, 'import', 0);
  t.teardown(() => held.release());

  const busy = probedCli(t, ['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  const loser = await busy.exited;
  t.is(loser.code, 4);
  t.is(JSON.parse(loser.stdout).error.code, 'locked');
  t.is(busy.attempts(), 1, 'without --wait: one try at the lock, then it gives up');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles')[0]!.n, 0);

  const queued = probedCli(t, ['--home', n.hub.home, '--wait', '60', 'import', '--from', n.drive, '--json']);
  // Seen trying the lock twice: it started, found the lock held, and is waiting for it.
  await until('the waiting import has tried the lock twice (or exited)', () => queued.attempts() >= 2 || queued.child.exitCode !== null);
  t.is(queued.child.exitCode, null, 'still waiting while the lock is held');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles')[0]!.n, 0, 'nothing applied while it waits');
  const releasedAt = Date.now();
  held.release();
  const done = await queued.exited;
  t.is(done.code, 0, done.stdout);
  t.true(done.at >= releasedAt, 'it finished after the lock was released');
  t.is(JSON.parse(done.stdout).bundles[0].outcome, 'applied');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles')[0]!.n, 1);
});

test('bad configuration gives the configuration exit code (2)', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  t.is(runCli(['--home', n.sites[0]!.ctx.home, 'conflicts', '--json']).json.error.code, 'wrong-role');
  t.is(runCli(['--home', n.hub.home, 'track', '--table', 'patients']).code, 2, 'track at a hub: wrong role');
  t.is(runCli(['--home', n.sites[0]!.ctx.home, 'send', '--to', 'RW-002', '--all-from', 'RW-001']).code, 2, 'send at a facility: wrong role');
  t.is(runCli(['--home', join(n.root, 'nobody'), 'import', '--from', n.drive]).code, 2, 'no home');
  t.is(runCli(['--home', n.hub.home, 'import', '--from', join(n.root, 'unplugged')]).code, 2, 'no drive');
  execFileSync('mv', [n.hubDb, `${n.hubDb}.away`]);
  const r = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 2);
  t.is(r.json.error.code, 'database-missing');
  t.false(existsSync(n.hubDb), 'no empty hub database was created in its place');
});

test('a usage error yargs words over two lines reads as one line, with no visible \\n', (t) => {
  const r = runCli(['rescope', '--table', 'x', '--scope', 'bogus']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^ferry: error: Invalid values: Argument: scope, Given: "bogus", Choices: "facility", "shared"$/m);
  t.false(r.stderr.includes('\\n'));
});
