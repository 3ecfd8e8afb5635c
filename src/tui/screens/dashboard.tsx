import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import type { FacilityStatus, HubStatus, StatusResult } from '../../roles/status.js';
import { ago, Field, n, when } from '../components.js';
import { visible } from '../../core/visible-text.js';
import { isFacility } from '../../node/role.js';
import type { Role } from '../../format/identity.js';
import { scopeName } from '../../format/records.js';
import type { LoadError } from '../reducer.js';

/** By the node's role from its config: a node whose status cannot be read keeps its own keys. */
export const dashboardKeys = (role: Role): string | [string, string] =>
  role === 'hub'
    ? ['[i] import  [e] export  [s] send a record  [o] outgoing  [c] conflicts', '[t] tables, rejected  [u] quarantine  [p] peers  [l] log  [r] refresh  [q] quit']
    : ['[e] export  [i] read acks and records  [a] ask for a record  [v] received', '[p] peers  [l] log  [r] refresh  [q] quit'];

/** Said on the dashboard, where the IT officer looks first: keys in the clear on a stolen laptop are the node. */
const plainKeyWarning = (s: StatusResult) => (s.secret_key === 'plain' ? '  KEYS NOT ENCRYPTED: run ferry passphrase' : '');

function Facility({ s }: { s: FacilityStatus }) {
  return (
    <Box flexDirection="column">
      <Field label="This node">{`${s.id} · ${s.name} (facility)`}</Field>
      <Field label="Fingerprint">{`${s.fingerprint}${plainKeyWarning(s)}`}</Field>
      <Field label="Hub">{s.hub ? `${s.hub.id} · fingerprint ${s.hub.fingerprint}` : 'none trusted yet: press [p] to trust the hub card'}</Field>
      <Text> </Text>
      <Field label="Pending">{s.pending === 0 ? 'nothing: the hub has confirmed every change' : `${n(s.pending)} change(s) not yet confirmed by the hub`}</Field>
      <Field label="Oldest pending">{s.oldest_pending ? `change ${n(s.oldest_pending.seq)}, captured ${when(s.oldest_pending.captured_at)} (${ago(s.oldest_pending.captured_at)})` : '-'}</Field>
      <Field label="Last export">{s.last_export ? `${when(s.last_export.at)} to ${s.last_export.drive} (${s.last_export.bundles.length} bundle(s))` : 'never'}</Field>
      <Field label="Last ack">{s.last_ack ? `${when(s.last_ack.at)} from ${s.last_ack.hub}: changes ${n(s.last_ack.first_seq)}–${n(s.last_ack.last_seq)}` : 'none yet'}</Field>
      <Field label="Received">{receivedSummary(s)}</Field>
      <Text> </Text>
      <Text bold>Tracked tables</Text>
      {s.tracked.length === 0 ? <Text>none yet (ferry track --table NAME)</Text> : null}
      {s.tracked.slice(0, 7).map((t) => (
        <Text key={t.table} wrap="truncate-end">{`  ${visible(t.table).padEnd(22)} ${scopeName(t.scope).padEnd(14)} ${String(n(t.pending)).padStart(9)} pending${t.active ? '' : '  (no longer tracked)'}${s.tracking_needs_refresh?.includes(t.table) ? '  columns changed: all rows go again at export' : ''}`}</Text>
      ))}
    </Box>
  );
}

/** Records the hub sent this facility: how many, from which facilities, the latest; [v] lists them. */
function receivedSummary(s: FacilityStatus): string {
  const own = s.received.filter((r) => r.scope === 'facility');
  if (s.received.length === 0) return 'no records from the hub yet';
  const origins = [...new Set(own.map((r) => r.origin))];
  const latest = s.received.map((r) => r.last_received).sort().at(-1)!;
  const rows = own.reduce((x, r) => x + r.rows, 0);
  return `${own.length ? `${n(rows)} row(s) from ${origins.slice(0, 3).join(', ')}${origins.length > 3 ? '…' : ''}` : 'shared reference data only'}, last ${when(latest)} ([v])`;
}

