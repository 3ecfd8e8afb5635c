import test from 'ava';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../src/core/errors.js';
import { openBundle } from '../src/format/bundle-reader.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { status } from '../src/roles/status.js';
import { makeContext } from '../src/node/context.js';
import { track } from '../src/facility/track.js';
import { makeNetwork, runCli, sql, tempDir } from './helpers/env.js';

const bundlesOn = (drive: string) => {
  const dir = join(drive, 'FERRY', 'bundles');
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
};

test('export writes every pending change once, split into bundles no larger than asked', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const r = await exportChanges(site.ctx, { to: n.drive, maxBundleBytes: 64 * 1024 });
  t.is(r.pending, 2122);
  t.true(r.written.length >= 2, `split into ${r.written.length}`);
  let next = 1;
  for (const b of r.written) {
    t.true(statSync(b.file).size <= 64 * 1024, `${b.file} is ${statSync(b.file).size} bytes`);
    t.is(b.seq.first, next, 'bundles cover consecutive ranges');
    next = b.seq.last + 1;
    const m = (await openBundle(b.file)).manifest;
    t.is(m.recipient, 'HUB-1');
  }
  t.is(next - 1, 2122);
  t.is(r.written.reduce((s, b) => s + b.changes, 0), 2122);
  for (const f of bundlesOn(n.drive)) t.regex(f.split('/').pop()!, /^[A-Za-z0-9._-]+$/, 'FAT32-safe name');
  const inspect = runCli(['inspect', n.drive, '--json']);
  t.is(inspect.code, 0);
  t.is(inspect.json.items.length, r.written.length);
});

test('re-export: a drive that holds the bundles gets no second copy; another drive gets them again', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const first = await exportChanges(site.ctx, { to: n.drive });
  const again = await exportChanges(site.ctx, { to: n.drive });
  t.is(again.written.length, 0);
  t.deepEqual(again.already_on_drive.map((b) => b.bundle_id), first.written.map((b) => b.bundle_id));
  t.is(bundlesOn(n.drive).length, first.written.length);
  const other = join(n.root, 'drive2');
  mkdirSync(other);
  const second = await exportChanges(site.ctx, { to: other });
  t.is(second.written.reduce((s, b) => s + b.changes, 0), 2122, 'until acknowledged, the same changes go again');
  t.notDeepEqual(second.written[0]!.bundle_id, first.written[0]!.bundle_id);
});

test('nothing pending: says so, writes nothing, exits 0', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  new Database(site.db).exec('CREATE TABLE p (id TEXT PRIMARY KEY)');
  t.is(runCli(['--home', site.ctx.home, 'track', '--table', 'p']).code, 0);
  const r = runCli(['--home', site.ctx.home, 'export', '--to', n.drive]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /nothing pending/);
  t.deepEqual(bundlesOn(n.drive), []);
});

test('writes made while an export runs are not lost: they go in the next export', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const emr = new Database(site.db);
  let added = 0;
  const ctx = makeContext(site.ctx.home, {
    progress: (e) => {
      if (e.phase === 'export' && e.changesDone && !e.item) {
        emr.prepare('INSERT INTO patients (Id, FIRST, LAST) VALUES (?, ?, ?)').run(`late-${added}`, 'Late', `Writer${added}`);
        added++;
      }
    },
  });
  const r = await exportChanges(ctx, { to: n.drive });
  emr.close();
  t.true(added >= 1, 'the EMR wrote during the export');
  await importDrive(n.hub, { from: n.drive });
  const back = await importDrive(site.ctx, { from: n.drive });
  t.is(back.role === 'facility' && back.pending, added, 'the late writes are still pending after the ack');
  const drive2 = join(n.root, 'drive2');
  mkdirSync(drive2);
  const r2 = await exportChanges(site.ctx, { to: drive2 });
  t.is(r2.written.reduce((s, b) => s + b.changes, 0), added);
  await importDrive(n.hub, { from: drive2 });
  t.is(sql<{ n: number }>(n.hubDb, "SELECT count(*) AS n FROM patients WHERE Id LIKE 'late-%'")[0]!.n, added);
  t.true(r.written.length > 0);
});

