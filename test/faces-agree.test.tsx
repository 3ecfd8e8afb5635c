/**
 * The CLI, watch and the TUI render one verdict and so cannot disagree (issue 13, item 2): a
 * refused key notice is partial everywhere; an ack that could not be written keeps the drive in;
 * the verdict's notices (a key rotation, a notice written) reach both faces.
 */
import test, { type ExecutionContext } from 'ava';
import React from 'react';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { App } from '../src/tui/app.js';
import { realServices } from '../src/tui/services.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { rotateKeys } from '../src/node/rotate.js';
import { makeNetwork, runCli, TEST_PASSPHRASE, tempDir } from './helpers/env.js';
import { until } from './helpers/frames.js';

const ENTER = '\r';

/** A drive that holds a key rotation notice no key stands behind: junk where a notice goes. */
/**
 * The TUI over a real node: from the dashboard, the key that starts the operation, the first
 * drive found under the mount root, and the frame that closes it (the face under test).
 */
async function runInTui(home: string, media: string, key: 'e' | 'i'): Promise<{ done: string; unmount: () => void }> {
  const ui = render(<App services={realServices(home, [media], TEST_PASSPHRASE)} />);
  await until(ui, key === 'e' ? 'Tracked tables' : 'Last imports');
  ui.stdin.write(key);
  await until(ui, 'Choose the drive');
  ui.stdin.write(ENTER);
  return { done: await until(ui, 'REMOVE THE DRIVE'), unmount: () => ui.unmount() };
}

function driveWithJunkNotice(root: string): string {
  const drive = join(root, 'USB');
  mkdirSync(join(drive, 'FERRY', 'keys'), { recursive: true });
  writeFileSync(join(drive, 'FERRY', 'keys', 'RW-001.junk.ferry-rotation'), 'not a notice');
  return drive;
}

test('a refused key rotation notice: import exits 1, and watch reports the drive partial and exits 1', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const media = join(n.root, 'media');
  const drive = driveWithJunkNotice(media);
  const watched = runCli(['--home', n.hub.home, 'watch', '--once', '--mount-root', media, '--json']);
  t.is(watched.code, 1, watched.stdout + watched.stderr);
  const line = JSON.parse(watched.stdout.trim());
  t.is(line.outcome, 'partial');
  t.is(line.verdict.outcome, 'partial');
  t.is(line.result.rotations[0].outcome, 'refused');
  const imported = runCli(['--home', n.hub.home, 'import', '--from', drive, '--json']);
  t.is(imported.code, 1, imported.stdout + imported.stderr);
  t.is(imported.json.verdict.outcome, 'partial');
  const text = runCli(['--home', n.hub.home, 'watch', '--once', '--mount-root', media]);
  t.is(text.code, 1);
  t.regex(text.stdout, /PARTIAL: 1 key rotation notice\(s\) refused/);
});

/** A real read-only drive: a tmpfs, filled while writable, then remounted read-only. */
function readOnlyDriveWith(t: ExecutionContext, fill: (dir: string) => Promise<void>): Promise<{ media: string; drive: string }> {
  const media = tempDir(t, 'ferry-media-');
  const drive = join(media, 'USB');
  mkdirSync(drive);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', drive]);
  t.teardown(() => execFileSync('umount', [drive]));
  return fill(drive).then(() => {
    execFileSync('mount', ['-o', 'remount,ro', drive]);
    return { media, drive };
  });
}

