/**
 * Which folders under the mount roots are drives. `ferry watch` imports the ones that carry a
 * FERRY folder; the TUI also offers the blank ones, where a first export can go. One walk for
 * both, so that the two faces never disagree about where a drive is.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FERRY_DIR } from './layout.js';

export interface MountedDrive {
  /** the drive's root folder (the one that holds FERRY/, or would) */
  path: string;
  /**
   * `device:inode` of its FERRY folder; absent on a drive ferry has not written to yet. A drive
   * plugged in again gets a new one (or, if it is the same, has been seen gone in between).
   */
  ferry?: string;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

function ferryIdentity(dir: string): string | undefined {
  try {
    // lstat: a FERRY that is a link is never followed; it is still a drive, whose import then
    // refuses it (drive-unsafe) so that the operator hears of it.
    const st = lstatSync(join(dir, FERRY_DIR));
    return st.isDirectory() || st.isSymbolicLink() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    // no FERRY, or a drive being unmounted: not a ferry drive this round
    return undefined;
  }
}

const drive = (path: string, ferry: string | undefined): MountedDrive => (ferry ? { path, ferry } : { path });

/**
 * The drives under each root: the root itself if it carries FERRY/ (`--mount-root /media/usb`),
 * else each folder in it. A folder that holds only folders and no FERRY/ (like /media/USER on
 * desktops) stands for the drives inside it; in any other folder, a folder one level down that
 * carries FERRY/ is a drive too.
 */
export function discoverDrives(roots: string[]): MountedDrive[] {
  const found: MountedDrive[] = [];
  for (const root of roots) {
    const rootFerry = ferryIdentity(root);
    if (rootFerry) {
      found.push(drive(root, rootFerry));
      continue;
    }
    for (const folder of subdirs(root)) {
      const ferry = ferryIdentity(folder);
      if (ferry) {
        found.push(drive(folder, ferry));
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(folder);
      } catch {
        continue;
      }
      const inner = subdirs(folder);
      const userFolder = entries.length > 0 && inner.length === entries.length;
      if (!userFolder) found.push(drive(folder, undefined));
      for (const d of inner) {
        const innerFerry = ferryIdentity(d);
        if (innerFerry || userFolder) found.push(drive(d, innerFerry));
      }
    }
  }
  return found;
}
