import type { ConflictVersion } from '../../hub/conflicts.js';
import type { EncodedValue } from '../../format/values.js';
import { defineCommand } from '../command.js';
import { ErrorCodes, usageError } from '../../core/errors.js';

const show = (v: EncodedValue | undefined) => (v === undefined || v === null ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const when = (clock: string) => {
  const [wall, counter] = clock.split('.').map(Number);
  return `${new Date(wall!).toISOString()}${counter ? ` +${counter}` : ''}`;
};
/** Whose version it is first: the operator decides between two facilities. */
const who = (v: ConflictVersion) => `${v.origin}'s version, ${v.seq ? `change ${v.seq}` : '(hub override)'}, clock ${when(v.clock)}${v.row ? '' : ' (deleted)'}`;

export default defineCommand<{ action?: string; id?: number; keep?: 'current' | 'other'; all: boolean }>({
  command: 'conflicts [action] [id]',
  describe: 'hub: list rows of shared tables edited at two facilities; `conflicts resolve ID --keep current|other` overrides the choice',
  builder: (y) =>
    y
      .positional('action', { choices: ['list', 'resolve'] as const, describe: 'list (default) or resolve' })
      .positional('id', { type: 'number', describe: 'conflict id (for resolve)' })
      .option('keep', { choices: ['current', 'other'] as const, describe: 'resolve: keep the version in the table (current) or the other one' })
      .option('all', { type: 'boolean', default: false, describe: 'list resolved conflicts too' }),
  async run(a, ctx, out) {
    const { listConflicts, resolveConflict } = await import('../../hub/conflicts.js');
    if (a.action === 'resolve') {
      if (a.id === undefined || !a.keep) {
        throw usageError(ErrorCodes.USAGE, 'resolve needs a conflict id and --keep current|other', { hint: 'e.g. `ferry conflicts resolve 3 --keep other`' });
      }
      const r = await resolveConflict(ctx, { id: a.id, keep: a.keep });
      out.line(`conflict ${a.id} resolved: kept ${r.kept} (${who(r.kept === 'current' ? r.conflict.current : r.conflict.other)})${r.changed ? '; the table now holds it' : '; the table was already holding it'}`);
      out.result({ id: a.id, kept: r.kept, changed: r.changed });
      return;
    }
    const list = await listConflicts(ctx, { all: a.all });
    // Rows of facility-owned tables are each one facility's and never conflict: every open conflict is in a shared
    // table. A resolved one may be older than scopes (`ferry migrate` closes those of tables made facility-owned).
    if (list.length === 0) out.line(a.all ? 'no conflicts recorded' : 'no open conflicts');
    else if (a.all) out.line(`${list.length} conflict(s) recorded, open and resolved; open ones are in shared tables`);
    else out.line(`${list.length} open conflict(s) in shared tables: the same row edited at two facilities`);
    for (const c of list) {
      out.line(`#${c.id} ${c.resolved_at ? 'table' : 'shared table'} ${c.table}, key ${JSON.stringify(c.key)}${c.resolved_at ? `  resolved: ${c.resolution}` : ''}`);
      if (c.flag === 'clock-ahead') out.line('   FLAG clock-ahead: a clock was more than a day ahead of this hub\'s when it arrived, so it could not win; check that facility\'s clock');
      out.line(`   current (in the table): ${who(c.current)}`);
      out.line(`   other (kept for review): ${who(c.other)}`);
      if (c.differing.length) out.line(`   fields that differ, ${c.current.origin}'s  |  ${c.other.origin}'s:`);
      for (const col of c.differing) out.line(`   * ${col}: ${show(c.current.row?.[col])}  |  ${show(c.other.row?.[col])}`);
    }
    out.result({ conflicts: list });
  },
});
