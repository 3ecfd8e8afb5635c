/**
 * The drive layout: DIR/FERRY/bundles/*.ferry-bundle, DIR/FERRY/acks/*.ferry-ack and
 * DIR/FERRY/keys/*.ferry-rotation (key rotation notices). Names use
 * only characters FAT32 and exFAT accept, and never differ only by case (node ids are unique
 * case-insensitively, the rest is digits and lowercase hex). Files being written carry a
 * `.partial` suffix and are never read as bundles or acks.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ACK_EXTENSION, BUNDLE_EXTENSION, ROTATION_EXTENSION } from '../format/constants.js';
import { ErrorCodes, usageError } from '../errors.js';

export const FERRY_DIR = 'FERRY';
export const PARTIAL_SUFFIX = '.partial';

export interface DriveLayout {
  root: string;
  ferry: string;
  bundles: string;
  acks: string;
  keys: string;
}

/** Accept the drive root or its FERRY folder. */
export function driveLayout(dir: string): DriveLayout {
  const abs = resolve(dir);
  const root = basename(abs) === FERRY_DIR ? join(abs, '..') : abs;
  const ferry = join(root, FERRY_DIR);
  return { root, ferry, bundles: join(ferry, 'bundles'), acks: join(ferry, 'acks'), keys: join(ferry, 'keys') };
}

export function requireDriveRoot(dir: string): void {
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw usageError(ErrorCodes.DRIVE_MISSING, `${dir} is not a folder (is the drive plugged in and mounted?)`, {
      where: dir,
      hint: 'give the folder where the drive is mounted, e.g. /media/usb',
    });
  }
}

export const bundleFileName = (sender: string, first: number, last: number, bundleId: string) =>
  `${sender}.${first}-${last}.${bundleId.slice(0, 12)}${BUNDLE_EXTENSION}`;

export const ackFileName = (facility: string, first: number, last: number, bundleId: string) =>
  `${facility}.${first}-${last}.${bundleId.slice(0, 12)}${ACK_EXTENSION}`;

/** Fingerprints are Crockford base32 (digits and capitals): safe in FAT32 names once the dashes go. */
export const rotationFileName = (id: string, oldFingerprint: string, newFingerprint: string) =>
  `${id}.${oldFingerprint.replaceAll('-', '')}.to.${newFingerprint.replaceAll('-', '')}${ROTATION_EXTENSION}`;

export interface DriveFiles {
  bundles: string[];
  acks: string[];
  rotations: string[];
  /** left-over partial writes, never read */
  partial: string[];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The ferry files on a drive, by kind. Anything else is left alone. */
export function listDrive(layout: DriveLayout): DriveFiles {
  const out: DriveFiles = { bundles: [], acks: [], rotations: [], partial: [] };
  for (const [dir, ext, into] of [
    [layout.bundles, BUNDLE_EXTENSION, out.bundles],
    [layout.acks, ACK_EXTENSION, out.acks],
    [layout.keys, ROTATION_EXTENSION, out.rotations],
  ] as const) {
    for (const name of list(dir)) {
      const path = join(dir, name);
      if (name.endsWith(PARTIAL_SUFFIX)) out.partial.push(path);
      else if (name.toLowerCase().endsWith(ext)) {
        try {
          if (statSync(path).isFile()) into.push(path);
        } catch {
          /* vanished or unreadable: skip */
        }
      }
    }
  }
  return out;
}
