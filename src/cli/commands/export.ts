import { basename } from 'node:path';
import { defineCommand } from '../command.js';
import { exitCodeForOutcome } from '../exit-codes.js';
import { printVerdict } from '../verdict-lines.js';

export default defineCommand<{ to: string; maxBundleBytes?: number }>({
  command: 'export',
  describe: 'facility: write every change the hub has not acknowledged to a drive, as signed and encrypted bundles',
  builder: (y) =>
    y
      .option('to', { type: 'string', demandOption: true, describe: 'the drive (its root folder); bundles go to DIR/FERRY/bundles' })
      .option('max-bundle-bytes', { type: 'number', describe: 'split into bundles of at most this size (default 256 MiB)' }),
  async run(a, ctx, out) {
    const { exportDrive } = await import('../../roles/export.js');
    const r = await exportDrive(ctx, { to: a.to, ...(a.maxBundleBytes !== undefined ? { maxBundleBytes: a.maxBundleBytes } : {}) });
    // Every warning in full, on every export while it holds; the verdict counts them.
    for (const w of r.warnings) out.line(`warning: ${w}`);
    for (const b of r.already_on_drive) out.line(`already on the drive: ${basename(b.file)} (changes ${b.seq.first}–${b.seq.last}, ${b.changes} changes)`);
    for (const b of r.written) out.line(`wrote ${basename(b.file)}: changes ${b.seq.first}–${b.seq.last}, ${b.changes} changes, ${b.bytes} bytes, read back and verified`);
    printVerdict(r.verdict, out);
    out.result({ ...r });
    return exitCodeForOutcome(r.verdict.outcome);
  },
});
