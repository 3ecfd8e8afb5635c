import type { RestoreFence } from '../capture/restore-fence.js';

/** What a command prints about a fence. */
export function describeFence(f: RestoreFence): string {
  const what = `the EMR database went back in time (restored from a backup?): its change counter was at ${f.counter_was}, but changes up to ${f.highest_sent} had already been sent`;
  return f.renumbered
    ? `${what}. ${f.renumbered} change(s) made since reused those numbers; they were renumbered from ${f.renumbered_from} so that the hub does not take them for ones it has`
    : `${what}. New changes are numbered from ${f.highest_sent + 1}`;
}
