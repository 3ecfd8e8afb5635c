import { defineCommand } from '../command.js';
import { count, size } from '../../core/format-numbers.js';
import type { OriginRows } from '../../hub/migrate-database.js';

const list = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : v ? [v] : []).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);

/** "RW-017: 1 row, RW-021: 3 rows", or "4 rows" for a shared table. */
export const rowsLine = (rows: OriginRows[]): string =>
  rows.length === 0 ? 'no rows' : rows.map((r) => `${r.origin === null ? '' : `${r.origin}: `}${count(r.rows)} row${r.rows === 1 ? '' : 's'}`).join(', ');

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
      const width = Math.max(0, ...r.tables.map((t) => t.table.length));
      for (const t of r.tables) out.line(`  ${t.table.padEnd(width)}  ${t.scope === 'shared' ? 'shared          ' : 'facility-owned  '}${rowsLine(t.rows)}`);
      if (r.rows_recovered > 0) out.line(`${count(r.rows_recovered)} row(s) given back to their facilities from conflict records (the old hub had merged them with another facility's row of the same key)`);
      if (r.conflicts_closed > 0) out.line(`${count(r.conflicts_closed)} conflict(s) closed: rows of two facilities, kept apart now`);
      out.line('keep the backup until the next imports have gone well');
    }
    out.result({ ...r });
  },
});
