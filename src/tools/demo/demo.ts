/**
 * `ferry demo`: two facilities and a hub in a temporary folder, built from the Synthea sample;
 * round 1 moves everything, round 2 moves updates, a delete, a new column and a conflict (a
 * transferred patient edited at both facilities). Uses the same operations as the CLI.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSyntheaDb, editTransferredPatientAt, lifeGoesOnAt, SYNTHEA_TABLES, syntheaRows } from './synthea.js';
import { makeContext, type OpContext } from '../../node/context.js';
import { withSession } from '../../node/node-session.js';
import { isFacility, isHub } from '../../node/role.js';
import { fixedPassphrase } from '../../node/passphrase.js';
import { exportChanges } from '../../facility/export.js';
import { importDrive } from '../../roles/import.js';
import { listConflicts } from '../../hub/conflicts.js';
import { status } from '../../roles/status.js';
import { track } from '../../facility/track.js';
import { setUpNetwork } from '../harness/network.js';

export interface DemoResult {
  folder: string;
  drive: string;
  homes: Record<string, string>;
  hub_rows: Record<string, number>;
  conflicts: number;
  pending_after: Record<string, number>;
}

export const DEMO_PASSPHRASE = 'demo passphrase';

export async function runDemo(o: { folder?: string; say: (line: string) => void; now?: () => Date; cli?: string }): Promise<DemoResult> {
  const ferry = o.cli ?? 'ferry';
  const say = o.say;
  const folder = o.folder ?? mkdtempSync(join(tmpdir(), 'ferry-demo-'));
  mkdirSync(folder, { recursive: true });
  const drive = join(folder, 'usb-drive');
  mkdirSync(drive);
  // The demo's nodes are throw-away, so their passphrase is printed; real nodes ask for their own.
  const context = (home: string): OpContext => makeContext(home, { passphrase: fixedPassphrase(DEMO_PASSPHRASE), ...(o.now ? { now: o.now } : {}) });
  const specs = [
    { id: 'RW-017', name: 'Kicukiro Health Centre', db: join(folder, 'rw-017-emr.db'), patients: (i: number) => i <= 13 },
    { id: 'RW-042', name: 'Musanze Health Centre', db: join(folder, 'rw-042-emr.db'), patients: (i: number) => i >= 13 },
  ];
  const transferred = syntheaRows('patients')[13]!.Id!;

  say(`ferry demo in ${folder}`);
  say('');
  say('1. Setting up: a hub and two health centres, each with its own EMR database (Synthea sample patients).');
  const counts = specs.map((s) => buildSyntheaDb(s.db, { patientFilter: (i) => s.patients(i) }));
  const network = await setUpNetwork(folder, { hub: { id: 'HUB-KIGALI', name: 'Kigali district hub' }, facilities: specs, context });
  const { hub, sites } = network;
  say(`   hub HUB-KIGALI created, fingerprint ${network.hubFingerprint}`);
  for (const [i, s] of sites.entries()) {
    const c = counts[i]!;
    say(`   ${s.id} (${specs[i]!.name}): ${c.patients} patients, ${c.encounters} encounters, ${c.observations} observations; fingerprint ${s.fingerprint}`);
  }
  say('   Each facility trusts the hub and the hub enrolled both (identity cards exchanged, fingerprints compared).');
  say('');
  say('2. Each facility tracks its tables: triggers capture every change, and existing rows are queued.');
  for (const s of sites) {
    let queued = 0;
    for (const t of SYNTHEA_TABLES) {
      const r = await track(s.ctx, { tables: [t.name], ...(t.trackKey ? { key: t.trackKey } : {}) });
      queued += r.tables.reduce((n, x) => n + x.snapshot, 0);
    }
    say(`   ${s.id}: ${SYNTHEA_TABLES.length} tables tracked, ${queued} changes queued`);
  }
  await round(1);

  say('');
  say('5. Round 2: life goes on at the facilities.');
  const obs = lifeGoesOnAt(sites[0]!.db, transferred);
  say(`   RW-017 added a PHONE column to patients, corrected ${obs} observations, deleted one encounter and its observations,`);
  say('          and updated the address of a patient who has since moved to Musanze.');
  await round(2, () => {
    // Later, at the other facility: the same row edited at two facilities, a conflict for the hub.
    editTransferredPatientAt(sites[1]!.db, transferred);
    say("   Meanwhile RW-042 updated the same patient's address: the same row edited at two facilities, a conflict for the hub.");
  });

  say('');
  const conflicts = await listConflicts(hub);
  for (const c of conflicts) {
    say(`   conflict #${c.id} on ${c.table} ${JSON.stringify(c.key)}: kept ${c.current.origin}'s version (later clock), ${c.other.origin}'s kept for review; differing: ${c.differing.join(', ')}`);
  }
  const hubRows: Record<string, number> = {};
  await withSession(hub, 'hub', 'demo', async (s) => {
    for (const t of SYNTHEA_TABLES) hubRows[t.name] = await s.hubStore().rowCount(t.name);
  });
  const pendingAfter: Record<string, number> = {};
  for (const s of sites) {
    const st = await status(s.ctx);
    pendingAfter[s.id] = isFacility(st) ? st.pending : -1;
  }
  say(`   hub database now holds: ${Object.entries(hubRows).map(([t, n]) => `${n} ${t}`).join(', ')}`);
  say(`   pending at the facilities: ${Object.entries(pendingAfter).map(([id, n]) => `${id} ${n}`).join(', ')}`);
  say('');
  say(`Look around: ${folder} (the demo's nodes use the passphrase "${DEMO_PASSPHRASE}"; status, conflicts and inspect need none)`);
  say(`  ${ferry} --home ${join(folder, 'hub')} status      # the hub's view`);
  say(`  ${ferry} --home ${join(folder, 'hub')} conflicts   # the conflict, side by side`);
  say(`  ${ferry} --home ${join(folder, 'rw-017')} status   # a facility's view`);
  say(`  ${ferry} --home ${join(folder, 'rw-017')} tui      # the terminal UI`);
  say(`  ${ferry} inspect ${drive}   # what the drive carries (no keys needed)`);
  say(`  sqlite3 ${join(folder, 'hub', 'hub.db')} 'SELECT count(*) FROM patients'`);
  return { folder, drive, homes: { hub: hub.home, ...Object.fromEntries(sites.map((s) => [s.id, s.ctx.home])) }, hub_rows: hubRows, conflicts: conflicts.length, pending_after: pendingAfter };

  async function round(n: number, betweenExports?: () => void): Promise<void> {
    const step = n === 1 ? 3 : 6;
    say('');
    say(`${step}. Round ${n}: each facility exports to the courier's USB drive.`);
    for (const s of sites) {
      if (s !== sites[0]) betweenExports?.();
      const r = await exportChanges(s.ctx, { to: drive });
      const w = r.written.map((b) => `changes ${b.seq.first}–${b.seq.last} (${b.changes} changes, ${Math.round(b.bytes / 1024)} KiB)`).join(', ');
      say(`   ${s.id}: ${r.pending} pending -> ${r.written.length} signed, encrypted bundle(s): ${w}; read back and verified`);
    }
    say(`   The courier carries the drive to the hub. The hub imports it:`);
    const imp = await importDrive(hub, { from: drive });
    if (isHub(imp)) {
      for (const b of imp.bundles) {
        const c = b.counts;
        say(`   ${b.sender} bundle ${b.seq?.first}–${b.seq?.last}: ${b.outcome}${c ? ` (${c.applied} applied, ${c.already_present} already had, ${c.conflicts} conflicts, ${c.rejected} rejected)` : ''}; signed ack written to the drive`);
      }
    }
    const again = await importDrive(hub, { from: drive });
    if (isHub(again)) say(`   Importing the same drive again changes nothing: ${again.bundles.map((b) => b.outcome).join(', ')}.`);
    say(`${step + 1}. The drive goes back to the facilities, which read their acks:`);
    for (const s of sites) {
      const r = await importDrive(s.ctx, { from: drive });
      if (isFacility(r)) say(`   ${s.id}: ${r.acks.filter((a) => a.outcome === 'accepted').length} ack(s) verified, ${r.pruned} delivered changes pruned, ${r.removed_bundles.length} delivered bundle(s) removed from the drive; pending now ${r.pending}`);
    }
  }
}
