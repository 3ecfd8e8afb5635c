/** `ferry status`: what a node knows about itself, its peers and its queue. */
import { readSecretKeyFile } from '../store/home.js';
import { Emr } from '../capture/emr.js';
import type { Gap, HubStore, HubTable, LedgerEntry, RejectedChanges, TableRows } from '../store/hub-store.js';
import type { TableScope } from '../format/records.js';
import type { OpContext } from '../node/context.js';
import { withSession, type NodeSession } from '../node/node-session.js';
import { isFacility, isHub } from '../node/role.js';
import { listQuarantined, type QuarantineEntry } from '../hub/quarantine.js';
import type { OutgoingSummary } from '../store/outgoing-store.js';
import { ReceivedDb, type ReceivedBundle, type ReceivedSummary } from '../store/received-db.js';
import { receivedDbPath } from '../facility/receive.js';

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
  tracked: Array<{ table: string; key: string[]; scope: TableScope; active: boolean; pending: number }>;
  pending: number;
  oldest_pending: { seq: number; captured_at: string; age_seconds: number } | null;
  last_export: { at: string; drive: string; bundles: Array<{ file: string; bundle_id: string; first_seq: number; last_seq: number; changes: number }> } | null;
  last_ack: { at: string; hub: string; bundle_id: string; first_seq: number; last_seq: number } | null;
  /** tracked tables whose columns changed since tracking: the next `ferry export` (or `ferry track`) sends their rows again; absent when none */
  tracking_needs_refresh?: string[];
  /** the received database: the rows the hub sent this facility (attach it to read them) */
  received_db: string;
  /** rows received, per facility they came from and table, and when the last arrived */
  received: ReceivedSummary[];
  /** the hub's bundles applied here, newest first */
  received_bundles: Array<Pick<ReceivedBundle, 'bundle_id' | 'first_seq' | 'last_seq' | 'changes' | 'applied' | 'applied_at'>>;
}

/** A table the hub holds, and whose its rows are. */
export interface HubTableStatus {
  table: string;
  /** facility: each row belongs to the facility that sent it (ferry_origin); shared: rows of every facility merged by the key */
  scope: TableScope;
  /** the source's key: a facility-owned table is keyed at the hub by ferry_origin and this */
  key: string[];
  rows: number;
  /** facility-owned: the rows of each facility that has any, by facility id; shared: null, the rows are everyone's */
  rows_by_facility: Array<{ facility: string; rows: number }> | null;
}

