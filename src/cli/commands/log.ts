import { defineCommand } from '../command.js';

export default defineCommand<{ limit: number }>({
  command: 'log',
  describe: 'the audit log: every export, import, ack, refusal and conflict resolution',
  builder: (y) => y.option('limit', { type: 'number', default: 200, describe: 'how many of the latest entries' }),
  async run(a, ctx, out) {
    const { auditLog } = await import('../../node/log.js');
    const entries = await auditLog(ctx, { limit: a.limit });
    for (const e of entries) {
      const d = e.detail ? Object.entries(e.detail).filter(([k]) => k !== 'file').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ') : '';
      out.line(`${e.at}  ${e.action.padEnd(16)} ${e.outcome.padEnd(16)} ${e.peer ?? ''}${e.bundle_id ? ` ${e.bundle_id.slice(0, 12)}` : ''} ${d}`.trimEnd());
    }
    out.result({ entries });
  },
});
