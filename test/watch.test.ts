import test from 'ava';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { asFerryError } from '../src/core/errors.js';
import { makeContext } from '../src/node/context.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { findDrives, watch, type WatchEvent } from '../src/roles/watch.js';
import { FERRY_BIN, makeNetwork, runCli, sql, tempDir } from './helpers/env.js';

test('watch imports each drive once per insertion, and again when it is plugged back in', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: [(i) => i < 14, (i) => i >= 14], trackAll: true });
  const media = join(n.root, 'media');
  const usb = join(media, 'user', 'COURIER');
  mkdirSync(usb, { recursive: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: usb });
  const events: WatchEvent[] = [];
  const controller = new AbortController();
  const away = join(n.root, 'away');
  // One watch throughout, as in a real office: the test unplugs and replugs between its looks.
  const seenAt: Record<number, number> = {};
  let polls = 0;
  await watch(makeContext(n.hub.home), {
    mountRoots: [media],
    intervalMs: 5,
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    onPoll: (p) => {
      polls = p;
      seenAt[p] = events.length;
      if (p === 3) renameSync(usb, away); // unplugged
      if (p === 4) renameSync(away, usb); // plugged back in: the same folder, the same inode
      if (p === 6) controller.abort();
    },
  });
  t.is(polls, 6, 'watch looks again after each interval until it is stopped');
  t.deepEqual(seenAt, { 1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2 }, 'one import per insertion: none while it stays, none while it is out, one when it is back');
  const r = events[0]!.result as HubImportResult;
  t.deepEqual(r.bundles.map((b) => b.outcome), ['applied', 'applied']);
  t.is(r.acks_written.length, 2, 'one ack per bundle, on the same drive: a courier route');
  t.deepEqual((events[1]!.result as HubImportResult).bundles.map((b) => b.outcome), ['already-applied', 'already-applied']);
  // Each facility takes only its own acks from the courier's drive.
  for (const s of n.sites) {
    const f = await importDrive(s.ctx, { from: usb });
    t.is(f.role === 'facility' && f.pending, 0);
    t.is(f.role === 'facility' && f.acks.filter((a) => a.outcome === 'not-ours').length, 1);
  }
});

test('a watch that polls for long leaves no listener behind on its stop signal', async (t) => {
  const controller = new AbortController();
  const empty = tempDir(t);
  let polls = 0;
  await watch(makeContext(join(empty, 'no-home')), { mountRoots: [empty], intervalMs: 0, signal: controller.signal, onEvent: () => undefined, onPoll: (p) => (polls = p), maxPolls: 500 });
  t.is(polls, 500);
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
});

test('a drive pulled out mid-import rolls back; the next insertion imports it', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const media = join(n.root, 'media');
  const usb = join(media, 'USB');
  mkdirSync(usb, { recursive: true });
  await exportChanges(n.sites[0]!.ctx, { to: usb });
  cpSync(usb, join(n.root, 'usb-copy'), { recursive: true });
  // Pull the drive the moment the apply starts (after verification, before the payload is read).
  const ctx = makeContext(n.hub.home, { progress: (e) => e.phase === 'apply' && rmSync(usb, { recursive: true, force: true }) });
  const events: WatchEvent[] = [];
  await watch(ctx, { mountRoots: [media], intervalMs: 10, signal: new AbortController().signal, onEvent: (e) => events.push(e), maxPolls: 1 });
  const first = events[0]!;
  t.is(first.outcome, 'partial');
  const b = (first.result as HubImportResult).bundles[0]!;
  t.is(b.outcome, 'failed');
  t.is(b.reason!.code, 'drive-io-error');
  t.falsy(b.quarantined, 'a pulled drive is not a bad bundle');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles')[0]!.n, 0, 'rolled back');
  t.deepEqual(sql(n.hubDb, "SELECT name FROM sqlite_master WHERE name = 'patients'"), [], 'not even the table creation survived');
  cpSync(join(n.root, 'usb-copy'), usb, { recursive: true });
  await watch(makeContext(n.hub.home), { mountRoots: [media], intervalMs: 10, signal: new AbortController().signal, onEvent: (e) => events.push(e), maxPolls: 1 });
  t.is(events[1]!.outcome, 'imported');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM patients')[0]!.n, 27);
});