export interface HubStatus {
  role: 'hub';
  id: string;
  name: string;
  fingerprint: string;
  secret_key: 'sealed' | 'plain';
  db: string;
  /** which store holds the hub and where: "SQLite database PATH" or "PostgreSQL database DB as USER at HOST:PORT" (never a password) */
  store: string;
  facilities: Array<PeerSummary & { bundles: number; last_import: string | null; highest_seq: number }>;
  tables: HubTableStatus[];
  recent_imports: LedgerEntry[];
  gaps: Gap[];
  open_conflicts: number;
  rejected_changes: number;
  /** the rejected changes, per facility, table and reason: they wait at the facility; the reason says what to do */
  rejections: Array<Omit<RejectedChanges, 'origin'> & { facility: string }>;
  quarantined: QuarantineEntry[];
  /** per facility: what is queued for it and what it has acknowledged (records sent back out) */
  outgoing: OutgoingSummary[];
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

/**
 * Status only reads: it takes no lock and writes nothing to the EMR or the node's state (the TUI
 * calls it on every refresh, beside a running export). Schema changes it notices are reported
 * for the next export or `ferry track` to pick up, not applied here.
 */
export function status(ctx: OpContext): Promise<StatusResult> {
  return withSession<StatusResult>(ctx, undefined, 'status', (s) => {
    const keyProtection = readSecretKeyFile(ctx.home, s.id).version === 2 ? 'sealed' : 'plain';
    return isHub(s.config) ? hubStatus(s, keyProtection) : facilityStatus(s, keyProtection);
  });
}

async function hubStatus(s: NodeSession, keyProtection: HubStatus['secret_key']): Promise<HubStatus> {
  const store = s.hubStore();
  const by = new Map((await store.originSummaries()).map((r) => [r.origin.toLowerCase(), r]));
  const peers = await s.directory().peers();
  return {
    role: 'hub',
    id: s.id,
    name: s.config.name,
    fingerprint: s.identity().fingerprint,
    secret_key: keyProtection,
    db: s.config.db!,
    store: store.where,
    facilities: peers.filter(isFacility).map((p) => {
      const r = by.get(p.id.toLowerCase());
      return { ...summary(p), bundles: r?.bundles ?? 0, last_import: r?.last_import ?? null, highest_seq: r?.highest_seq ?? 0 };
    }),
    tables: tableStatus(await store.tables(), await store.rowsByFacility()),
    recent_imports: await store.recentBundles(10),
    gaps: await store.gaps(),
    open_conflicts: await store.openConflictCount(),
    ...(await rejectedChanges(store)),
    quarantined: await listQuarantined(s.ctx.home, store),
    outgoing: await store.outgoingSummary(),
  };
}

/** One read, so the count and the list always agree. */
async function rejectedChanges(store: HubStore): Promise<Pick<HubStatus, 'rejected_changes' | 'rejections'>> {
  const rejections = (await store.rejectedChanges()).map(({ origin, ...r }) => ({ facility: origin, ...r }));
  return { rejected_changes: rejections.reduce((n, r) => n + r.changes, 0), rejections };
}

function tableStatus(tables: HubTable[], counts: TableRows[]): HubTableStatus[] {
  return tables.map((t) => {
    const mine = counts.filter((c) => c.table === t.name);
    const rows = mine.reduce((n, c) => n + c.rows, 0);
    if (t.scope === 'shared') return { table: t.name, scope: t.scope, key: t.key, rows, rows_by_facility: null };
    const byFacility = mine.filter((c) => c.origin !== null && c.rows > 0).map((c) => ({ facility: c.origin!, rows: c.rows }));
    return { table: t.name, scope: t.scope, key: t.key, rows, rows_by_facility: byFacility };
  });
}

async function facilityStatus(s: NodeSession, keyProtection: FacilityStatus['secret_key']): Promise<FacilityStatus> {
  const hub = (await s.directory().peers()).find(isHub);
  const base: FacilityStatus = {
    role: 'facility',
    id: s.id,
    name: s.config.name,
    fingerprint: s.identity().fingerprint,
    secret_key: keyProtection,
    db: s.config.db ?? null,
    hub: hub ? summary(hub) : null,
    tracked: [],
    pending: 0,
    oldest_pending: null,
    last_export: s.state.lastExport() ?? null,
    last_ack: s.state.lastAck() ?? null,
    received_db: receivedDbPath(s.ctx.home),
    received: [],
    received_bundles: [],
  };
  const received = ReceivedDb.openToRead(base.received_db);
  if (received) {
    try {
      base.received = received.summary();
      base.received_bundles = received.bundles(10).map(({ bundle_id, first_seq, last_seq, changes, applied, applied_at }) => ({ bundle_id, first_seq, last_seq, changes, applied, applied_at }));
    } finally {
      received.close();
    }
  }
  if (!s.config.db) return base;
  const emr = Emr.openForReading(s.config.db);
  try {
    const now = s.ctx.now();
    const pending = emr.pendingByTable();
    base.tracked = emr.trackedTables().map((t) => ({ table: t.name, key: t.key, scope: t.scope, active: t.active, pending: pending.find((p) => p.table === t.name)?.pending ?? 0 }));
    base.pending = pending.reduce((n, p) => n + p.pending, 0);
    const oldest = emr.oldestPending();
    if (oldest) {
      // A clock edited beyond the dates JavaScript can hold (year 275760) is shown as that limit: absurd enough to be seen, and no crash.
      const capturedMs = Math.min(Math.max(oldest.wallMs, -MAX_DATE_MS), MAX_DATE_MS);
      base.oldest_pending = { seq: oldest.seq, captured_at: new Date(capturedMs).toISOString(), age_seconds: Math.max(0, Math.round((now.getTime() - oldest.wallMs) / 1000)) };
    }
    const drift = emr.trackingDrift();
    if (drift.length) base.tracking_needs_refresh = drift;
    return base;
  } finally {
    emr.close();
  }
}
