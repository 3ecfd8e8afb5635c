import { defineCommand, nameList as list } from '../command.js';
import { scopeName } from '../../format/records.js';


export default defineCommand<{ db?: string; table: string[]; key?: string; shared?: boolean }>({
  command: 'track',
  describe: 'facility: capture every change to these tables (installs triggers; queues existing rows)',
  builder: (y) =>
    y
      .option('db', { type: 'string', describe: "the EMR's SQLite database (remembered after the first time)" })
      .option('table', { type: 'string', array: true, demandOption: true, describe: 'table to track (repeat, or comma-separated)' })
      .option('key', { type: 'string', describe: 'identifying columns: for a table without a primary key (e.g. DATE,PATIENT,CODE), or the key a shared table merges by (e.g. uuid)' })
      .option('shared', {
        type: 'boolean',
        describe: "the key means the same row at every facility (a uuid, a code): rows merge by it at the hub; without it each facility's rows stay its own",
      }),
  async run(a, ctx, out) {
    const { track } = await import('../../facility/track.js');
    const key = a.key ? list(a.key) : undefined;
    const r = await track(ctx, { ...(a.db ? { db: a.db } : {}), tables: list(a.table), ...(key ? { key } : {}), ...(a.shared ? { shared: true } : {}) });
    for (const t of r.tables) {
      const what = {
        tracked: `now tracked; ${t.snapshot} existing rows queued`,
        're-tracked': `tracked again; ${t.snapshot} rows queued`,
        'already-tracked': 'already tracked, nothing to do',
        'columns-updated': `columns changed (new: ${t.new_columns?.join(', ') || 'none'}); triggers updated and ${t.snapshot} rows queued again`,
      }[t.outcome];
      // The scope on every line: it decides whose rows these are at the hub, and it is chosen once.
      out.line(`${t.table} (key ${t.key.join(', ')}, ${scopeName(t.scope)}): ${what}`);
      for (const w of t.warnings) out.line(`  warning: ${w}`);
    }
    out.result({ db: r.db, tables: r.tables });
  },
});
