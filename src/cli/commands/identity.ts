import { defineCommand } from '../command.js';

export default defineCommand<{ out?: string }>({
  command: 'identity',
  describe: "show this node's public identity; --out writes the identity card for peers",
  builder: (y) => y.option('out', { type: 'string', describe: 'write the public identity card to this file' }),
  async run(a, ctx, out) {
    const { showIdentity } = await import('../../node/identity.js');
    const r = await showIdentity(ctx, a.out ? { out: a.out } : {});
    out.line(`${r.identity.role} ${r.identity.id} (${r.identity.name})`);
    out.line(`fingerprint: ${r.identity.fingerprint}`);
    if (r.written) out.line(`identity card written to ${r.written}: give it to your peer and read the fingerprint aloud`);
    out.result({ card: r.card, ...(r.written ? { written: r.written } : {}) });
  },
});
