import { defineCommand, nameList as list } from '../command.js';
import { count, size } from '../../core/format-numbers.js';
import type { TableReport } from '../../hub/migrate-database.js';
import { tableRowLines } from '../table-rows.js';


/** A table after the change, in the lines `ferry status` shows it with. */
export const reportLines = (t: TableReport): string[] =>
  tableRowLines({
    table: t.table,
    scope: t.scope,
    key: t.key,
    rows: t.rows.reduce((n, r) => n + r.rows, 0),
    rows_by_facility: t.scope === 'shared' ? null : t.rows.map((r) => ({ facility: r.origin ?? '', rows: r.rows })),
  });

export default defineCommand<{ shared?: string[] }>({
  command: 'migrate',
  describe: 'hub: convert a hub database an older ferry made to this version (backs it up first)',
  builder: (y) => y.option('shared', { type: 'string', array: true, describe: 'tables whose rows stay merged by their key across facilities (repeat, or comma-separated); every other table becomes facility-owned' }),
  async run(a, ctx, out) {
    const { migrateHubDatabase } = await import('../../hub/migrate-database.js');
    const r = await migrateHubDatabase(ctx, { shared: list(a.shared) });
    if (!r.migrated) {
      out.line(`the hub database is at version ${r.to_version} already: nothing to migrate`);
    } else {
      out.line(`backed up to ${r.backup!.path} (${size(r.backup!.bytes)}, integrity checked)`);
      out.line(`hub database migrated from version ${r.from_version} to ${r.to_version}`);
      for (const t of r.tables) for (const l of reportLines(t)) out.line(l);
      if (r.rows_recovered > 0) out.line(`${count(r.rows_recovered)} row(s) given back to their facilities from conflict records (the old hub had merged them with another facility's row of the same key)`);
      if (r.conflicts_closed > 0) out.line(`${count(r.conflicts_closed)} open conflict(s) closed: rows of two facilities, kept apart now`);
      out.line('keep the backup until the next imports have gone well');
    }
    out.result({ ...r });
  },
});
