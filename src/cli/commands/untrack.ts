import { defineCommand } from '../command.js';

export default defineCommand<{ table: string[] }>({
  command: 'untrack',
  describe: 'facility: stop capturing changes to these tables (what was captured still goes to the hub)',
  builder: (y) => y.option('table', { type: 'string', array: true, demandOption: true, describe: 'table to stop tracking' }),
  async run(a, ctx, out) {
    const { untrack } = await import('../../facility/track.js');
    const r = await untrack(ctx, { tables: a.table.flatMap((t) => t.split(',')) });
    for (const u of r) out.line(`${u.table}: no longer tracked; ${u.unsent} captured change(s) still wait for the hub and will be exported`);
    out.result({ tables: r });
  },
});
