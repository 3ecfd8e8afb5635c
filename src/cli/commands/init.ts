import type { Role } from '../../format/identity.js';
import { defineCommand } from '../command.js';
import { isHub } from '../../node/role.js';

export default defineCommand<{ role: Role; id: string; name?: string; db?: string; 'db-password-file'?: string }>({
  command: 'init',
  describe: 'create a node (facility or hub) with new keys in --home',
  builder: (y) =>
    y
      .option('role', { choices: ['facility', 'hub'] as const, demandOption: true, describe: 'what this node is' })
      .option('id', { type: 'string', demandOption: true, describe: 'node id: letters, digits, . _ - (e.g. RW-017)' })
      .option('name', { type: 'string', describe: 'a readable name, e.g. "Kigali District Hospital"' })
      .option('db', { type: 'string', describe: 'hub: the hub database, a SQLite file (default HOME/hub.db) or postgresql://USER@HOST/DB (no password in it); facility: the EMR database' })
      .option('db-password-file', { type: 'string', describe: 'hub on PostgreSQL: a file only you can read (chmod 600) holding the password, if PGPASSWORD or ~/.pgpass do not give it' }),
  async run(a, ctx, out) {
    const { initNode } = await import('../../node/init.js');
    const r = await initNode(ctx, { role: a.role, id: a.id, ...(a.name ? { name: a.name } : {}), ...(a.db ? { db: a.db } : {}), ...(a['db-password-file'] ? { dbPasswordFile: a['db-password-file'] } : {}) });
    out.line(`created ${r.identity.role} ${r.identity.id} in ${r.home}`);
    out.line(`fingerprint: ${r.identity.fingerprint}`);
    if (r.db) out.line(`database: ${r.db}`);
    out.line(`next: write your identity card with \`ferry identity --out ${r.identity.id}.card.json\` and give it to your ${isHub(r.identity) ? 'facilities' : 'hub'}`);
    out.result({ home: r.home, id: r.identity.id, role: r.identity.role, fingerprint: r.identity.fingerprint, ...(r.db ? { db: r.db } : {}) });
  },
});
