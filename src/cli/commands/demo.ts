import { relative } from 'node:path';
import { defineCommand } from '../command.js';

export default defineCommand<{ dir?: string }>({
  command: 'demo',
  describe: 'run the whole loop on the built-in Synthea sample, in a temporary folder',
  builder: (y) => y.option('dir', { type: 'string', describe: 'folder to build the demo in (default: a new temporary folder)' }),
  async run(a, _ctx, out) {
    const { runDemo } = await import('../../tools/demo/demo.js');
    // Print the follow-up commands the way ferry was started (a clone has no `ferry` on its PATH).
    const invoked = process.argv[1] ? relative(process.cwd(), process.argv[1]) : '';
    const cli = !invoked || invoked.startsWith('..') || invoked.includes('node_modules') || !invoked.includes('/') ? 'ferry' : invoked;
    const r = await runDemo({ ...(a.dir ? { folder: a.dir } : {}), say: (l) => out.line(l), cli });
    out.result({ ...r });
  },
});
