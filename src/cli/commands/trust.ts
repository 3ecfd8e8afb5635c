import { defineCommand } from '../command.js';

export default defineCommand<{ card: string; replace: boolean; reinstate: boolean }>({
  command: 'trust <card>',
  describe: 'trust a peer from its identity card (a facility trusts its hub; a hub enrols facilities)',
  builder: (y) =>
    y
      .positional('card', { type: 'string', describe: 'identity card file' })
      .option('replace', { type: 'boolean', default: false, describe: 'accept a new key for a peer already trusted (after checking its fingerprint aloud)' })
      .option('reinstate', { type: 'boolean', default: false, describe: 'hub: trust again a facility that was revoked (recorded in the log)' }),
  async run(a, ctx, out) {
    const { trustPeer } = await import('../../node/trust.js');
    const r = await trustPeer(ctx, { card: a.card, replace: a.replace, reinstate: a.reinstate });
    const what = { added: 'now trusted', unchanged: 'already trusted, nothing changed', replaced: 'key replaced', 're-enrolled': 'reinstated: it was revoked and is trusted again' }[r.outcome];
    out.line(`${r.peer.role} ${r.peer.id} (${r.peer.name}): ${what}`);
    out.line(`fingerprint: ${r.peer.fingerprint}   <- compare this aloud with ${r.peer.id} before relying on it`);
    if (r.previous_fingerprint) out.line(`previous fingerprint: ${r.previous_fingerprint}`);
    out.result({ peer: { id: r.peer.id, name: r.peer.name, role: r.peer.role, fingerprint: r.peer.fingerprint }, outcome: r.outcome, ...(r.previous_fingerprint ? { previous_fingerprint: r.previous_fingerprint } : {}) });
  },
});
