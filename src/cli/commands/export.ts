import { basename } from 'node:path';
import { defineCommand, nameList } from '../command.js';
import { exitCodeForOutcome } from '../exit-codes.js';
import { printVerdict } from '../verdict-lines.js';

export default defineCommand<{ to: string; maxBundleBytes?: number; for?: string | string[] }>({
  command: 'export',
  describe: "facility: write every change the hub has not acknowledged to a drive, as signed and encrypted bundles; hub: write each facility's outgoing records",
  builder: (y) =>
    y
      .option('to', { type: 'string', demandOption: true, describe: 'the drive (its root folder); bundles go to DIR/FERRY/bundles' })
      .option('max-bundle-bytes', { type: 'number', describe: 'split into bundles of at most this size (default 256 MiB)' })
      .option('for', { type: 'string', array: true, describe: 'hub: only for these facilities (repeat, or comma-separated)' }),
  async run(a, ctx, out) {
    const { exportDrive, isHubExport } = await import('../../roles/export.js');
    const only = nameList(a.for);
    const r = await exportDrive(ctx, { to: a.to, ...(only.length ? { for: only } : {}), ...(a.maxBundleBytes !== undefined ? { maxBundleBytes: a.maxBundleBytes } : {}) });
    if (isHubExport(r)) {
      for (const f of r.facilities) {
        for (const b of f.written) out.line(`wrote for ${f.facility}: ${basename(b.file)}: rows ${b.seq.first}–${b.seq.last}, ${b.changes} row(s), ${b.bytes} bytes, read back and verified`);
        if (f.replaced.length) out.line(`  removed ${f.replaced.length} older bundle(s) for ${f.facility}: the new ones carry what they did`);
      }
      printVerdict(r.verdict, out);
      out.result({ ...r });
      return exitCodeForOutcome(r.verdict.outcome);
    }
    // Every warning in full, on every export while it holds; the verdict counts them.
    for (const w of r.warnings) out.line(`warning: ${w}`);
    for (const b of r.already_on_drive) out.line(`already on the drive: ${basename(b.file)} (changes ${b.seq.first}–${b.seq.last}, ${b.changes} changes)`);
    for (const f of r.requests_written) out.line(`wrote record request ${basename(f)} for ${r.hub}`);
    for (const b of r.written) out.line(`wrote ${basename(b.file)}: changes ${b.seq.first}–${b.seq.last}, ${b.changes} changes, ${b.bytes} bytes, read back and verified`);
    printVerdict(r.verdict, out);
    out.result({ ...r });
    return exitCodeForOutcome(r.verdict.outcome);
  },
});
