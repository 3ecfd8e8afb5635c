import { defineCommand } from '../command.js';

export default defineCommand<{ id: string; reason?: string }>({
  command: 'revoke <id>',
  describe: "hub: refuse a facility's bundles from now on",
  builder: (y) => y.positional('id', { type: 'string', describe: 'facility id' }).option('reason', { type: 'string', describe: 'why (kept in the audit log and shown on refusals)' }),
  async run(a, ctx, out) {
    const { revoke } = await import('../../node/trust.js');
    const r = await revoke(ctx, { id: a.id, ...(a.reason ? { reason: a.reason } : {}) });
    out.line(r.outcome === 'revoked' ? `revoked ${r.peer.id} (${r.peer.fingerprint}): its bundles are refused from now on` : `${r.peer.id} was already revoked on ${r.peer.revoked?.at}`);
    out.result({ peer: r.peer.id, fingerprint: r.peer.fingerprint, outcome: r.outcome, revoked_at: r.peer.revoked?.at, reason: r.peer.revoked?.reason });
  },
});
