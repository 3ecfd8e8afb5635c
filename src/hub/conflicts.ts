/** `ferry conflicts` (hub): shared rows changed at two facilities (facility-owned rows never conflict), and the operator's override. */
import { ErrorCodes, usageError } from '../core/errors.js';
import type { ConflictRecord, ConflictVersion } from '../store/hub-store.js';
import type { OpContext } from '../node/context.js';
import { withLockedSession, withSession } from '../node/node-session.js';

export type { ConflictVersion } from '../store/hub-store.js';

export interface Conflict extends ConflictRecord {
  /** columns whose values differ between the two versions */
  differing: string[];
}

function withDiffering(r: ConflictRecord): Conflict {
  const cols = new Set([...Object.keys(r.current.row ?? {}), ...Object.keys(r.other.row ?? {})]);
  const differing = [...cols].filter((c) => JSON.stringify(r.current.row?.[c] ?? null) !== JSON.stringify(r.other.row?.[c] ?? null));
  const { id, table, key, detected_at, bundle_id, current, other, resolved_at, resolution, flag } = r;
  return { id, table, key, detected_at, bundle_id, current, other, differing, resolved_at, resolution, flag };
}

export function listConflicts(ctx: OpContext, o: { all?: boolean } = {}): Promise<Conflict[]> {
  return withSession(ctx, 'hub', 'conflicts', async (s) => (await s.hubStore().conflicts(o)).map(withDiffering));
}

export interface ResolveResult {
  conflict: Conflict;
  kept: 'current' | 'other';
  changed: boolean;
}

export function resolveConflict(ctx: OpContext, o: { id: number; keep: 'current' | 'other' }): Promise<ResolveResult> {
  return withLockedSession(ctx, 'hub', 'conflicts resolve', async (s) => {
    const store = s.hubStore();
    const record = await store.conflict(o.id);
    if (!record) throw usageError(ErrorCodes.CONFLICT_UNKNOWN, `there is no conflict ${o.id}`, { hint: 'list them with `ferry conflicts`' });
    const c = withDiffering(record);
    if (c.resolved_at) throw usageError(ErrorCodes.CONFLICT_UNKNOWN, `conflict ${o.id} was already resolved on ${c.resolved_at} (${c.resolution})`, { hint: 'list open ones with `ferry conflicts`' });
    const keptOrigin = (o.keep === 'current' ? c.current : c.other).origin;
    const outcome = await store.resolveConflict(o.id, o.keep, { at: ctx.now(), hubId: s.id, resolution: `kept ${o.keep} (${keptOrigin})` });
    if (!outcome.resolved) {
      throw usageError(ErrorCodes.CONFLICT_UNKNOWN, `row of conflict ${o.id} has changed since (now from ${outcome.rowNow?.origin} change ${outcome.rowNow?.seq})`, {
        hint: 'look at the newer conflicts for this row with `ferry conflicts`; keep --keep current here',
      });
    }
    await store.audit({ action: 'conflict-resolve', peer: keptOrigin, bundle_id: c.bundle_id, outcome: `kept-${o.keep}`, detail: { conflict: o.id, table: c.table } });
    return { conflict: c, kept: o.keep, changed: outcome.changed };
  });
}