test('the watch command logs one line per drive and stops cleanly on SIGTERM', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const media = join(n.root, 'media');
  mkdirSync(join(media, 'USB'), { recursive: true });
  await exportChanges(n.sites[0]!.ctx, { to: join(media, 'USB') });
  const child = spawn(process.execPath, [FERRY_BIN, '--home', n.hub.home, 'watch', '--mount-root', media, '--interval', '0.1', '--json']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.on('exit', (c) => r(c)));
  t.is(code, 0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 1);
  t.is(lines[0].outcome, 'imported');
  t.is(lines[0].result.bundles[0].outcome, 'applied');
});

/** A bug at the hub, injected as a trigger that raises where the import writes (see bugs-not-refusals). */
const injectBug = (db: string) => sql(db, "CREATE TRIGGER injected_bug BEFORE INSERT ON ferry_bundles BEGIN SELECT RAISE(ABORT, 'injected bug'); END");

test('a bug while watch imports a drive is not that drive failing: `watch --once` exits 70, as import does', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const media = join(n.root, 'media');
  mkdirSync(join(media, 'USB'), { recursive: true });
  await exportChanges(n.sites[0]!.ctx, { to: join(media, 'USB') });
  injectBug(n.hubDb);
  const r = runCli(['--home', n.hub.home, 'watch', '--once', '--mount-root', media, '--json']);
  t.is(r.code, 70, r.stdout + r.stderr);
  t.is(r.json?.error?.code, 'internal');
  // In the operation itself: the bug stops the watch at once instead of retrying the drive every poll.
  const events: WatchEvent[] = [];
  let polls = 0;
  const stopped = watch(makeContext(n.hub.home), { mountRoots: [media], intervalMs: 0, signal: new AbortController().signal, onEvent: (e) => events.push(e), onPoll: (p) => (polls = p), maxPolls: 3 });
  t.is(asFerryError(await t.throwsAsync(stopped)).kind, 'bug');
  t.deepEqual([events.length, polls], [0, 0]);
});

test('an import cancelled under watch stops the watch: the drive is not reported failed and tried again', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const media = join(n.root, 'media');
  mkdirSync(join(media, 'USB'), { recursive: true });
  await exportChanges(n.sites[0]!.ctx, { to: join(media, 'USB') });
  const controller = new AbortController();
  controller.abort();
  const events: WatchEvent[] = [];
  const stopped = watch(makeContext(n.hub.home, { signal: controller.signal }), { mountRoots: [media], intervalMs: 0, signal: new AbortController().signal, onEvent: (e) => events.push(e), maxPolls: 3 });
  t.like(await t.throwsAsync(stopped), { kind: 'cancelled' });
  t.is(events.length, 0);
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles')[0]!.n, 0);
});

test('a configuration error is not a drive failing: `watch --once` without hub.db exits 2 with database-missing, as import does', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const media = join(n.root, 'media');
  mkdirSync(join(media, 'USB'), { recursive: true });
  await exportChanges(n.sites[0]!.ctx, { to: join(media, 'USB') });
  renameSync(n.hubDb, `${n.hubDb}.moved`);
  const r = runCli(['--home', n.hub.home, 'watch', '--once', '--mount-root', media, '--json']);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.is(r.json?.error?.code, 'database-missing');
  t.notRegex(r.stdout, /"outcome":"failed"/, 'no drive is reported failed');
});

test('a drive pulled out before its import is still reported as that drive failing; the others are imported', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const media = join(n.root, 'media');
  for (const d of ['A', 'B']) {
    mkdirSync(join(media, d), { recursive: true });
    await exportChanges(n.sites[0]!.ctx, { to: join(media, d) });
  }
  // Whichever drive watch imports first, the other is pulled out while it runs.
  const first = [...findDrives([media]).values()][0]!;
  const pulled = first === join(media, 'A') ? join(media, 'B') : join(media, 'A');
  const ctx = makeContext(n.hub.home, { progress: () => rmSync(pulled, { recursive: true, force: true }) });
  const events: WatchEvent[] = [];
  await watch(ctx, { mountRoots: [media], intervalMs: 0, signal: new AbortController().signal, onEvent: (e) => events.push(e), maxPolls: 1 });
  t.deepEqual(events.map((e) => [e.drive, e.outcome]), [
    [first, 'imported'],
    [pulled, 'failed'],
  ]);
  t.is(events[1]!.error?.code, 'drive-missing');
});