test.serial('an ack that cannot be written: the CLI exits 1 with ACK NOT WRITTEN, the TUI does not say SAFE TO REMOVE', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const { media, drive } = await readOnlyDriveWith(t, async (dir) => void (await exportChanges(n.sites[0]!.ctx, { to: dir })));
  const cli = runCli(['--home', n.hub.home, 'import', '--from', drive]);
  t.is(cli.code, 1, cli.stdout + cli.stderr);
  t.regex(cli.stdout, /applied/);
  t.regex(cli.stdout, /ACK NOT WRITTEN/);
  t.regex(cli.stdout, /next: keep the drive/);

  // The TUI on the same drive: the bundle is known now, and its ack still cannot be written.
  const { done, unmount } = await runInTui(n.hub.home, media, 'i');
  t.false(done.includes('SAFE TO REMOVE'), done);
  t.true(done.includes('DO NOT REMOVE THE DRIVE YET'), done);
  t.true(done.includes('ACK NOT WRITTEN'), done);
  t.true(done.includes('import it again'), done);
  unmount();
});

/** A notice as the TUI shows it: wrapped to its frame, so compared with the line breaks taken out. */
const unwrapped = (frame: string) => frame.replace(/\s+/g, ' ');

test.serial('a key rotation notice written by an export with nothing pending: both faces say so, and that the drive may go', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  await exportChanges(site.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  t.is((await importDrive(site.ctx, { from: n.drive })).verdict.why.includes('nothing pending'), true);
  await rotateKeys(site.ctx);
  const notice = /^wrote this node's key rotation notice RW-001\.\S+\.ferry-rotation for HUB-1$/m;

  const other = join(n.root, 'other-drive');
  mkdirSync(other);
  const cli = runCli(['--home', site.ctx.home, 'export', '--to', other]);
  t.is(cli.code, 0, cli.stdout + cli.stderr);
  t.regex(cli.stdout, notice);
  t.regex(cli.stdout, /^nothing pending: .*; no bundle written$/m);
  t.regex(cli.stdout, /^Safe to remove the drive\.$/m);

  const media = join(n.root, 'media');
  mkdirSync(join(media, 'USB'), { recursive: true });
  const { done, unmount } = await runInTui(site.ctx.home, media, 'e');
  t.true(done.includes('SAFE TO REMOVE THE DRIVE'), done);
  t.regex(unwrapped(done), /wrote this node's key rotation notice RW-001\.\S+\.ferry-rotation for HUB-1/);
  t.regex(unwrapped(done), /nothing pending: .* no bundle written/);
  t.false(done.includes('not changed'), done);
  unmount();
});

test.serial('a hub import that accepts a key rotation and writes its own: the verdict\'s notices, each in both faces', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  await rotateKeys(n.sites[0]!.ctx, { drive: n.drive });
  await rotateKeys(n.hub);
  // Three hubs in the same state, so that each face meets the news as news.
  const copy = (from: string, to: string) => (cpSync(from, join(n.root, to), { recursive: true }), join(n.root, to));
  const [jsonHome, textHome] = [copy(n.hub.home, 'hub-json'), copy(n.hub.home, 'hub-text')];
  const [jsonDrive, textDrive] = [copy(n.drive, 'drive-json'), copy(n.drive, 'drive-text')];
  const media = join(n.root, 'media');
  mkdirSync(media);
  copy(n.drive, join('media', 'USB'));

  const doc = runCli(['--home', jsonHome, 'import', '--from', jsonDrive, '--json']).json;
  const notices: string[] = doc.verdict.notices;
  t.is(notices.length, 2, JSON.stringify(doc.verdict));
  t.regex(notices[0]!, /^key rotation: RW-001 now uses the key with fingerprint /);
  t.regex(notices[1]!, /^wrote this hub's key rotation notice HUB-1\.\S+ for the facilities$/);

  const text = runCli(['--home', textHome, 'import', '--from', textDrive]);
  t.is(text.code, 0, text.stdout + text.stderr);
  const lines = text.stdout.split('\n');
  for (const x of notices) t.is(lines.filter((l) => l === x).length, 1, `the CLI prints once: ${x}\n${text.stdout}`);

  const { done, unmount } = await runInTui(n.hub.home, media, 'i');
  for (const x of notices) t.true(unwrapped(done).includes(x), `the TUI shows: ${x}\n${done}`);
  t.true(done.includes('SAFE TO REMOVE THE DRIVE'), done);
  unmount();
});
