import { defineCommand, nameList } from '../command.js';
import { ErrorCodes, usageError } from '../../core/errors.js';

const tablesLine = (tables: Record<string, number>) =>
  Object.entries(tables)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ') || 'no rows yet';

export default defineCommand<{ to: string; fromFacility?: string; table?: string; key?: string | string[]; where?: string; allFrom?: string; reason?: string; dryRun: boolean; stop: boolean; id?: number }>({
  command: 'send',
  describe: "hub: send a facility's record and everything that belongs to it (or everything it sends) to another facility, on every export until stopped",
  builder: (y) =>
    y
      .option('to', { type: 'string', demandOption: true, describe: 'the facility that receives (an enrolled facility id)' })
      .option('from-facility', { type: 'string', describe: 'the facility the record comes from' })
      .option('table', { type: 'string', describe: 'the table of the record (e.g. patient)' })
      .option('key', { type: 'string', array: true, describe: "the record's key, one value per key column (repeat, or comma-separated)" })
      .option('where', { type: 'string', describe: 'find the record by one column instead: COLUMN=VALUE (e.g. identifier=RW-MUH-017-000005)' })
      .option('all-from', { type: 'string', describe: 'everything this facility sends, now and later' })
      .option('reason', { type: 'string', describe: 'why (kept in the audit log)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'show what would travel (tables, row counts); queue nothing' })
      .option('stop', { type: 'boolean', default: false, describe: 'stop a standing send (rows already sent stay at the facility)' })
      .option('id', { type: 'number', describe: 'with --stop: the send by its number (`ferry sends` lists them)' }),
  async run(a, ctx, out) {
    const { send, stopSend } = await import('../../hub/send.js');
    const key = a.key === undefined ? undefined : nameList(a.key);
    let where: { column: string; value: string } | undefined;
    if (a.where !== undefined) {
      const at = a.where.indexOf('=');
      if (at <= 0) throw usageError(ErrorCodes.USAGE, `--where ${a.where}: expected COLUMN=VALUE`, { hint: 'e.g. --where identifier=RW-MUH-017-000005' });
      where = { column: a.where.slice(0, at), value: a.where.slice(at + 1) };
    }
    if (a.stop) {
      const stopped = await stopSend(ctx, { to: a.to, ...(a.fromFacility ? { from: a.fromFacility } : {}), ...(a.table ? { table: a.table } : {}), ...(key ? { key } : {}), ...(a.allFrom ? { allFrom: a.allFrom } : {}), ...(a.id !== undefined ? { id: a.id } : {}), ...(a.reason ? { reason: a.reason } : {}) });
      for (const x of stopped) out.line(`stopped send #${x.id} to ${x.recipient}: ${x.table === null ? `everything from ${x.origin}` : `${x.origin}'s ${x.table} record`}; rows already sent stay there`);
      out.result({ stopped });
      return;
    }
    const r = await send(ctx, { to: a.to, ...(a.fromFacility ? { from: a.fromFacility } : {}), ...(a.table ? { table: a.table } : {}), ...(key ? { key } : {}), ...(where ? { where } : {}), ...(a.allFrom ? { allFrom: a.allFrom } : {}), ...(a.reason ? { reason: a.reason } : {}), dryRun: a.dryRun });
    const what = r.table === null ? `everything from ${r.origin}` : `${r.origin}'s ${r.table} record and what belongs to it`;
    if (r.dry_run) out.line(`would send ${what} to ${r.to}: ${r.rows} row(s) now (${tablesLine(r.tables)}); nothing was queued`);
    else out.line(`send #${r.id}: ${what} to ${r.to}: ${r.rows} row(s) now (${tablesLine(r.tables)}); they go on the next \`ferry export\`, and later changes follow until \`ferry send --stop\``);
    out.result({ ...r });
  },
});
