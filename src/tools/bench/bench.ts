/**
 * `npm run --silent bench -- --changes N [--json]`: export, import and re-import of N realistic
 * changes, each in its own process (time and peak RSS), against baselines measured in the same
 * run on the same rows: a raw better-sqlite3 upsert, and zlib level 6 of the rows as NDJSON.
 * `--store postgres`: the import into a hub on PostgreSQL instead (postgres-bench.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as zlibConstants, createDeflate } from 'node:zlib';
import { siblingScript } from '../../core/sibling-script.js';
import { EmrFixture } from '../harness/emr-fixture.js';
import { createEncountersDb, makePair } from '../harness/pair.js';
import { BENCH_COLUMNS, benchRows } from '../harness/rows.js';
import { useThrowawayPassphrase } from '../harness/args.js';

useThrowawayPassphrase();
const args = process.argv.slice(2);
const changes = Number(args[args.indexOf('--changes') + 1] ?? 10000);
const json = args.includes('--json');
const keep = args.includes('--keep');
if (!Number.isSafeInteger(changes) || changes < 1 || args.indexOf('--changes') < 0) {
  process.stderr.write('usage: npm run --silent bench -- --changes N [--store sqlite|postgres] [--json] [--keep]\n');
  process.exit(2);
}
const log = (s: string) => {
  if (!json) process.stderr.write(`${s}\n`);
};

const store = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'sqlite';
if (store !== 'sqlite' && store !== 'postgres') {
  process.stderr.write('usage: npm run --silent bench -- --changes N [--store sqlite|postgres] [--json] [--keep]\n');
  process.exit(2);
}
if (store === 'postgres') {
  const { postgresBench } = await import('./postgres-bench.js');
  await postgresBench(changes, { json, keep, log });
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
const columns = BENCH_COLUMNS.map(([c]) => c);
/** Seconds to insert (or upsert) the bench's rows into `encounters`, in one transaction. */
const insertAll = (path: string, upsertKey?: string[]) => EmrFixture.with(path, (db) => db.insert('encounters', columns, benchRows(changes), upsertKey ? { upsertKey } : {}));

try {
  // Nodes
  const { hub, fac, emr } = await makePair(dir, { hub: 'HUB-BENCH', facility: 'RW-BENCH' });
  const plainDb = join(dir, 'plain.db');
  createEncountersDb(plainDb);

  // Capture: the same inserts into a tracked and an untracked table
  log(`capture: inserting ${changes} rows into a tracked and an untracked table…`);
  const plainSeconds = insertAll(plainDb);
  const trackedSeconds = insertAll(emr);

  // Baselines on the same rows
  log('baselines: raw upsert and zlib level 6…');
  const upsertDb = join(dir, 'upsert.db');
  createEncountersDb(upsertDb);
  const upsertSeconds = insertAll(upsertDb, ['Id']);
  let gzipBytes = 0;
  const gzipStart = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const z = createDeflate({ level: 6 });
    z.on('data', (c: Buffer) => (gzipBytes += c.length));
    z.on('end', resolve);
    z.on('error', reject);
    let batch: string[] = [];
    for (const r of benchRows(changes)) {
      const o: Record<string, unknown> = {};
      BENCH_COLUMNS.forEach(([c], i) => (o[c] = r[i]));
      batch.push(`${JSON.stringify(o)}\n`);
      if (batch.length === 1000) {
        z.write(batch.join(''));
        batch = [];
      }
    }
    z.end(batch.join(''), () => z.flush(zlibConstants.Z_FINISH));
  });
  const gzipSeconds = Number(process.hrtime.bigint() - gzipStart) / 1e9;

  // The measured operations, each in its own process
  const worker = siblingScript(import.meta.url, 'worker');
  const drive = join(dir, 'drive');
  mkdirSync(drive);
  const run = (op: string, home: string) => JSON.parse(execFileSync(process.execPath, [...worker.execArgv, worker.file, op, home, drive], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { seconds: number; peak_rss_mb: number; detail: Record<string, unknown> };
  log('export…');
  const ex = run('export', fac.home);
  log('import…');
  const im = run('import', hub.home);
  log('re-import…');
  const re = run('import', hub.home);

  const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
  const upsertRate = changes / upsertSeconds;
  const importRate = changes / im.seconds;
  const bundleBytes = ex.detail.bundle_bytes as number;
  const result = {
    changes,
    export: { seconds: round(ex.seconds), changes_per_s: Math.round(changes / ex.seconds), peak_rss_mb: round(ex.peak_rss_mb, 1), bundle_bytes: bundleBytes, bundles: ex.detail.bundles },
    import: { seconds: round(im.seconds), changes_per_s: Math.round(importRate), peak_rss_mb: round(im.peak_rss_mb, 1) },
    reimport: { seconds: round(re.seconds, 4) },
    capture: { tracked_inserts_per_s: Math.round(changes / trackedSeconds), plain_inserts_per_s: Math.round(changes / plainSeconds) },
    baseline: { upsert_changes_per_s: Math.round(upsertRate), gzip_bytes: gzipBytes, gzip_seconds: round(gzipSeconds) },
    ratios: {
      import_vs_upsert: round(importRate / upsertRate),
      bundle_vs_gzip: round(bundleBytes / gzipBytes),
      reimport_vs_import: round(re.seconds / im.seconds, 4),
      capture_vs_plain: round(plainSeconds / trackedSeconds),
    },
    targets: {
      import_vs_upsert: '>= 0.5',
      bundle_vs_gzip: '<= 1.1',
      reimport_vs_import: '<= 0.01',
      capture_vs_plain: '>= 0.4',
      peak_rss_mb: '<= 200 at 1,000,000 changes',
    },
  };
  const applied = (im.detail.counts as Array<{ applied: number }> | undefined)?.reduce((n, c) => n + c.applied, 0);
  if (applied !== changes) throw new Error(`the import applied ${applied} changes, expected ${changes}`);
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const r = result;
    console.log(`ferry bench: ${changes} changes`);
    console.log(`  export    ${r.export.seconds} s  ${r.export.changes_per_s} changes/s  peak RSS ${r.export.peak_rss_mb} MB  bundle ${r.export.bundle_bytes} bytes in ${r.export.bundles} file(s)`);
    console.log(`  import    ${r.import.seconds} s  ${r.import.changes_per_s} changes/s  peak RSS ${r.import.peak_rss_mb} MB`);
    console.log(`  re-import ${r.reimport.seconds} s`);
    console.log(`  capture   tracked ${r.capture.tracked_inserts_per_s} inserts/s vs untracked ${r.capture.plain_inserts_per_s}`);
    console.log(`  baseline  upsert ${r.baseline.upsert_changes_per_s} changes/s; zlib-6 NDJSON ${r.baseline.gzip_bytes} bytes in ${r.baseline.gzip_seconds} s`);
    console.log(`  ratios    import/upsert ${r.ratios.import_vs_upsert} (>= 0.5)  bundle/gzip ${r.ratios.bundle_vs_gzip} (<= 1.1)  reimport/import ${r.ratios.reimport_vs_import} (<= 0.01)  capture ${r.ratios.capture_vs_plain} (>= 0.4)`);
  }
} finally {
  if (keep) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
