import { defineCommand } from '../command.js';

export default defineCommand<{ all: boolean }>({
  command: 'sends',
  describe: 'hub: the standing sends (records and facilities followed), per receiving facility',
  builder: (y) => y.option('all', { type: 'boolean', default: false, describe: 'stopped ones too' }),
  async run(a, ctx, out) {
    const { listSends } = await import('../../hub/send.js');
    const list = await listSends(ctx, { all: a.all });
    if (list.length === 0) out.line(a.all ? 'no sends recorded' : 'no standing sends');
    for (const x of list) {
      const what = x.table === null ? `everything from ${x.origin}` : `${x.origin}'s ${x.table} ${JSON.stringify(x.key)}`;
      out.line(`#${x.id} to ${x.recipient}: ${what}; since ${x.created_at}${x.reason ? ` (${x.reason})` : ''}${x.stopped_at ? `; stopped ${x.stopped_at}` : ''}`);
    }
    out.result({ sends: list });
  },
});
