/**
 * `npm run converge -- [--facilities F] [--rounds R] [--seed S]`: a convergence simulation. F
 * facilities change their data every round; one courier drive a round carries their bundles to
 * the hub and the acks back. Random courier events strike: the drive is lost before the hub,
 * lost on the way back (acks lost), duplicated and delivered again later, delivered late (out
 * of order), a bundle on it corrupted, or the drive full. After R rounds of that, quiet rounds
 * run until the hub holds exactly the union of the facilities' data and nothing is pending.
 * Prints the rounds it took and what was in flight after each round; exits 1 if it never
 * converges.
 *
 * Two tables, one of each scope (issue 14). `visits` is facility-owned and keyed by a local
 * auto-increment integer, so every facility has a visit 1: the hub must hold each facility's
 * visits under its ferry_origin. `wards` is shared, keyed by a uuid: every facility holds the
 * same reference wards (agreement, never a conflict) and adds, edits and removes wards of its
 * own; the hub must hold them merged. No two facilities edit one ward, so a conflict there would
 * be the hub mistaking a facility's own edits, arriving out of order, for concurrent ones.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asFerryError } from '../../core/errors.js';
import { isHub } from '../../node/role.js';
import type { OpContext } from '../../node/context.js';
import { exportChanges } from '../../facility/export.js';
import { importDrive } from '../../roles/import.js';
import { status } from '../../roles/status.js';
import { track } from '../../facility/track.js';
import { numberArg, seededRandom, useThrowawayPassphrase } from '../harness/args.js';
import { EmrFixture } from '../harness/emr-fixture.js';
import { compareHubRows } from '../harness/hub-rows.js';
import { withSession } from '../../node/node-session.js';
import { setUpNetwork } from '../harness/network.js';

const args = process.argv.slice(2);
const FACILITIES = numberArg(args, '--facilities', 4);
const ROUNDS = numberArg(args, '--rounds', 12);
const rand = seededRandom(numberArg(args, '--seed', 1));
const chance = (p: number) => rand() < p;
const canMount = process.getuid?.() === 0;

type Event = 'lost-before-hub' | 'acks-lost' | 'duplicated' | 'late' | 'corrupted' | 'drive-full';

interface Facility {
  id: string;
  ctx: OpContext;
  db: string;
  next: number;
  wards: number;
}

const VISITS_DDL = 'CREATE TABLE visits (id INTEGER PRIMARY KEY AUTOINCREMENT, patient TEXT, day TEXT, note TEXT, cost REAL)';
/** id is left to the EMR: each facility counts from 1. */
const VISITS = ['patient', 'day', 'note', 'cost'];
const WARDS_DDL = 'CREATE TABLE wards (uuid TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, beds INTEGER, note TEXT)';
const WARDS = ['uuid', 'name', 'beds', 'note'];
/** Reference wards every facility holds, identically. */
const COMMON_WARDS = [
  ['5b0b4a3e-0000-4000-8000-000000000001', 'Maternity', 12, null],
  ['5b0b4a3e-0000-4000-8000-000000000002', 'Paediatrics', 8, 'ground floor'],
  ['5b0b4a3e-0000-4000-8000-000000000003', 'Outpatients', 0, null],
];
const ownWard = (f: Facility, n: number) => `${f.id.toLowerCase()}-ward-${n}`;

function change(f: Facility, round: number): void {
  EmrFixture.with(f.db, (emr) => {
    const visits = Array.from({ length: 15 }, () => {
      f.next++;
      return [`p${Math.floor(rand() * 40)}`, `2026-11-${String(1 + (round % 28)).padStart(2, '0')}`, `visit ${f.next} round ${round}`, Math.round(rand() * 10000) / 100];
    });
    emr.insert('visits', VISITS, visits);
    emr.appendToRandomRows('visits', 'note', ` (edited r${round})`, 3);
    emr.deleteRandomRows('visits', 1);
    // A ward of its own now and then; an edit of one of its own; rarely one closed.
    if (chance(0.5)) emr.insert('wards', WARDS, [[ownWard(f, ++f.wards), `ward ${f.wards} of ${f.id}`, Math.floor(rand() * 30), null]]);
    emr.appendToRandomRows('wards', 'name', ` r${round}`, 1, { where: { column: 'uuid', like: `${f.id.toLowerCase()}-ward-%` } });
    if (chance(0.1)) emr.deleteRandomRows('wards', 1, { where: { column: 'uuid', like: `${f.id.toLowerCase()}-ward-%` } });
  });
}

