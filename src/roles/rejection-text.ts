/**
 * How rejected changes read, the same in the CLI and the TUI: each table and reason once, with
 * how many changes it held back. The reason is the hub's own words and says what to do.
 */
import type { Rejections } from '../store/hub-store.js';
import type { HubStatus } from './status.js';

const seqs = (r: Rejections) => (r.first_seq === r.last_seq ? `change ${r.first_seq}` : `changes ${r.first_seq}–${r.last_seq}`);

/** Under a bundle: `rejected 3 change(s) of table location (changes 1–3): table location is shared…`. */
export const rejectionLine = (r: Rejections): string => `rejected ${r.changes} change(s) of table ${r.table} (${seqs(r)}): ${r.reason}`;

/** In status: whose changes wait, how often they were tried, and why. */
export const rejectedChangesLine = (r: HubStatus['rejections'][number]): string =>
  `${r.facility}: ${r.changes} change(s) of table ${r.table} (${seqs(r)}), tried ${r.attempts} time(s), last ${r.last_at}: ${r.reason}`;
