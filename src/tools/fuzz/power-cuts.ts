/**
 * `npm run power-cuts -- [--kills N] [--changes N] [--seed S] [--store postgres]`: plays power cuts. Export at the
 * facility, import at the hub and import of acks back at the facility are each started as the
 * real CLI and killed with SIGKILL at a random moment, N times each, then run to completion.
 * Afterwards: `PRAGMA integrity_check` is ok everywhere, the hub holds exactly the facility's
 * rows, no bundle was applied twice, nothing is pending, and no half-written file was taken for
 * a bundle. Exits 1 on any violation. With `--store postgres` the hub is on a real, throwaway
 * PostgreSQL server (the station is killed, never the server): the same checks, through the store.
 *
 * Then records travel back (issue 16): a second facility follows everything the first sends
 * (`send --all-from`); the hub's export to it, its import of the hub's bundles into its received
 * database, and the hub's import of its receipts are killed the same way. Afterwards its received
 * database is sound and holds exactly the first facility's rows, and nothing waits at the hub.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';
import { isFacility, isHub } from '../../node/role.js';
import { makeContext, type OpContext } from '../../node/context.js';
import { initNode } from '../../node/init.js';
import { showIdentity } from '../../node/identity.js';
import { trustPeer } from '../../node/trust.js';
import { withSession } from '../../node/node-session.js';
import { status } from '../../roles/status.js';
import { EmrFixture, integrityCheck } from '../harness/emr-fixture.js';
import { compareHubRows } from '../harness/hub-rows.js';
import { createEncountersDb, makePair } from '../harness/pair.js';
import { BENCH_COLUMNS, benchRows } from '../harness/rows.js';
import { numberArg, seededRandom, useThrowawayPassphrase } from '../harness/args.js';
import { startPostgres } from '../harness/postgres-server.js';

const args = process.argv.slice(2);
const KILLS = numberArg(args, '--kills', 20);
const CHANGES = numberArg(args, '--changes', 30000);
const rand = seededRandom(numberArg(args, '--seed', 1));
const FERRY = join(packageRoot(), 'bin', 'ferry');
const FACILITY = 'RW-001';
const FOLLOWER = 'RW-002';
const STORE = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'sqlite';

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

async function main(): Promise<number> {
  useThrowawayPassphrase();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-power-cuts-'));
  const problems: string[] = [];
  const server = STORE === 'postgres' ? await startPostgres() : undefined;
  try {
    const { hub, fac, emr } = await makePair(dir, { hub: 'HUB-1', facility: FACILITY }, server ? { hubDb: server.createDatabase('power_cuts') } : {});
    const follower = await enrolFacility(dir, hub, FOLLOWER);
    const drive = join(dir, 'drive');
    mkdirSync(drive);
    EmrFixture.with(emr, (w) => w.insert('encounters', BENCH_COLUMNS.map(([c]) => c), benchRows(CHANGES, 7)));

    // How long each step takes uninterrupted, to aim the kills inside it.
    const steps: Array<{ name: string; argv: string[] }> = [
      { name: 'export', argv: ['--home', fac.home, 'export', '--to', drive, '--max-bundle-bytes', String(512 * 1024)] },
      { name: 'hub import', argv: ['--home', hub.home, 'import', '--from', drive] },
      { name: 'facility import', argv: ['--home', fac.home, 'import', '--from', drive] },
    ];
    const report: Record<string, { kills: number; completedBeforeKill: number }> = {};
    await killSteps(steps);
    // Records travel back: the follower gets everything the facility sent.
    {
      const sent = await ferry(['--home', hub.home, 'send', '--to', FOLLOWER, '--all-from', FACILITY, '--reason', 'power cuts']);
      if (sent.code !== 0) problems.push(`send exited ${sent.code}`);
      await killSteps([
        { name: 'hub export', argv: ['--home', hub.home, 'export', '--to', drive, '--max-bundle-bytes', String(512 * 1024)] },
        { name: 'follower import', argv: ['--home', follower.home, 'import', '--from', drive] },
        { name: 'hub reads receipts', argv: ['--home', hub.home, 'import', '--from', drive] },
      ]);
    }

    async function killSteps(list: typeof steps): Promise<void> {
    for (const step of list) {
      // Kill moments are drawn over roughly the step's own duration (node start included); runs
      // that finish first are counted, and later runs find less left to do.
      const bound = ({ export: 2500, 'hub import': 1800, 'facility import': 1000, 'hub export': 2500, 'follower import': 2000, 'hub reads receipts': 1000 } as Record<string, number>)[step.name]!;
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
    for (const step of list) await ferry(step.argv);
    }

    // (PostgreSQL checks its own pages; a killed client cannot damage them)
    for (const [name, path] of [...(server ? [] : [['hub', join(hub.home, 'hub.db')] as const]), ['facility EMR', emr], ['hub state', join(hub.home, 'state.db')], ['facility state', join(fac.home, 'state.db')]] as const) {
      const ok = integrityCheck(path);
      if (ok !== 'ok') problems.push(`${name}: integrity_check says ${ok}`);
    }
    // The hub through its store, as any command reads it: the check holds whichever store it uses.
    const rows = await compareHubRows(hub, 'encounters', [{ id: FACILITY, db: emr }], { scope: 'facility' });
    const { ledger, ranges } = await withSession(hub, 'hub', 'power-cuts', async (s) => {
      const store = s.hubStore();
      const bundles = (await store.originSummaries()).reduce((n, o) => n + o.bundles, 0);
      const entries = await store.recentBundles(bundles);
      const ledger = { bundles: entries.length, distinct_ids: new Set(entries.map((e) => e.bundle_id)).size, applied: entries.reduce((n, e) => n + e.applied, 0) };
      return { ledger, ranges: await store.appliedRanges(FACILITY) };
    });
    if (rows.missing) problems.push(`${rows.missing} facility rows missing at the hub`);
    if (rows.extra) problems.push(`${rows.extra} rows at the hub that the facility does not have (or not under its ferry_origin)`);
    if (ledger.applied !== CHANGES) problems.push(`the ledger counts ${ledger.applied} applied changes, expected ${CHANGES} (applied twice or lost)`);
    if (ranges.length !== 1 || ranges[0]![0] !== 1 || ranges[0]![1] !== CHANGES) problems.push(`applied ranges are ${JSON.stringify(ranges)}`);
    const st = await status(fac);
    const pending = isFacility(st) ? st.pending : NaN;
    if (pending !== 0) problems.push(`${pending} changes still pending at the facility`);
    let received: { rows: number; missing: number; extra: number; waiting_at_hub: number } | undefined;
    {
      const path = join(follower.home, 'received.db');
      const ok = integrityCheck(path);
      if (ok !== 'ok') problems.push(`follower received.db: integrity_check says ${ok}`);
      received = compareReceived(path, emr);
      const hubStatus = await status(hub);
      received.waiting_at_hub = isHub(hubStatus) ? hubStatus.outgoing.reduce((n, o) => n + o.waiting, 0) : NaN;
      if (received.missing) problems.push(`${received.missing} of the facility's rows missing from the follower's received database`);
      if (received.extra) problems.push(`${received.extra} rows in the follower's received database that the facility does not hold`);
      if (received.waiting_at_hub !== 0) problems.push(`${received.waiting_at_hub} rows still wait for the follower's receipt at the hub`);
    }
    const leftovers = ['bundles', 'acks', 'receipts']
      .flatMap((d) => {
        try {
          return readdirSync(join(drive, 'FERRY', d));
        } catch {
          return [];
        }
      })
      .filter((f) => f.endsWith('.partial'));
    const result = { store: STORE, changes: CHANGES, kills_per_step: KILLS, steps: report, ledger, received, partial_files_left_on_drive: leftovers.length, problems };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return problems.length ? 1 : 0;
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A second facility, with an empty EMR of its own, enrolled at the hub: it receives what the hub sends it. */
async function enrolFacility(dir: string, hub: OpContext, id: string): Promise<OpContext> {
  const db = join(dir, `${id.toLowerCase()}-emr.db`);
  createEncountersDb(db);
  const ctx = makeContext(join(dir, id.toLowerCase()));
  await initNode(ctx, { role: 'facility', id, db });
  const card = join(dir, `${id}.card.json`);
  await showIdentity(ctx, { out: card });
  await trustPeer(ctx, { card: join(dir, 'HUB-1.card.json') });
  await trustPeer(hub, { card });
  return ctx;
}

/** The follower's received encounters against the facility's own, each value with its storage class: both ways. */
function compareReceived(received: string, emr: string): { rows: number; missing: number; extra: number; waiting_at_hub: number } {
  const key = (r: Record<string, unknown>) => JSON.stringify(BENCH_COLUMNS.map(([c]) => r[c]));
  const mine = new Set<string>();
  EmrFixture.with(emr, (f) => {
    for (const r of f.rows('encounters')) mine.add(key(r));
  }, { readonly: true });
  let rows = 0;
  let extra = 0;
  EmrFixture.with(received, (f) => {
    for (const r of f.rows('encounters')) {
      rows++;
      if (r.ferry_origin !== FACILITY || !mine.delete(key(r))) extra++;
    }
  }, { readonly: true });
  return { rows, missing: mine.size, extra, waiting_at_hub: -1 };
}

process.exitCode = await main();
