import { defineCommand } from '../command.js';
import { ErrorCodes, usageError } from '../../core/errors.js';

export default defineCommand<{ table: string; where: string; reason?: string; to?: string }>({
  command: 'request',
  describe: "facility: ask the hub for a patient's record by a value you have (the identifier on their card); it travels on the next drive",
  builder: (y) =>
    y
      .option('table', { type: 'string', demandOption: true, describe: 'the table that holds the value (e.g. patient_identifier)' })
      .option('where', { type: 'string', demandOption: true, describe: 'COLUMN=VALUE (e.g. identifier=RW-MUH-017-000005)' })
      .option('reason', { type: 'string', describe: 'why (kept in the audit logs here and at the hub)' })
      .option('to', { type: 'string', describe: 'also write it to this drive now (every later export carries it too, until answered)' }),
  async run(a, ctx, out) {
    const { requestRecord } = await import('../../facility/request.js');
    const at = a.where.indexOf('=');
    if (at <= 0) throw usageError(ErrorCodes.USAGE, `--where ${a.where}: expected COLUMN=VALUE`, { hint: 'e.g. --where identifier=RW-MUH-017-000005' });
    const r = await requestRecord(ctx, { table: a.table, column: a.where.slice(0, at), value: a.where.slice(at + 1), ...(a.reason ? { reason: a.reason } : {}), ...(a.to ? { to: a.to } : {}) });
    out.line(`request ${r.request_id.slice(0, 8)} for ${r.hub}: ${r.file ? `written to the drive (${r.file}); ` : ''}every export carries it until the record arrives (ferry import shows it)`);
    out.result({ ...r });
  },
});
