import type { WatchEvent } from '../../roles/watch.js';
import type { Verdict } from '../../core/verdict.js';
import { DEFAULT_MOUNT_ROOTS } from '../../drive/mount-roots.js';
import { defineCommand } from '../command.js';
import { exitCodeForOutcome } from '../exit-codes.js';

/** One line per drive, for a log: the verdict as `import` closes with it, its news appended. */
function line(e: WatchEvent): string {
  const v = e.verdict;
  const parts = [
    `${e.at}  ${e.drive}: ${v.outcome === 'partial' ? 'PARTIAL: ' : ''}${v.why}`,
    ...(v.next ? [`next: ${v.next}`] : []),
    ...(v.safe_to_remove ? [] : ['do not remove the drive yet']),
  ];
  return [parts.join('; '), ...v.notices].join(' — ');
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
    const [{ watch }, { watchRunVerdict }] = await Promise.all([import('../../roles/watch.js'), import('../../roles/verdict.js')]);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Each drive's verdict, for the run's: one small entry per insertion, not per poll.
    const seen: Array<{ verdict: Verdict }> = [];
    const roots = a.mountRoot?.length ? a.mountRoot : DEFAULT_MOUNT_ROOTS;
    if (!a.once) out.warn(`watching ${roots.join(', ')} every ${a.interval} s (stop with Ctrl-C or SIGTERM)`);
    try {
      await watch(ctx, {
        mountRoots: roots,
        intervalMs: Math.max(0.1, a.interval) * 1000,
        signal: controller.signal,
        ...(a.once ? { maxPolls: 1 } : {}),
        onEvent: (e) => {
          seen.push({ verdict: e.verdict });
          // One line per drive: a JSON line with --json (a stream of documents, one per drive).
          out.event({ ...e }, e.verdict.outcome !== 'failed');
          out.line(line(e));
        },
      });
    } finally {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
    }
    if (controller.signal.aborted && !out.json) out.warn('stopped');
    return exitCodeForOutcome(watchRunVerdict(seen).outcome);
  },
});