function corruptOne(drive: string): boolean {
  let dir: string;
  try {
    dir = join(drive, 'FERRY', 'bundles');
    const files = readdirSync(dir);
    if (!files.length) return false;
    const f = join(dir, files[Math.floor(rand() * files.length)]!);
    const b = readFileSync(f);
    b[Math.floor(rand() * b.length)] ^= 0xff;
    writeFileSync(f, b);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  useThrowawayPassphrase();
  const root = mkdtempSync(join(tmpdir(), 'ferry-converge-'));
  const mounts: string[] = [];
  try {
    const specs = Array.from({ length: FACILITIES }, (_, i) => {
      const id = `RW-${String(i + 1).padStart(3, '0')}`;
      const db = join(root, `${id}.db`);
      const emr = EmrFixture.create(db, `${VISITS_DDL}; ${WARDS_DDL}`);
      emr.insert('wards', WARDS, COMMON_WARDS);
      emr.close();
      return { id, db };
    });
    const { hub, sites } = await setUpNetwork(root, { hub: { id: 'HUB-1' }, facilities: specs });
    const facilities: Facility[] = [];
    for (const s of sites) {
      await track(s.ctx, { tables: ['visits'] });
      await track(s.ctx, { tables: ['wards'], key: ['uuid'], shared: true });
      facilities.push({ id: s.id, ctx: s.ctx, db: s.db, next: 0, wards: 0 });
    }
    const held: string[] = []; // drives kept back by the courier, delivered later
    const timeline: Array<{ round: number; events: Event[]; pending: Record<string, number>; refused: number }> = [];
    let drives = 0;
    const newDrive = (full: boolean): string => {
      const d = join(root, `drive-${++drives}`);
      mkdirSync(d);
      if (full && canMount) {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24k', 'tmpfs', d]);
        mounts.push(d);
      }
      return d;
    };
    let back: string | undefined; // yesterday's drive, coming back with acks
    let refusedTotal = 0;
    // The hub holds each facility's visits under its id, and the wards merged (no table yet: none).
    const compare = async () => [await compareHubRows(hub, 'visits', facilities, { scope: 'facility' }), await compareHubRows(hub, 'wards', facilities, { scope: 'shared' })];
    const converged = async () => (await compare()).every((c) => c.missing === 0 && c.extra === 0);
    const pendingNow = async () => Object.fromEntries(await Promise.all(facilities.map(async (f) => [f.id, ((await status(f.ctx)) as { pending: number }).pending] as const)));

    let round = 0;
    let quietRounds = 0;
    for (;;) {
      round++;
      const chaos = round <= ROUNDS;
      const events: Event[] = [];
      if (chaos) for (const f of facilities) change(f, round);
      const full = chaos && chance(0.1);
      if (full) events.push('drive-full');
      const drive = newDrive(full);
      // At each facility: acks from the drive that came back, then export onto today's drive.
      for (const f of facilities) {
        if (back) await importDrive(f.ctx, { from: back });
        try {
          await exportChanges(f.ctx, { to: drive, maxBundleBytes: 64 * 1024 });
        } catch (err) {
          if (asFerryError(err).code !== 'drive-full') throw err;
        }
      }
      if (chaos && chance(0.15)) {
        events.push('duplicated');
        const copy = join(root, `copy-${drives}`);
        cpSync(drive, copy, { recursive: true });
        held.push(copy);
      }
      if (chaos && chance(0.15) && corruptOne(drive)) events.push('corrupted');
      let delivered: string | undefined = drive;
      if (chaos && chance(0.15)) {
        events.push('lost-before-hub');
        delivered = undefined;
      } else if (chaos && chance(0.1)) {
        events.push('late');
        held.push(drive);
        delivered = undefined;
      }
      // A held drive (a duplicate, or one delivered late) reaches the hub now and then.
      const deliveries = delivered ? [delivered] : [];
      if (held.length && (chance(0.5) || !chaos)) deliveries.push(held.shift()!);
      for (const d of deliveries) {
        const r = await importDrive(hub, { from: d });
        if (isHub(r)) refusedTotal += r.bundles.filter((b) => b.outcome === 'refused').length;
      }
      if (chaos && chance(0.15)) {
        events.push('acks-lost');
        back = undefined;
      } else back = deliveries[0];
      timeline.push({ round, events, pending: await pendingNow(), refused: refusedTotal });
      if (!chaos) {
        quietRounds++;
        if (held.length === 0 && (await converged()) && Object.values(timeline[timeline.length - 1]!.pending).every((p) => p === 0)) break;
        if (quietRounds > 10) break;
      }
    }
    const ok = await converged();
    const [visits, wards] = await compare();
    const conflicts = await withSession(hub, 'hub', 'converge', async (s) => (await s.hubStore().conflicts({ all: true })).length);
    const report = {
      facilities: FACILITIES,
      chaos_rounds: ROUNDS,
      converged: ok,
      quiet_rounds_to_converge: quietRounds,
      total_rounds: round,
      drive_full_simulated: canMount,
      refused_bundles: refusedTotal,
      hub_rows: { visits: visits!.byOrigin, wards: { hub: wards!.hubRows, distinct_at_facilities: wards!.facilityRows } },
      conflicts,
      events: timeline.reduce<Record<string, number>>((acc, t) => {
        for (const e of t.events) acc[e] = (acc[e] ?? 0) + 1;
        return acc;
      }, {}),
      in_flight_after_each_round: timeline.map((t) => `r${t.round}${t.events.length ? `[${t.events.join(',')}]` : ''}: ${Object.values(t.pending).reduce((a, b) => a + b, 0)} pending`),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return ok && conflicts === 0 ? 0 : 1;
  } finally {
    for (const m of mounts) {
      try {
        execFileSync('umount', [m]);
      } catch {
        // best effort
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
