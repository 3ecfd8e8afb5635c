// How long the built CLI takes to start, against bare `node -e ''` (run: npm run startup).
// The target (issue 13) is 2× the baseline for --help, status and inspect: the test suite and
// every cron job pay the start-up on each call. Ratios, not milliseconds, because the machine is
// shared; --check fails above 2× only when asked, so a busy machine does not turn CI red.
//
//   npm run --silent startup -- [--runs N] [--json] [--check]
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TARGET_RATIO = 2;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});
const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('startup: --runs takes a whole number ≥ 1');
  process.exit(2);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FERRY_BIN = join(ROOT, 'bin', 'ferry');
const work = mkdtempSync(join(tmpdir(), 'ferry-startup-'));

// The throwaway nodes unlock at the lowest scrypt cost, as the tests' do; NODE_OPTIONS is
// dropped so that whatever loader runs this script (tsx) is not timed in the children.
const env: NodeJS.ProcessEnv = { ...process.env, FERRY_PASSPHRASE: 'startup passphrase for ferry', FERRY_SCRYPT_LOG_N: '10', FERRY_HOME: '' };
delete env.NODE_OPTIONS;

function ferry(args: string[]): void {
  const r = spawnSync(process.execPath, [FERRY_BIN, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
}

/** A facility with one tracked table, a hub that trusts it, and a drive with one bundle. */
function makeNodes(): { facility: string; hub: string; drive: string } {
  const facility = join(work, 'facility');
  const hub = join(work, 'hub');
  const drive = join(work, 'drive');
  const emr = join(work, 'emr.db');
  mkdirSync(drive);
  const db = new Database(emr);
  db.exec("CREATE TABLE patients (id TEXT PRIMARY KEY, name TEXT); INSERT INTO patients VALUES ('p1', 'Ada')");
  db.close();
  ferry(['init', '--home', facility, '--role', 'facility', '--id', 'RW-START', '--db', emr]);
  ferry(['init', '--home', hub, '--role', 'hub', '--id', 'HUB-START']);
  ferry(['identity', '--home', facility, '--out', join(work, 'facility.card.json')]);
  ferry(['identity', '--home', hub, '--out', join(work, 'hub.card.json')]);
  ferry(['trust', '--home', facility, join(work, 'hub.card.json')]);
  ferry(['trust', '--home', hub, join(work, 'facility.card.json')]);
  ferry(['track', '--home', facility, '--table', 'patients']);
  ferry(['export', '--home', facility, '--to', drive]);
  return { facility, hub, drive };
}

interface Case {
  name: string;
  argv: string[];
}

interface Figure {
  name: string;
  median_ms: number;
  min_ms: number;
  ratio_median: number;
  ratio_min: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function timeOnce(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.argv, { encoding: 'utf8', env });
  const ms = performance.now() - t0;
  // A command that fails fast would look fast: only successful runs count.
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}:\n${r.stderr}`);
  return ms;
}

try {
  const { facility, hub, drive } = makeNodes();
  const cases: Case[] = [
    { name: "node -e ''", argv: ['-e', ''] },
    { name: 'ferry --help', argv: [FERRY_BIN, '--help'] },
    { name: 'ferry --version', argv: [FERRY_BIN, '--version'] },
    { name: 'ferry status', argv: [FERRY_BIN, 'status', '--home', facility] },
    { name: 'ferry inspect', argv: [FERRY_BIN, 'inspect', drive, '--home', hub] },
  ];
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) timeOnce(c); // warm the disk cache; not counted
  // Round robin, so a burst of load from the other sessions spreads over every command alike.
  for (let i = 0; i < runs; i++) for (const c of cases) times.get(c.name)!.push(timeOnce(c));

  const base = times.get(cases[0]!.name)!;
  const baseMedian = median(base);
  const baseMin = Math.min(...base);
  const figures: Figure[] = cases.map((c) => {
    const ts = times.get(c.name)!;
    const med = median(ts);
    const min = Math.min(...ts);
    return { name: c.name, median_ms: Math.round(med), min_ms: Math.round(min), ratio_median: +(med / baseMedian).toFixed(2), ratio_min: +(min / baseMin).toFixed(2) };
  });
  const over = figures.filter((f) => f.ratio_median > TARGET_RATIO);
  const machine = { node: process.versions.node, cpus: cpus().length, loadavg_1m: +loadavg()[0]!.toFixed(2) };

  if (opts.json) {
    console.log(JSON.stringify({ runs, target_ratio: TARGET_RATIO, machine, figures, over_target: over.map((f) => f.name) }, null, 2));
  } else {
    console.log(`start-up, ${runs} runs each (Node ${machine.node}, ${machine.cpus} cores, load ${machine.loadavg_1m})`);
    console.log(`${'command'.padEnd(18)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)} ${'× median'.padStart(9)} ${'× min'.padStart(7)}`);
    for (const f of figures) {
      console.log(`${f.name.padEnd(18)} ${String(f.median_ms).padStart(10)} ${String(f.min_ms).padStart(8)} ${f.ratio_median.toFixed(2).padStart(9)} ${f.ratio_min.toFixed(2).padStart(7)}`);
    }
    console.log(over.length ? `above ${TARGET_RATIO}× the baseline (median): ${over.map((f) => f.name).join(', ')}` : `every command within ${TARGET_RATIO}× the baseline (median)`);
  }
  if (opts.check && over.length) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
