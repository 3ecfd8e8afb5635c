/** One measured operation in its own process, so that its peak RSS is its own. */
import { readFileSync } from 'node:fs';
import { inMegabytes } from '../../core/format-numbers.js';
import { isHub } from '../../node/role.js';
import { makeContext } from '../../node/context.js';
import { exportChanges } from '../../facility/export.js';
import { importDrive } from '../../roles/import.js';

const [op, home, drive] = process.argv.slice(2) as [string, string, string];
const ctx = makeContext(home);
const start = process.hrtime.bigint();
let detail: unknown;
if (op === 'export') {
  const r = await exportChanges(ctx, { to: drive });
  detail = { bundles: r.written.length, bundle_bytes: r.written.reduce((n, b) => n + b.bytes, 0), changes: r.written.reduce((n, b) => n + b.changes, 0) };
} else {
  const r = await importDrive(ctx, { from: drive });
  detail = isHub(r) ? { outcomes: r.bundles.map((b) => b.outcome), counts: r.bundles.map((b) => b.counts) } : {};
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ seconds, peak_rss_mb: peakRssMb(), detail }));

/**
 * This process's own peak RSS. Not getrusage's ru_maxrss: on Linux a child inherits its parent's
 * value at fork, so a worker started by a 500 MB parent would report 500 MB. VmHWM belongs to the
 * process's own address space, which is new at exec.
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return inMegabytes(Number(m[1]) * 1024, 3);
  } catch {
    // not Linux
  }
  return inMegabytes(process.resourceUsage().maxRSS * 1024, 3);
}
