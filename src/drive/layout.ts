/**
 * The drive layout: DIR/FERRY/bundles/*.ferry-bundle, DIR/FERRY/acks/*.ferry-ack and
 * DIR/FERRY/keys/*.ferry-rotation (key rotation notices), DIR/FERRY/receipts/*.ferry-receipt
 * (facilities' receipts for the hub's bundles) and DIR/FERRY/requests/*.ferry-request (their record
 * requests). Names use
 * only characters FAT32 and exFAT accept, and never differ only by case (node ids are unique
 * case-insensitively, the rest is digits and lowercase hex). Files being written carry a
 * `.partial` suffix and are never read as bundles or acks.
 *
 * Whoever carries the drive may have planted links in it: FERRY and its five folders must be
 * real folders whose real path stays on the drive (checkDrive), or the command refuses
 * with drive-unsafe before it reads or writes anything there.
 */
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ACK_EXTENSION, BUNDLE_EXTENSION, RECEIPT_EXTENSION, REQUEST_EXTENSION, ROTATION_EXTENSION } from '../format/constants.js';
import { ErrorCodes, ioError, refusedError, usageError, type FerryError } from '../core/errors.js';

export const FERRY_DIR = 'FERRY';
export const PARTIAL_SUFFIX = '.partial';

export interface DriveLayout {
  root: string;
  ferry: string;
  bundles: string;
  acks: string;
  keys: string;
  /** facilities' receipts for the hub's bundles */
  receipts: string;
  /** facilities' record requests for the hub */
  requests: string;
}

/** Accept the drive root or its FERRY folder. */
export function driveLayout(dir: string): DriveLayout {
  const abs = resolve(dir);
  const root = basename(abs) === FERRY_DIR ? join(abs, '..') : abs;
  const ferry = join(root, FERRY_DIR);
  return { root, ferry, bundles: join(ferry, 'bundles'), acks: join(ferry, 'acks'), keys: join(ferry, 'keys'), receipts: join(ferry, 'receipts'), requests: join(ferry, 'requests') };
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

function unsafe(folder: string, root: string, why: string): FerryError {
  return refusedError(ErrorCodes.DRIVE_UNSAFE, `the drive's folder ${folder} ${why}: ferry never follows links on a drive, so this command read and wrote nothing there`, {
    where: folder,
    hint: `someone altered this drive, or it is damaged. Remove ${folder} (\`rm ${folder}\` removes a link, not what it points to), check the drive with \`ferry inspect ${root}\`, then run the command again: ferry creates the folder anew`,
  });
}

/**
 * One FERRY folder (FERRY itself, or one of its three): absent (ferry creates it when it writes),
 * or a real folder whose real path is under the drive root's. Else drive-unsafe.
 */
export function checkDriveFolder(root: string, folder: string): void {
  let st;
  try {
    st = lstatSync(folder);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw unsafe(dirname(folder), root, 'is not a folder');
    throw err;
  }
  if (st.isSymbolicLink()) throw unsafe(folder, root, 'is a symbolic link');
  if (!st.isDirectory()) throw unsafe(folder, root, 'is not a folder');
  // Not a link, yet the real path may still leave the drive if a folder above it was swapped.
  const rootReal = realpathSync(root);
  const real = realpathSync(folder);
  if (!real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep)) throw unsafe(folder, root, `leads off the drive (to ${real})`);
}

/** Refuse the whole drive (drive-unsafe) if FERRY or one of its folders is a link or leads off it. */
export function checkDrive(layout: DriveLayout): void {
  for (const folder of [layout.ferry, layout.bundles, layout.acks, layout.keys, layout.receipts, layout.requests]) checkDriveFolder(layout.root, folder);
}

/** The drive given on the command line, checked: it exists, and its FERRY tree is safe to use. */
export function openDrive(dir: string): DriveLayout {
  requireDriveRoot(dir);
  const layout = driveLayout(dir);
  checkDrive(layout);
  return layout;
}

export const bundleFileName = (sender: string, first: number, last: number, bundleId: string) =>
  `${sender}.${first}-${last}.${bundleId.slice(0, 12)}${BUNDLE_EXTENSION}`;

export const ackFileName = (facility: string, first: number, last: number, bundleId: string) =>
  `${facility}.${first}-${last}.${bundleId.slice(0, 12)}${ACK_EXTENSION}`;

export const requestFileName = (facility: string, hub: string, requestId: string) => `${facility}.to.${hub}.${requestId.slice(0, 16)}${REQUEST_EXTENSION}`;

export const receiptFileName = (facility: string, hub: string, first: number, last: number, bundleId: string) =>
  `${facility}.to.${hub}.${first}-${last}.${bundleId.slice(0, 12)}${RECEIPT_EXTENSION}`;

/** Fingerprints are Crockford base32 (digits and capitals): safe in FAT32 names once the dashes go. */
export const rotationFileName = (id: string, oldFingerprint: string, newFingerprint: string) =>
  `${id}.${oldFingerprint.replaceAll('-', '')}.to.${newFingerprint.replaceAll('-', '')}${ROTATION_EXTENSION}`;

export interface DriveFiles {
  /**
   * Every name with a ferry extension, whatever the file is: a link, FIFO or device under such a
   * name is refused when it is opened (not-a-ferry-file) and so shows in the command's report.
   */
  bundles: string[];
  acks: string[];
  rotations: string[];
  receipts: string[];
  requests: string[];
  /** left-over partial writes, never read */
  partial: string[];
}

/**
 * The names in one FERRY folder; none when it does not exist (ferry creates it when it writes).
 * A folder that cannot be read is the drive failing, not an empty drive: reporting "no bundles,
 * safe to remove" would leave the bundles on it unread.
 */
function list(root: string, dir: string): string[] {
  // A folder that is a link is refused, not listed: reading it would follow the link.
  checkDriveFolder(root, dir);
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') return [];
    if (typeof (err as { syscall?: unknown }).syscall !== 'string' || typeof code !== 'string') throw err;
    throw ioError(ErrorCodes.DRIVE_IO, `the drive's folder ${dir} cannot be read (${code})`, {
      where: dir,
      cause: err,
      hint: 'the drive may be failing or was pulled out; check it, plug it in again and run the command again',
    });
  }
}

/** The ferry files on a drive, by kind. Anything else is left alone. */
export function listDrive(layout: DriveLayout): DriveFiles {
  const out: DriveFiles = { bundles: [], acks: [], rotations: [], receipts: [], requests: [], partial: [] };
  checkDriveFolder(layout.root, layout.ferry);
  for (const [dir, ext, into] of [
    [layout.bundles, BUNDLE_EXTENSION, out.bundles],
    [layout.acks, ACK_EXTENSION, out.acks],
    [layout.keys, ROTATION_EXTENSION, out.rotations],
    [layout.receipts, RECEIPT_EXTENSION, out.receipts],
    [layout.requests, REQUEST_EXTENSION, out.requests],
  ] as const) {
    for (const name of list(layout.root, dir)) {
      const path = join(dir, name);
      if (name.endsWith(PARTIAL_SUFFIX)) out.partial.push(path);
      else if (name.toLowerCase().endsWith(ext)) into.push(path);
    }
  }
  return out;
}
