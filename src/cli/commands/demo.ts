import { runDemo } from '../../ops/demo.js';
import { defineCommand } from '../command.js';

export default defineCommand<{ dir?: string }>({
  command: 'demo',
  describe: 'run the whole loop on the built-in Synthea sample, in a temporary folder',
  builder: (y) => y.option('dir', { type: 'string', describe: 'folder to build the demo in (default: a new temporary folder)' }),
  async run(a, _ctx, out) {
    const r = await runDemo({ ...(a.dir ? { folder: a.dir } : {}), say: (l) => out.line(l) });
    out.result({ folder: r.folder, drive: r.drive, homes: r.homes, hub_rows: r.hubRows, conflicts: r.conflicts, pending_after: r.pendingAfter });
  },
});
