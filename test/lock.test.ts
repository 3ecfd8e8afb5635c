import test from 'ava';
import { execFileSync } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../src/node/lock.js';
import { FerryError } from '../src/core/errors.js';
import { exportChanges } from '../src/facility/export.js';
import { makeNetwork, runCli, runCliAsync, sql, tempDir } from './helpers/env.js';

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

test('two imports at once on the same hub never both apply: the CLI exits 4 for the loser', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const held = await acquireLock(n.hub.home, 'import', 0);
  const busy = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(busy.code, 4);
  t.is(busy.json.error.code, 'locked');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles')[0]!.n, 0);
  // --wait queues behind the holder (released from a timer while the CLI waits)
  setTimeout(() => held.release(), 500);
  const queued = await runCliAsync(['--home', n.hub.home, '--wait', '10', 'import', '--from', n.drive, '--json']);
  t.is(queued.code, 0, queued.stdout);
  t.is(queued.json.bundles[0].outcome, 'applied');
});

test('bad configuration gives the configuration exit code (2)', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  t.is(runCli(['--home', n.sites[0]!.ctx.home, 'conflicts', '--json']).json.error.code, 'wrong-role');
  t.is(runCli(['--home', n.hub.home, 'export', '--to', n.drive]).code, 2, 'export at a hub: wrong role');
  t.is(runCli(['--home', join(n.root, 'nobody'), 'import', '--from', n.drive]).code, 2, 'no home');
  t.is(runCli(['--home', n.hub.home, 'import', '--from', join(n.root, 'unplugged')]).code, 2, 'no drive');
  execFileSync('mv', [n.hubDb, `${n.hubDb}.away`]);
  const r = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 2);
  t.is(r.json.error.code, 'database-missing');
  t.false(existsSync(n.hubDb), 'no empty hub database was created in its place');
});