function mountTmpfs(t: Parameters<typeof tempDir>[0], options: string): string {
  const dir = tempDir(t, 'ferry-usb-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  t.teardown(() => execFileSync('umount', [dir]));
  return dir;
}

test('a full drive (a real 48 KiB tmpfs): clear error, no partial file, nothing changed, exit 3', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const usb = mountTmpfs(t, 'size=48k');
  const before = await status(site.ctx);
  const r = runCli(['--home', site.ctx.home, 'export', '--to', usb]);
  t.is(r.code, 3, r.stdout + r.stderr);
  t.regex(r.stderr, /full/);
  t.regex(r.stderr, /needs about [\d.]+ MB/);
  t.regex(r.stderr, /[\d.]+ (kB|MB) was free/);
  t.notRegex(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  const left = readdirSync(join(usb, 'FERRY', 'bundles'));
  t.deepEqual(left.filter((f) => f.endsWith('.partial')), [], 'the partial file was removed');
  const after = await status(site.ctx);
  t.is(after.role === 'facility' && after.pending, before.role === 'facility' && before.pending);
  const json = runCli(['--home', site.ctx.home, 'export', '--to', usb, '--json']);
  t.is(json.json.error.code, 'drive-full');
});

test('a read-only drive and a missing drive give clear errors', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const ro = mountTmpfs(t, 'ro,size=1m');
  const r = runCli(['--home', site.ctx.home, 'export', '--to', ro, '--json']);
  t.is(r.code, 3);
  t.is(r.json.error.code, 'drive-read-only');
  t.regex(r.json.error.hint, /write-protect/);
  const missing = runCli(['--home', site.ctx.home, 'export', '--to', join(n.root, 'no-such-drive'), '--json']);
  t.is(missing.code, 2);
  t.is(missing.json.error.code, 'drive-missing');
  const err = await t.throwsAsync(exportChanges(site.ctx, { to: n.drive, maxBundleBytes: 10 }));
  t.is((err as FerryError).code, 'usage');
});

test('status --json reports pending, the hub, the last export and the oldest pending change', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  runCli(['--home', site.ctx.home, 'export', '--to', n.drive]);
  const s = runCli(['--home', site.ctx.home, 'status', '--json']);
  t.is(s.code, 0, s.stderr);
  t.is(s.json.pending, 2122);
  t.is(s.json.hub.id, 'HUB-1');
  t.regex(s.json.hub.fingerprint, /^....-....-....-....$/);
  t.is(s.json.tracked.length, 5);
  t.is(s.json.last_export.bundles.length, 1);
  t.is(s.json.oldest_pending.seq, 1);
  t.true(s.json.oldest_pending.age_seconds >= 0);
  t.is(s.json.last_ack, null);
});

/** docs/OPERATIONS.md, Troubleshooting, "A facility clock set far in the future", step 2 (its SQL, as sqlite3 would run it). */
function setClockBackToNow(emr: string): void {
  const db = new Database(emr);
  try {
    const logs = (db.prepare('SELECT id FROM ferry_tables').all() as Array<{ id: number }>).map((r) => `ferry_log_${r.id}`);
    db.exec(`BEGIN IMMEDIATE;
      UPDATE ferry_clock SET wall = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), counter = 0 WHERE id = 1;
      ${logs.map((l) => `UPDATE ${l} SET ferry_wall = (SELECT wall FROM ferry_clock), ferry_counter = 0 WHERE ferry_wall > (SELECT wall FROM ferry_clock);`).join('\n')}
      COMMIT;`);
  } finally {
    db.close();
  }
}

test('a clock beyond 2^53−1 stops the export with clock-invalid (seq and table named, nothing written); set back as OPERATIONS.md says, the change travels and wins by seq', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  sql(site.db, 'CREATE TABLE p (id TEXT PRIMARY KEY, v TEXT)');
  await track(site.ctx, { tables: ['p'] });
  // The computer once believed it was 2099: the hub takes the change, flagged ahead.
  sql(site.db, 'UPDATE ferry_clock SET wall = 4070908800000 WHERE id = 1');
  sql(site.db, "INSERT INTO p VALUES ('a', 'v1')");
  await exportChanges(site.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  t.deepEqual(sql(n.hubDb, 'SELECT seq, ahead FROM ferry_rows'), [{ seq: 1, ahead: 1 }]);
  await importDrive(site.ctx, { from: n.drive });
  // Then someone set the EMR's clock beyond what a JSON number holds exactly.
  sql(site.db, 'UPDATE ferry_clock SET wall = 9007199254740993 WHERE id = 1');
  sql(site.db, "UPDATE p SET v = 'v2' WHERE id = 'a'");
  const drive = join(n.root, 'drive2');
  mkdirSync(drive);
  const err = (await t.throwsAsync(exportChanges(site.ctx, { to: drive }))) as FerryError;
  t.is(err.code, 'clock-invalid');
  t.is(err.kind, 'refused');
  t.regex(err.message, /^change 2 \(table p\) carries the clock part 9007199254740993, which a bundle cannot carry/);
  t.regex(err.hint!, /OPERATIONS\.md.*far in the future/);
  t.deepEqual(bundlesOn(drive), [], 'nothing written');
  t.is(((await status(site.ctx)) as { pending?: number }).pending, 1, 'the change stays pending');

  setClockBackToNow(site.db);
  const r = await exportChanges(site.ctx, { to: drive });
  t.is(r.written.length, 1);
  await importDrive(n.hub, { from: drive });
  t.deepEqual(sql(n.hubDb, 'SELECT v FROM p'), [{ v: 'v2' }], 'a lower clock than 2099, but the larger seq of the same facility');
  t.deepEqual(sql(n.hubDb, 'SELECT seq, ahead FROM ferry_rows'), [{ seq: 2, ahead: 0 }], 'no longer ahead');
});
