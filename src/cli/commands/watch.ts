import type { WatchEvent } from '../../roles/watch.js';
import { DEFAULT_MOUNT_ROOTS } from '../../drive/mount-roots.js';
import { defineCommand } from '../command.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { isHub } from '../../node/role.js';

function summary(e: WatchEvent): string {
  if (e.error) return `failed: ${e.error.message}`;
  const r = e.result!;
  // What the import line alone would not say: a refused key notice, an ack not written.
  const more = e.verdict.outcome === 'ok' ? '' : ` — ${e.verdict.outcome.toUpperCase()}: ${e.verdict.why}${e.verdict.next ? `; next: ${e.verdict.next}` : ''}`;
  return `${counts(r)}${more}`;
}

function counts(r: NonNullable<WatchEvent['result']>): string {
  if (isHub(r)) {
    const n = (o: string) => r.bundles.filter((b) => b.outcome === o).length;
    const refused = r.bundles.filter((b) => b.outcome === 'refused').map((b) => `${b.sender ?? '?'}: ${b.reason?.code}`);
    return `${n('applied')} applied, ${n('already-applied')} already had, ${n('refused')} refused${refused.length ? ` (${refused.join(', ')})` : ''}, ${n('failed')} failed, ${n('skipped')} for other hubs; ${r.acks_written.length} ack(s) written${r.gaps.length ? `; ${r.gaps.length} gap(s)` : ''}`;
  }
  return `${r.acks.filter((a) => a.outcome === 'accepted').length} ack(s) accepted, ${r.acks.filter((a) => a.outcome === 'refused').length} refused; ${r.pending} change(s) pending`;
}

export default defineCommand<{ mountRoot?: string[]; interval: number; once: boolean }>({
  command: 'watch',
  describe: 'import every drive that carries a FERRY/ folder, once per insertion, until stopped (SIGTERM)',
  builder: (y) =>
    y
      .option('mount-root', { type: 'string', array: true, describe: `where drives appear (default: ${DEFAULT_MOUNT_ROOTS.join(', ')})` })
      .option('interval', { type: 'number', default: 5, describe: 'seconds between looks' })
      .option('once', { type: 'boolean', default: false, describe: 'look once, import what is there, and exit (for cron)' }),
  async run(a, ctx, out) {
    const { watch } = await import('../../roles/watch.js');
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    let worst: ExitCodeValue = ExitCode.OK;
    const roots = a.mountRoot?.length ? a.mountRoot : DEFAULT_MOUNT_ROOTS;
    if (!a.once) out.warn(`watching ${roots.join(', ')} every ${a.interval} s (stop with Ctrl-C or SIGTERM)`);
    try {
      await watch(ctx, {
        mountRoots: roots,
        intervalMs: Math.max(0.1, a.interval) * 1000,
        signal: controller.signal,
        ...(a.once ? { maxPolls: 1 } : {}),
        onEvent: (e) => {
          // A run over many drives is partial when any drive was not ok, even one that failed outright.
          if (e.verdict.outcome !== 'ok') worst = ExitCode.PARTIAL;
          // One line per drive: a JSON line with --json (a stream of documents, one per drive).
          out.event({ ...e }, e.verdict.outcome !== 'failed');
          out.line(`${e.at}  ${e.drive}: ${summary(e)}`);
        },
      });
    } finally {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
    }
    if (controller.signal.aborted && !out.json) out.warn('stopped');
    return worst;
  },
});
