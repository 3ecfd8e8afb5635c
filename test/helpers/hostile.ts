/** Data written by an attacker at a clinic, on a drive or in an identity card, and a hub that holds it. */
import type { ExecutionContext } from 'ava';
import { exportChanges } from '../../src/facility/export.js';
import { importDrive } from '../../src/roles/import.js';
import { track } from '../../src/facility/track.js';
import { makeNetwork, sql, type Network } from './env.js';

/** A patient name that clears the screen, moves the cursor home and retitles the terminal "PWNED". */
export const EVIL = 'Mallory\x1b[2J\x1b[H\x1b]0;PWNED\x07';
/** EVIL as ferry shows it. */
export const EVIL_SHOWN = 'Mallory\\x1b[2J\\x1b[H\\x1b]0;PWNED\\x07';
/** A one-byte CSI (C1), a right-to-left override and a line separator: legal JSON, dangerous raw. */
export const SNEAKY = 'Kigali\u009b2J\u202e\u2028';
export const SNEAKY_SHOWN = 'Kigali\\x9b2J\\u202e\\u2028';

/** Any character that must never reach a terminal from data (a newline between ferry's lines is ferry's own). */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Where a raw control character is in `text`, for the failure message (undefined: none). */
export function rawControl(text: string): string | undefined {
  const m = RAW_CONTROL.exec(text);
  return m ? `${JSON.stringify(m[0])} at ${m.index}: ${JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40))}` : undefined;
}

/**
 * Two facilities enter patient p-1 differently; RW-001's version carries EVIL and SNEAKY. The hub
 * imports both: a conflict holding the hostile row. The table is shared, as only a shared table's
 * rows can conflict (a facility-owned one keeps each facility's p-1 apart).
 */
export async function hubWithHostileConflict(t: ExecutionContext): Promise<Network> {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  for (const [i, s] of n.sites.entries()) {
    sql(s.db, 'CREATE TABLE patients (Id TEXT PRIMARY KEY, FIRST TEXT, ADDRESS TEXT)');
    sql(s.db, 'INSERT INTO patients VALUES (?, ?, ?)', 'p-1', i === 0 ? EVIL : 'Alice', i === 0 ? SNEAKY : 'Kigali');
    await track(s.ctx, { tables: ['patients'], shared: true });
    await exportChanges(s.ctx, { to: n.drive });
  }
  await importDrive(n.hub, { from: n.drive });
  return n;
}
