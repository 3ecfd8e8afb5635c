import type { Role } from '../../format/identity.js';
import { defineCommand } from '../command.js';
import { isHub } from '../../node/role.js';

export default defineCommand<{ role: Role; id: string; name?: string; db?: string }>({
  command: 'init',
  describe: 'create a node (facility or hub) with new keys in --home',
  builder: (y) =>
    y
      .option('role', { choices: ['facility', 'hub'] as const, demandOption: true, describe: 'what this node is' })
      .option('id', { type: 'string', demandOption: true, describe: 'node id: letters, digits, . _ - (e.g. RW-017)' })
      .option('name', { type: 'string', describe: 'a readable name, e.g. "Kigali District Hospital"' })
      .option('db', { type: 'string', describe: 'hub: the hub database (default HOME/hub.db); facility: the EMR database' }),
  async run(a, ctx, out) {
    const { initNode } = await import('../../node/init.js');
    const r = await initNode(ctx, { role: a.role, id: a.id, ...(a.name ? { name: a.name } : {}), ...(a.db ? { db: a.db } : {}) });
    out.line(`created ${r.identity.role} ${r.identity.id} in ${r.home}`);
    out.line(`fingerprint: ${r.identity.fingerprint}`);
    if (r.db) out.line(`database: ${r.db}`);
    out.line(`next: write your identity card with \`ferry identity --out ${r.identity.id}.card.json\` and give it to your ${isHub(r.identity) ? 'facilities' : 'hub'}`);
    out.result({ home: r.home, id: r.identity.id, role: r.identity.role, fingerprint: r.identity.fingerprint, ...(r.db ? { db: r.db } : {}) });
  },
});