/** What the hub sends back out: rows waiting for receipts, standing sends; [o] lists them per facility. */
function outgoingSummary(s: HubStatus): string {
  if (s.outgoing.length === 0) return 'nothing yet ([s] sends a record)';
  const waiting = s.outgoing.reduce((x, o) => x + o.waiting, 0);
  const sends = s.outgoing.reduce((x, o) => x + o.sends, 0);
  return `${n(waiting)} row(s) await receipts (${s.outgoing.filter((o) => o.waiting).length} facility); ${sends} send(s) ([o])`;
}

/** On the facilities' line, as whose rows the tables hold is what [t] shows. */
function tablesSummary(s: HubStatus): string {
  if (s.tables.length === 0) return '';
  const shared = s.tables.filter((t) => t.scope === 'shared').length;
  return `  ·  ${s.tables.length} table(s): ${s.tables.length - shared} facility-owned, ${shared} shared ([t])`;
}

/** The count here; why, and what to do, in full under the tables ([t]). */
function rejectedSummary(s: HubStatus): string {
  if (s.rejected_changes === 0) return 'none';
  const facilities = new Set(s.rejections.map((r) => r.facility)).size;
  return `${n(s.rejected_changes)} change(s) of ${facilities} facility(ies) wait: why, press [t]`;
}

function Hub({ s }: { s: HubStatus }) {
  return (
    <Box flexDirection="column">
      <Field label="This node">{`${s.id} · ${s.name} (hub)`}</Field>
      <Field label="Fingerprint">{`${s.fingerprint}${plainKeyWarning(s)}`}</Field>
      <Field label="Open conflicts">{s.open_conflicts === 0 ? 'none' : `${s.open_conflicts} (press [c])`}</Field>
      <Field label="Quarantined">{s.quarantined.length === 0 ? 'none' : `${s.quarantined.length} refused bundle(s) (press [u])`}</Field>
      <Field label="Rejected">{rejectedSummary(s)}</Field>
      <Field label="Gaps">{s.gaps.length === 0 ? 'none' : s.gaps.slice(0, 2).map((g) => `${g.origin} ${n(g.first)}–${n(g.last)} missing`).join('; ')}</Field>
      <Field label="Outgoing">{outgoingSummary(s)}</Field>
      <Text> </Text>
      <Text bold wrap="truncate-end">{`Facilities (${s.facilities.length})${tablesSummary(s)}`}</Text>
      {s.facilities.slice(0, 5).map((f) => (
        <Text key={f.id} wrap="truncate-end">{`  ${visible(f.id).padEnd(12)} ${f.fingerprint}  ${f.revoked ? 'REVOKED' : `${f.bundles} bundle(s) to ${n(f.highest_seq)}, last ${f.last_import ? when(f.last_import).slice(5) : 'never'}`}`}</Text>
      ))}
      <Text> </Text>
      <Text bold>Last imports</Text>
      {s.recent_imports.length === 0 ? <Text>  none yet</Text> : null}
      {s.recent_imports.slice(0, 3).map((b) => (
        <Text key={b.bundle_id} wrap="truncate-end">{`  ${when(b.applied_at)}  ${visible(b.origin).padEnd(10)} ${n(b.first_seq)}–${n(b.last_seq)}: ${n(b.applied)} applied, ${n(b.already_present)} had, ${b.conflicts} conflicts`}</Text>
      ))}
    </Box>
  );
}

/**
 * Why the status could not be read and what to do, wrapped in full: the message names the file
 * and the hint is the way out (for an outdated hub database, `ferry migrate`, which backs it up first).
 */
function LoadFailed({ e }: { e: LoadError }) {
  return (
    <Box flexDirection="column">
      <Text bold>This node's status could not be read:</Text>
      <Text>{e.message}</Text>
      {e.hint ? (
        <>
          <Text> </Text>
          <Text>{`What to do: ${e.hint}`}</Text>
        </>
      ) : null}
      <Text> </Text>
      <Text>Press [r] to read it again.</Text>
    </Box>
  );
}

export function Dashboard({ status, loadError }: { status: StatusResult | undefined; loadError?: LoadError | undefined }) {
  if (loadError) return <LoadFailed e={loadError} />;
  if (!status) return <Text>Loading…</Text>;
  return isFacility(status) ? <Facility s={status} /> : <Hub s={status} />;
}
