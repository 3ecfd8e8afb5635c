/**
 * `npm run --silent bench -- --store postgres --changes N [--json]`: ferry's import of N realistic
 * changes into a hub on PostgreSQL (a real, durable throwaway server: fsync on), against a
 * baseline measured in the same run on the same rows with the same client: the rows COPYed into a
 * staging table, then one INSERT … SELECT … ON CONFLICT into a table typed as ferry types it (the
 * way SymmetricDS's PostgreSQL bulk loader stages rows). The export is SQLite's and is measured
 * by the default bench.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { siblingScript } from '../../core/sibling-script.js';
import { q } from '../../core/sql-identifier.js';
import { EmrFixture } from '../harness/emr-fixture.js';
import { makePair } from '../harness/pair.js';
import { BENCH_COLUMNS, benchRows } from '../harness/rows.js';
import { startPostgres } from '../harness/postgres-server.js';
import { pgTypeFor } from '../../store/postgres/values.js';

export async function postgresBench(changes: number, o: { json: boolean; keep: boolean; log: (s: string) => void }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-pg-'));
  const server = await startPostgres({ durable: true });
  try {
    const hubUrl = server.createDatabase('hub');
    const baseUrl = server.createDatabase('baseline');
    const { hub, fac, emr } = await makePair(dir, { hub: 'HUB-BENCH', facility: 'RW-BENCH' }, { hubDb: hubUrl });
    const columns = BENCH_COLUMNS.map(([c]) => c);
    o.log(`capture: inserting ${changes} rows into the facility's tracked table…`);
    EmrFixture.with(emr, (db) => db.insert('encounters', columns, benchRows(changes)));

    o.log('baseline: COPY into a staging table, then INSERT … SELECT … ON CONFLICT…');
    const baseline = await copyBaseline(baseUrl, changes);

    const worker = siblingScript(import.meta.url, 'worker');
    const drive = join(dir, 'drive');
    mkdirSync(drive);
    const run = (op: string, home: string) => JSON.parse(execFileSync(process.execPath, [...worker.execArgv, worker.file, op, home, drive], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { seconds: number; peak_rss_mb: number; detail: Record<string, unknown> };
    o.log('export (SQLite, for the drive)…');
    run('export', fac.home);
    o.log('import into the PostgreSQL hub…');
    const im = run('import', hub.home);
    o.log('re-import…');
    const re = run('import', hub.home);
    const applied = (im.detail.counts as Array<{ applied: number }> | undefined)?.reduce((n, c) => n + c.applied, 0);
    if (applied !== changes) throw new Error(`the import applied ${applied} changes, expected ${changes}`);
    const rows = Number(server.psql('SELECT count(*) FROM encounters', new URL(hubUrl).pathname.slice(1)).trim());
    if (rows !== changes) throw new Error(`the hub holds ${rows} rows, expected ${changes}`);

    const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
    const result = {
      store: 'postgres',
      changes,
      import: { seconds: round(im.seconds), changes_per_s: Math.round(changes / im.seconds), peak_rss_mb: round(im.peak_rss_mb, 1) },
      reimport: { seconds: round(re.seconds, 4) },
      baseline: { method: 'COPY into a staging table, then INSERT … SELECT … ON CONFLICT', seconds: round(baseline), changes_per_s: Math.round(changes / baseline) },
      ratios: { import_vs_copy: round(baseline / im.seconds) },
      targets: { import_vs_copy: '>= 0.5', peak_rss_mb: '<= 200 at 1,000,000 changes' },
    };
    if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      console.log(`ferry bench (PostgreSQL hub): ${changes} changes`);
      console.log(`  import    ${result.import.seconds} s  ${result.import.changes_per_s} changes/s  peak RSS ${result.import.peak_rss_mb} MB`);
      console.log(`  re-import ${result.reimport.seconds} s`);
      console.log(`  baseline  COPY + INSERT … SELECT … ON CONFLICT: ${result.baseline.seconds} s  ${result.baseline.changes_per_s} changes/s`);
      console.log(`  ratio     import/baseline ${result.ratios.import_vs_copy} (>= 0.5)`);
    }
  } finally {
    await server.stop();
    if (o.keep) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** COPY text format: one value, escaped (https://www.postgresql.org/docs/15/sql-copy.html). */
const copyText = (v: unknown): string => (v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r'));

/** Seconds to load the rows the best plain way we found, in one transaction, into a table typed as ferry's. */
async function copyBaseline(url: string, changes: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const cols = ['ferry_origin', ...BENCH_COLUMNS.map(([c]) => c)];
    const types = ['text', ...BENCH_COLUMNS.map(([, t]) => pgTypeFor(t))];
    const defs = cols.map((c, i) => `${q(c)} ${types[i]}`).join(', ');
    await client.query(`CREATE TABLE encounters (${defs}, PRIMARY KEY (ferry_origin, "Id"))`);
    const start = process.hrtime.bigint();
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE staging (${defs}) ON COMMIT DROP`);
    async function* lines() {
      let batch: string[] = [];
      for (const r of benchRows(changes)) {
        batch.push(`RW-BENCH\t${r.map(copyText).join('\t')}\n`);
        if (batch.length === 1000) {
          yield batch.join('');
          batch = [];
        }
      }
      if (batch.length) yield batch.join('');
    }
    await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY staging (${cols.map(q).join(', ')}) FROM STDIN`)));
    const rest = cols.filter((c) => c !== 'ferry_origin' && c !== 'Id');
    await client.query(`INSERT INTO encounters SELECT * FROM staging ON CONFLICT (ferry_origin, "Id") DO UPDATE SET ${rest.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`);
    await client.query('COMMIT');
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    await client.end();
  }
}
