/**
 * The CLI, watch and the TUI render one verdict and so cannot disagree (issue 13, item 2): a
 * refused key notice is partial everywhere; an ack that could not be written keeps the drive in.
 */
import test, { type ExecutionContext } from 'ava';
import React from 'react';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { App } from '../src/tui/app.js';
import { realServices } from '../src/tui/services.js';
import { exportChanges } from '../src/facility/export.js';
import { makeNetwork, runCli, TEST_PASSPHRASE, tempDir } from './helpers/env.js';
import { until } from './helpers/frames.js';

const ENTER = '\r';

/** A drive that holds a key rotation notice no key stands behind: junk where a notice goes. */
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
  const ui = render(<App services={realServices(n.hub.home, [media], TEST_PASSPHRASE)} />);
  await until(ui, 'Last imports');
  ui.stdin.write('i');
  await until(ui, 'Choose the drive');
  ui.stdin.write(ENTER);
  const done = await until(ui, 'REMOVE THE DRIVE');
  t.false(done.includes('SAFE TO REMOVE'), done);
  t.true(done.includes('DO NOT REMOVE THE DRIVE YET'), done);
  t.true(done.includes('ACK NOT WRITTEN'), done);
  t.true(done.includes('import it again'), done);
  ui.unmount();
});
