/**
 * `npm run power-cuts -- [--kills N] [--changes N] [--seed S]`: plays power cuts. Export at the
 * facility, import at the hub and import of acks back at the facility are each started as the
 * real CLI and killed with SIGKILL at a random moment, N times each, then run to completion.
 * Afterwards: `PRAGMA integrity_check` is ok everywhere, the hub holds exactly the facility's
 * rows, no bundle was applied twice, nothing is pending, and no half-written file was taken for
 * a bundle. Exits 1 on any violation.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';
import { makePair } from '../harness/pair.js';
import { BENCH_COLUMNS, benchRows } from '../harness/rows.js';
import { numberArg, seededRandom, useThrowawayPassphrase } from '../harness/args.js';

const args = process.argv.slice(2);
const KILLS = numberArg(args, '--kills', 20);
const CHANGES = numberArg(args, '--changes', 30000);
const rand = seededRandom(numberArg(args, '--seed', 1));
const FERRY = join(packageRoot(), 'bin', 'ferry');

interface Run {
  code: number | null;
  killed: boolean;
  ms: number;
}

/** Run the CLI; kill it with SIGKILL after `killAfterMs` if it is still running. */
function ferry(argv: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [FERRY, ...argv, '--wait', '30'], { stdio: 'ignore' });
    let killed = false;
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => ((killed = true), child.kill('SIGKILL')), killAfterMs);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, killed, ms: Date.now() - started });
    });
  });
}

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return String((db.prepare('PRAGMA integrity_check').get() as Record<string, unknown>).integrity_check);
  } finally {
    db.close();
  }
}

async function main(): Promise<number> {
  useThrowawayPassphrase();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-power-cuts-'));
  const problems: string[] = [];
  try {
    const { hub, fac, emr } = await makePair(dir, { hub: 'HUB-1', facility: 'RW-001' });
    const drive = join(dir, 'drive');
    mkdirSync(drive);
    const w = new Database(emr);
    const ins = w.prepare(`INSERT INTO encounters VALUES (${BENCH_COLUMNS.map(() => '?').join(', ')})`);
    w.transaction(() => {
      for (const r of benchRows(CHANGES, 7)) ins.run(r);
    })();
    w.close();

    // How long each step takes uninterrupted, to aim the kills inside it.
    const steps: Array<{ name: string; argv: string[] }> = [
      { name: 'export', argv: ['--home', fac.home, 'export', '--to', drive, '--max-bundle-bytes', String(512 * 1024)] },
      { name: 'hub import', argv: ['--home', hub.home, 'import', '--from', drive] },
      { name: 'facility import', argv: ['--home', fac.home, 'import', '--from', drive] },
    ];
    const report: Record<string, { kills: number; completedBeforeKill: number }> = {};
    for (const step of steps) {
      // Kill moments are drawn over roughly the step's own duration (node start included); runs
      // that finish first are counted, and later runs find less left to do.
      const bound = { export: 2500, 'hub import': 1800, 'facility import': 1000 }[step.name as 'export']!;
      report[step.name] = { kills: 0, completedBeforeKill: 0 };
      for (let i = 0; i < KILLS; i++) {
        const r = await ferry(step.argv, 100 + Math.floor(rand() * bound));
        if (r.killed) report[step.name]!.kills++;
        else report[step.name]!.completedBeforeKill++;
        if (!r.killed && r.code !== 0 && r.code !== 1) problems.push(`${step.name} exited ${r.code} without being killed`);
      }
      const done = await ferry(step.argv);
      if (done.code !== 0) problems.push(`${step.name} did not complete after the kills (exit ${done.code})`);
    }
    // A last full round: whatever the kills left pending travels now.
    for (const step of steps) await ferry(step.argv);

    for (const [name, path] of [['hub', join(hub.home, 'hub.db')], ['facility EMR', emr], ['hub state', join(hub.home, 'state.db')], ['facility state', join(fac.home, 'state.db')]] as const) {
      const ok = integrity(path);
      if (ok !== 'ok') problems.push(`${name}: integrity_check says ${ok}`);
    }
    const hubDb = new Database(join(hub.home, 'hub.db'), { readonly: true });
    hubDb.prepare('ATTACH DATABASE ? AS fac').run(emr);
    const cols = BENCH_COLUMNS.map(([c]) => `typeof("${c}"), quote("${c}")`).join(', ');
    const missing = (hubDb.prepare(`SELECT count(*) AS n FROM (SELECT ${cols} FROM fac.encounters EXCEPT SELECT ${cols} FROM main.encounters)`).get() as { n: number }).n;
    const extra = (hubDb.prepare(`SELECT count(*) AS n FROM (SELECT ${cols} FROM main.encounters EXCEPT SELECT ${cols} FROM fac.encounters)`).get() as { n: number }).n;
    const ledger = hubDb.prepare('SELECT count(*) AS bundles, count(DISTINCT bundle_id) AS distinct_ids, coalesce(sum(applied), 0) AS applied FROM ferry_bundles').get() as { bundles: number; distinct_ids: number; applied: number };
    const ranges = hubDb.prepare('SELECT first_seq, last_seq FROM ferry_applied').all() as Array<{ first_seq: number; last_seq: number }>;
    hubDb.close();
    if (missing) problems.push(`${missing} facility rows missing at the hub`);
    if (extra) problems.push(`${extra} rows at the hub that the facility does not have`);
    if (ledger.applied !== CHANGES) problems.push(`the ledger counts ${ledger.applied} applied changes, expected ${CHANGES} (applied twice or lost)`);
    if (ranges.length !== 1 || ranges[0]!.first_seq !== 1 || ranges[0]!.last_seq !== CHANGES) problems.push(`applied ranges are ${JSON.stringify(ranges)}`);
    const emrDb = new Database(emr, { readonly: true });
    const pending = (emrDb.prepare('SELECT count(*) AS n FROM ferry_log_1').get() as { n: number }).n;
    emrDb.close();
    if (pending) problems.push(`${pending} changes still pending at the facility`);
    const leftovers = readdirSync(join(drive, 'FERRY', 'bundles')).concat(readdirSync(join(drive, 'FERRY', 'acks'))).filter((f) => f.endsWith('.partial'));
    const result = { changes: CHANGES, kills_per_step: KILLS, steps: report, ledger, partial_files_left_on_drive: leftovers.length, problems };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return problems.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
