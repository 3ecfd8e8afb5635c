/**
 * Numbers as people read them, written one way by every face (the CLI, the TUI, drive errors, the
 * tools): counts with thousands separators, sizes in decimal units as drive makers and file
 * managers print them. Fixed to en-US, not the machine's locale, so that output is the same
 * everywhere and a test can say what it is.
 */

/** A count: 2,122. */
export const count = (n: number): string => n.toLocaleString('en-US');

/** A size, to the unit that keeps it short: 950 B, 12 kB, 1.2 MB, 12.3 GB. */
export function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

/**
 * A size in MB whatever it is, to two places below 10 MB: a drive-full message sets what the
 * export needs beside what was free, so both are in one unit and small ones still differ.
 */
export const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;

/** Bytes as a number of MB (10^6 bytes), rounded to `digits` places: a measurement in a JSON report. */
export const inMegabytes = (bytes: number, digits = 0): number => Number((bytes / 1e6).toFixed(digits));
