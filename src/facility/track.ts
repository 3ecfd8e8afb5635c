/** `ferry track` and `ferry untrack` (facility). */
import type { TrackOutcome, UntrackOutcome } from '../capture/emr.js';
import { sameName } from '../format/names.js';
import type { TableScope } from '../format/records.js';
import type { OpContext } from '../node/context.js';
import { facilityEmr } from './facility-db.js';
import { withLockedSession } from '../node/node-session.js';

export interface TrackOptions {
  db?: string;
  tables: string[];
  key?: string[];
  /** the key means the same row at every facility: rows merge by it at the hub (default: each facility's own rows) */
  shared?: boolean;
}

export function track(ctx: OpContext, o: TrackOptions): Promise<{ db: string; tables: TrackOutcome[] }> {
  return withLockedSession(ctx, 'facility', 'track', async (s) => {
    const emr = facilityEmr(s, o.db);
    try {
      const now = ctx.now();
      const scope: TableScope = o.shared ? 'shared' : 'facility';
      // Before the refresh: a table it updates is not tracked again below, but its key and scope were still asked for.
      for (const name of o.tables) emr.checkTrackRequest(name, o.key, scope);
      const out = [...emr.refreshTracking(now.getTime()).updated];
      for (const name of o.tables) {
        if (out.some((x) => sameName(x.table, name))) continue;
        out.push(emr.track(name, o.key, now.getTime(), now.toISOString(), scope));
      }
      for (const t of out) await s.audit({ action: 'track', outcome: t.outcome, detail: { table: t.table, key: t.key, scope: t.scope, snapshot: t.snapshot, ...(t.warnings.length ? { warnings: t.warnings } : {}) } });
      return { db: s.config.db!, tables: out };
    } finally {
      emr.close();
    }
  });
}

export function untrack(ctx: OpContext, o: { tables: string[] }): Promise<UntrackOutcome[]> {
  return withLockedSession(ctx, 'facility', 'untrack', async (s) => {
    const emr = facilityEmr(s);
    try {
      const out = o.tables.map((t) => emr.untrack(t));
      for (const u of out) await s.audit({ action: 'untrack', outcome: 'ok', detail: { table: u.table, unsent: u.unsent } });
      return out;
    } finally {
      emr.close();
    }
  });
}
