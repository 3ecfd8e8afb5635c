/** Where watch and the TUI look for drives: one walk, so the two never disagree. */
import test from 'ava';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverDrives } from '../src/drive/discover.js';
import { findDrives } from '../src/roles/watch.js';
import { candidateDrives } from '../src/tui/services.js';
import { tempDir } from './helpers/env.js';

function mediaTree(root: string): void {
  mkdirSync(join(root, 'user', 'COURIER', 'FERRY'), { recursive: true }); // /media/USER/LABEL, as desktops mount
  mkdirSync(join(root, 'user', 'BLANK'), { recursive: true }); // a new drive ferry has not written to
  mkdirSync(join(root, 'USB', 'FERRY'), { recursive: true }); // /mnt/USB
  mkdirSync(join(root, 'stick', 'photos'), { recursive: true }); // a blank drive with a folder on it
  writeFileSync(join(root, 'stick', 'notes.txt'), 'x');
  mkdirSync(join(root, 'stick', 'copy', 'FERRY'), { recursive: true }); // a drive one level into a drive's folder
  mkdirSync(join(root, 'linked'));
  symlinkSync('/tmp', join(root, 'linked', 'FERRY')); // a planted link: a drive, which import then refuses
}

test('ferry drives and blank ones, through user folders; a FERRY link is a drive too', (t) => {
  const media = tempDir(t);
  mediaTree(media);
  const found = discoverDrives([media, join(media, 'not-mounted')]);
  const byPath = new Map(found.map((d) => [d.path.slice(media.length + 1), d.ferry !== undefined]));
  t.deepEqual([...byPath].sort(), [
    ['USB', true],
    ['linked', true],
    ['stick', false],
    ['stick/copy', true],
    ['user/BLANK', false],
    ['user/COURIER', true],
  ]);
  t.deepEqual([...findDrives([media]).values()].map((p) => p.slice(media.length + 1)).sort(), ['USB', 'linked', 'stick/copy', 'user/COURIER'], 'watch imports only the drives with FERRY/');
  t.deepEqual(candidateDrives([media]).map((d) => d.path.slice(media.length + 1)).sort(), [...byPath.keys()].sort(), 'the TUI offers the blank ones too');
});

test('a mount root that is itself a drive is one drive, not its FERRY folder', (t) => {
  const usb = tempDir(t);
  mkdirSync(join(usb, 'FERRY', 'bundles'), { recursive: true });
  t.deepEqual(discoverDrives([usb]).map((d) => d.path), [usb]);
});

test("a drive's identity changes when its FERRY folder is another one, and holds while it stays", (t) => {
  const media = tempDir(t);
  mkdirSync(join(media, 'USB', 'FERRY'), { recursive: true });
  const first = discoverDrives([media])[0]!.ferry;
  t.is(discoverDrives([media])[0]!.ferry, first);
  renameSync(join(media, 'USB', 'FERRY'), join(media, 'old'));
  mkdirSync(join(media, 'USB', 'FERRY'));
  t.not(discoverDrives([media]).find((d) => d.path.endsWith('USB'))!.ferry, first);
});
