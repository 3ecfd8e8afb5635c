import { defineCommand } from '../command.js';
import { scopeName } from '../../format/records.js';
import { isFacility } from '../../node/role.js';
import { tableRowLines } from '../table-rows.js';
import { rejectedChangesLine } from '../../roles/rejection-text.js';

const age = (s: number) => (s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} days`);

export default defineCommand({
  command: 'status',
  describe: 'what this node is waiting for: pending changes, last export and ack (facility); imports, gaps, conflicts (hub)',
  async run(_a, ctx, out) {
    const { status } = await import('../../roles/status.js');
    const r = await status(ctx);
    out.line(`${r.role} ${r.id} (${r.name})  fingerprint ${r.fingerprint}`);
    if (r.secret_key === 'plain') out.line('WARNING: the secret keys are stored unencrypted; run `ferry passphrase` to seal them');
    if (isFacility(r)) {
      out.line(r.hub ? `hub: ${r.hub.id} (${r.hub.fingerprint})` : 'hub: none trusted yet (run `ferry trust HUB-CARD`)');
      out.line(`database: ${r.db ?? 'none yet (run `ferry track --db PATH --table NAME`)'}`);
      for (const t of r.tracked) out.line(`  ${t.table.padEnd(24)} ${scopeName(t.scope).padEnd(15)} key ${t.key.join(',')}${t.active ? '' : ' (untracked)'}: ${t.pending} pending`);
      out.line(`pending: ${r.pending} change(s) not yet acknowledged by the hub`);
      for (const t of r.tracking_needs_refresh ?? []) out.line(`table ${t}: its columns changed since it was tracked; the next \`ferry export\` sends all its rows again`);
      if (r.oldest_pending) out.line(`oldest pending: change ${r.oldest_pending.seq}, captured ${r.oldest_pending.captured_at} (${age(r.oldest_pending.age_seconds)} ago)`);
      out.line(r.last_export ? `last export: ${r.last_export.at} to ${r.last_export.drive} (${r.last_export.bundles.length} bundle(s))` : 'last export: never');
      out.line(r.last_ack ? `last ack: ${r.last_ack.at} from ${r.last_ack.hub} for changes ${r.last_ack.first_seq}–${r.last_ack.last_seq}` : 'last ack: none yet');
      if (r.received.length === 0) out.line(`records received from the hub: none yet (they go to ${r.received_db})`);
      else {
        out.line(`records received from the hub, in ${r.received_db}:`);
        for (const x of r.received) out.line(`  ${x.scope === 'shared' ? `${x.table.padEnd(24)} shared, ${x.origin}'s version` : `${x.table.padEnd(24)} from ${x.origin}`}: ${x.rows} row(s), last received ${x.last_received}`);
      }
    } else {
      out.line(`database: ${r.store}`);
      out.line(`facilities (${r.facilities.length}):`);
      for (const f of r.facilities) {
        out.line(`  ${f.id.padEnd(16)} ${f.fingerprint}  ${f.revoked ? `REVOKED ${f.revoked.at}` : `${f.bundles} bundle(s), up to change ${f.highest_seq}, last import ${f.last_import ?? 'never'}`}`);
      }
      out.line(`tables (${r.tables.length}):`);
      for (const t of r.tables) for (const l of tableRowLines(t)) out.line(l);
      for (const g of r.gaps) out.line(`gap: changes ${g.first}–${g.last} from ${g.origin} have not arrived`);
      out.line(`open conflicts: ${r.open_conflicts}${r.open_conflicts ? ' (see `ferry conflicts`)' : ''}`);
      out.line(`rejected changes: ${r.rejected_changes}${r.rejected_changes ? ' (they wait at their facility and come again with every export until the cause is fixed)' : ''}`);
      for (const x of r.rejections) out.line(`  ${rejectedChangesLine(x)}`);
      if (r.outgoing.length) {
        out.line('sent back out to facilities:');
        for (const o of r.outgoing) {
          out.line(`  ${o.recipient.padEnd(16)} ${o.waiting} row(s) waiting for its receipt, ${o.acknowledged} acknowledged, ${o.sends} standing send(s); last bundle ${o.last_bundle_at ?? 'never'}, last receipt ${o.last_ack_at ?? 'never'}`);
        }
      }
      out.line(`quarantined bundles: ${r.quarantined.length}`);
      for (const q of r.quarantined.slice(-5)) out.line(`  ${q.at} ${q.reason.code}: ${q.reason.message}${q.station ? ` (copy kept at station ${q.station}: ${q.file})` : ''}`);
    }
    out.result({ ...r });
  },
});
