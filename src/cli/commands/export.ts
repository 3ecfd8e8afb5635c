import { basename } from 'node:path';
import { describeFence } from '../fence-text.js';
import { defineCommand } from '../command.js';
import { exitCodeForOutcome } from '../exit-codes.js';

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
    if (r.restore_fence) out.line(`WARNING: ${describeFence(r.restore_fence)}`);
    for (const k of r.keys_written) out.line(`wrote this node's key rotation notice ${basename(k)} for ${r.hub}`);
    for (const t of r.columns_updated) out.line(`table ${t}: its columns changed; all its rows were queued again`);
    for (const w of r.warnings) out.line(`warning: ${w}`);
    if (r.pending === 0) out.line('nothing pending: every captured change has been acknowledged by the hub; nothing written');
    for (const b of r.already_on_drive) out.line(`already on the drive: ${basename(b.file)} (changes ${b.seq.first}–${b.seq.last}, ${b.changes} changes)`);
    for (const b of r.written) out.line(`wrote ${basename(b.file)}: changes ${b.seq.first}–${b.seq.last}, ${b.changes} changes, ${b.bytes} bytes, read back and verified`);
    if (r.removed_superseded.length) out.line(`removed ${r.removed_superseded.length} older bundle(s) of this node made with keys since replaced; their changes are in the bundles above`);
    if (r.written.length + r.already_on_drive.length > 0) out.line(`${r.pending} change(s) pending for ${r.hub}; the drive at ${r.drive} carries them all.${r.verdict.safe_to_remove ? ' Safe to remove the drive.' : ''}`);
    out.result({ ...r });
    return exitCodeForOutcome(r.verdict.outcome);
  },
});
