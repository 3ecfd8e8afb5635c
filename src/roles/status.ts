/** `ferry status`: what a node knows about itself, its peers and its queue. */
import { readSecretKeyFile } from '../store/home.js';
import { oldestPending, pendingByTable, trackedTables } from '../capture/change-log.js';
import { refreshTracking } from '../capture/track.js';
import { gaps, hubTables, openHubDb, recentBundles, type Gap, type LedgerEntry } from '../store/hub-db.js';
import type { OpContext } from '../node/context.js';
import { facilityDb } from '../facility/facility-db.js';
import { withSession } from '../node/node-session.js';
import { listQuarantine, type QuarantineEntry } from '../hub/quarantine.js';

export interface PeerSummary {
  id: string;
  name: string;
  fingerprint: string;
  revoked: { at: string; reason: string } | null;
}

export interface FacilityStatus {
  role: 'facility';
  id: string;
  name: string;
  fingerprint: string;
  /** sealed: the secret keys need the passphrase; plain: written before ferry sealed keys (run `ferry passphrase`) */
  secret_key: 'sealed' | 'plain';
  db: string | null;
  hub: PeerSummary | null;
  tracked: Array<{ table: string; key: string[]; active: boolean; pending: number }>;
  pending: number;
  oldest_pending: { seq: number; captured_at: string; age_seconds: number } | null;
  last_export: { at: string; drive: string; bundles: Array<{ file: string; bundle_id: string; first_seq: number; last_seq: number; changes: number }> } | null;
  last_ack: { at: string; hub: string; bundle_id: string; first_seq: number; last_seq: number } | null;
}

export interface HubStatus {
  role: 'hub';
  id: string;
  name: string;
  fingerprint: string;
  secret_key: 'sealed' | 'plain';
  db: string;
  facilities: Array<PeerSummary & { bundles: number; last_import: string | null; highest_seq: number }>;
  tables: string[];
  recent_imports: LedgerEntry[];
  gaps: Gap[];
  open_conflicts: number;
  rejected_changes: number;
  quarantined: QuarantineEntry[];
}

export type StatusResult = FacilityStatus | HubStatus;

/** The largest time a JavaScript Date holds, in ms either side of 1970. */
const MAX_DATE_MS = 8.64e15;

const summary = (p: { id: string; name: string; fingerprint: string; revoked?: { at: string; reason: string } }): PeerSummary => ({
  id: p.id,
  name: p.name,
  fingerprint: p.fingerprint,
  revoked: p.revoked ?? null,
});

export function status(ctx: OpContext): Promise<StatusResult> {
  return withSession<StatusResult>(ctx, undefined, 'status', (s) => {
    const me = s.identity();
    const keyProtection = readSecretKeyFile(ctx.home, s.id).version === 2 ? 'sealed' : 'plain';
    if (s.config.role === 'hub') {
      const db = openHubDb(s.config.db!);
      try {
        const perOrigin = db.prepare('SELECT origin, count(*) AS n, max(applied_at) AS last, max(last_seq) AS top FROM ferry_bundles GROUP BY origin').all() as Array<{ origin: string; n: number; last: string; top: number }>;
        const by = new Map(perOrigin.map((r) => [r.origin.toLowerCase(), r]));
        return {
          role: 'hub',
          id: s.id,
          name: s.config.name,
          fingerprint: me.fingerprint,
          secret_key: keyProtection,
          db: s.config.db!,
          facilities: s.peers().filter((p) => p.role === 'facility').map((p) => {
            const r = by.get(p.id.toLowerCase());
            return { ...summary(p), bundles: r?.n ?? 0, last_import: r?.last ?? null, highest_seq: r?.top ?? 0 };
          }),
          tables: hubTables(db).map((t) => t.name),
          recent_imports: recentBundles(db, 10),
          gaps: gaps(db),
          open_conflicts: Number((db.prepare('SELECT count(*) AS n FROM ferry_conflicts WHERE resolved_at IS NULL').get() as { n: number }).n),
          rejected_changes: Number((db.prepare('SELECT count(*) AS n FROM ferry_rejected').get() as { n: number }).n),
          quarantined: listQuarantine(ctx.home),
        };
      } finally {
        db.close();
      }
    }
    const hub = s.peers().find((p) => p.role === 'hub');
    const base: FacilityStatus = {
      role: 'facility',
      id: s.id,
      name: s.config.name,
      fingerprint: me.fingerprint,
      secret_key: keyProtection,
      db: s.config.db ?? null,
      hub: hub ? summary(hub) : null,
      tracked: [],
      pending: 0,
      oldest_pending: null,
      last_export: null,
      last_ack: null,
    };
    const lastExport = s.state.prepare('SELECT run_id, min(at) AS at, drive FROM ferry_exports GROUP BY run_id ORDER BY max(rowid) DESC LIMIT 1').get() as { run_id: string; at: string; drive: string } | undefined;
    if (lastExport) {
      type Bundles = NonNullable<FacilityStatus['last_export']>['bundles'];
      const bundles = s.state.prepare('SELECT file, bundle_id, first_seq, last_seq, changes FROM ferry_exports WHERE run_id = ? ORDER BY first_seq').all(lastExport.run_id) as Bundles;
      base.last_export = { at: lastExport.at, drive: lastExport.drive, bundles };
    }
    base.last_ack = (s.state.prepare('SELECT at, hub, bundle_id, first_seq, last_seq FROM ferry_acks_received ORDER BY at DESC LIMIT 1').get() as FacilityStatus['last_ack'] | undefined) ?? null;
    if (!s.config.db) return base;
    const db = facilityDb(s);
    try {
      const now = ctx.now();
      refreshTracking(db, now.getTime());
      const pending = pendingByTable(db);
      base.tracked = trackedTables(db).map((t) => ({ table: t.name, key: t.key, active: t.active, pending: pending.find((p) => p.table === t.name)?.pending ?? 0 }));
      base.pending = pending.reduce((n, p) => n + p.pending, 0);
      const oldest = oldestPending(db);
      if (oldest) {
        // A clock edited beyond the dates JavaScript can hold (year 275760) is shown as that limit: absurd enough to be seen, and no crash.
        const capturedMs = Math.min(Math.max(oldest.wallMs, -MAX_DATE_MS), MAX_DATE_MS);
        base.oldest_pending = { seq: oldest.seq, captured_at: new Date(capturedMs).toISOString(), age_seconds: Math.max(0, Math.round((now.getTime() - oldest.wallMs) / 1000)) };
      }
      return base;
    } finally {
      db.close();
    }
  });
}
