import { defineCommand } from '../command.js';
import { count, size } from '../../core/format-numbers.js';
import { scopeName, TABLE_SCOPES, type TableScope } from '../../format/records.js';
import { reportLines } from './migrate.js';

export default defineCommand<{ table: string; scope: TableScope }>({
  command: 'rescope',
  describe: "hub: change a table's scope (facility-owned or shared) on purpose; backs the database up first",
  builder: (y) =>
    y
      .option('table', { type: 'string', demandOption: true, describe: 'the hub table' })
      .option('scope', { choices: TABLE_SCOPES, demandOption: true, describe: 'facility: each row belongs to the facility that sent it; shared: rows merge by their key across facilities' }),
  async run(a, ctx, out) {
    const { rescopeHubTable } = await import('../../hub/rescope-table.js');
    const r = await rescopeHubTable(ctx, { table: a.table, scope: a.scope });
    if (!r.changed) {
      out.line(`${r.table} is ${scopeName(r.to_scope)} already: nothing to change`);
    } else {
      out.line(`backed up to ${r.backup!.path} (${size(r.backup!.bytes)}, integrity checked)`);
      out.line(`${r.table}: ${scopeName(r.from_scope)} -> ${scopeName(r.to_scope)}`);
      for (const l of reportLines({ table: r.table, scope: r.to_scope, key: r.key, rows: r.rows })) out.line(l);
      if (r.rows_merged > 0) out.line(`${count(r.rows_merged)} row(s) that several facilities held alike are one row now`);
      if (r.rows_recovered > 0) out.line(`${count(r.rows_recovered)} row(s) given back to their facilities from conflict records`);
      if (r.conflicts_closed > 0) out.line(`${count(r.conflicts_closed)} open conflict(s) closed: rows of two facilities, kept apart now`);
      const again = r.to_scope === 'shared' ? `ferry track --table ${r.table} --shared` : `ferry track --table ${r.table}`;
      out.line(`next: at every facility that sends ${r.table}, once it has untracked it and nothing it captured is pending, \`${again}\` (docs/OPERATIONS.md "Changing a table's scope"); until then its changes to ${r.table} are refused here and wait at the facility`);
    }
    out.result({ ...r });
  },
});
