/**
 * `ferry demo`: two health centres and a hub in a temporary folder, built from the Synthea sample.
 * The centres keep their records as real EMRs do, numbered from 1 at each, so both have a
 * patient 1: the hub keeps each centre's rows apart (facility-owned tables), merges reference data
 * both hold by its key (shared tables, where agreement is not a conflict), and records a conflict
 * where both edited the same shared row. Round 1 moves everything; round 2 moves updates, a
 * delete, a new column and that conflict. It ends with a transfer: a patient of one centre
 * arrives at the other, which asks for the record and receives it. Uses the same operations as the CLI.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDemoEmr, CORRECTED_PHONE, DEMO_TABLES, lifeGoesOnAt, meanwhileAt, RENAMED_CONCEPT } from './synthea.js';
import { makeContext, type OpContext } from '../../node/context.js';
import { withSession } from '../../node/node-session.js';
import { isFacility, isHub } from '../../node/role.js';
import { fixedPassphrase } from '../../node/passphrase.js';
import { exportChanges } from '../../facility/export.js';
import { importDrive } from '../../roles/import.js';
import { listConflicts } from '../../hub/conflicts.js';
import { status, type HubTableStatus } from '../../roles/status.js';
import { track } from '../../facility/track.js';
import { count } from '../../core/format-numbers.js';
import type { EncodedValue } from '../../format/values.js';
import { setUpNetwork } from '../harness/network.js';
import { requestRecord } from '../../facility/request.js';
import { exportToFacilities } from '../../hub/export-to-facilities.js';

/** What the printed sqlite3 command shows at the receiving centre: the transferred patient, with where it came from. */
export const RECEIVED_PATIENT_SQL = 'SELECT ferry_origin, patient_id, given_name, family_name, city FROM patient';

export interface DemoResult {
  folder: string;
  drive: string;
  homes: Record<string, string>;
  /** every row each table holds at the hub, all facilities together */
  hub_rows: Record<string, number>;
  /** each table's scope and, when facility-owned, its rows per facility (as `ferry status` has them) */
  tables: HubTableStatus[];
  /** per shared table, the rows both facilities sent identical in round 1: held once, not conflicts */
  agreed: Record<string, number>;
  conflicts: number;
  pending_after: Record<string, number>;
  /** the transfer at the end: a patient of the first centre arrives at the second, which asks for the record */
  transfer: { patient_uuid: string; from: string; to: string; received: Record<string, number> };
}

export const DEMO_PASSPHRASE = 'demo passphrase';

/** What the printed sqlite3 command shows: every patient 1 at the hub, with whose it is. */
export const BOTH_PATIENT_ONES_SQL = 'SELECT ferry_origin, patient_id, given_name, family_name, city FROM patient WHERE patient_id = 1 ORDER BY ferry_origin';

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
    { id: 'RW-021', name: 'Musanze Health Centre', db: join(folder, 'rw-021-emr.db'), patients: (i: number) => i > 13 },
  ];
  const [first, second] = specs.map((s) => s.id) as [string, string];
  const shared = DEMO_TABLES.filter((t) => t.sharedBy);
  const owned = DEMO_TABLES.filter((t) => !t.sharedBy);

  say(`ferry demo in ${folder}`);
  say('');
  say('1. Setting up: a hub and two health centres, each with its own EMR database (Synthea sample patients).');
  say('   Like real EMRs, each centre numbers its records from 1: both have a patient 1, and they are different people.');
  const counts = specs.map((s) => buildDemoEmr(s.db, s.patients));
  const network = await setUpNetwork(folder, { hub: { id: 'HUB-KIGALI', name: 'Kigali district hub' }, facilities: specs, context });
  const { hub, sites } = network;
  say(`   hub HUB-KIGALI created, fingerprint ${network.hubFingerprint}`);
  for (const [i, s] of sites.entries()) {
    const c = counts[i]!;
    say(`   ${s.id} (${specs[i]!.name}): patients 1–${c.patient}, ${count(c.encounter!)} encounters, ${count(c.obs!)} observations; fingerprint ${s.fingerprint}`);
  }
  say('   Each facility trusts the hub and the hub enrolled both (identity cards exchanged, fingerprints compared).');
  say('');
  say('2. Each facility tracks its tables: triggers capture every change, and existing rows are queued.');
  say(`   ${owned.map((t) => t.name).join(', ')}: facility-owned (the default): the hub keeps each centre's rows as its own.`);
  say(`   ${shared.map((t) => `${t.name} (by ${t.sharedBy})`).join(' and ')}: shared (track --shared): the same key means the same row everywhere.`);
  /** rows each facility queued per table when it started tracking: what round 1 sends */
  const sent: Record<string, number> = {};
  for (const s of sites) {
    let queued = 0;
    for (const t of DEMO_TABLES) {
      const r = await track(s.ctx, { tables: [t.name], ...(t.sharedBy ? { key: [t.sharedBy], shared: true } : {}) });
      const snapshot = r.tables.reduce((n, x) => n + x.snapshot, 0);
      sent[t.name] = (sent[t.name] ?? 0) + snapshot;
      queued += snapshot;
    }
    say(`   ${s.id}: ${DEMO_TABLES.length} tables tracked, ${count(queued)} changes queued`);
  }
  await round(1);
  const afterRound1 = await hubTables();
  const agreed = Object.fromEntries(shared.map((t) => [t.name, sent[t.name]! - (afterRound1.find((x) => x.table === t.name)?.rows ?? 0)]));

  say('');
  say('5. Round 2: life goes on at the facilities.');
  const edits = lifeGoesOnAt(sites[0]!.db);
  say(`   ${first} added a phone column to patient, corrected ${edits.corrected} observations, deleted one encounter with what was recorded`);
  say(`          in it, updated patient 2's address, corrected a location's phone number and renamed concept ${RENAMED_CONCEPT}.`);
  await round(2, () => {
    // Later, at the other centre: its own patient 1 edited, and the same shared row edited too.
    meanwhileAt(sites[1]!.db);
    say(`   Meanwhile ${second} updated its own patient 1's address and renamed concept ${RENAMED_CONCEPT} its own way.`);
  });

  say('');
  say('8. What the hub holds now, and whose each row is:');
  const tables = await hubTables();
  const conflicts = await listConflicts(hub);
  const patientOnes = await hubRows('patient', (r) => r.patient_id === 1);
  const patientOne = (origin: string) => {
    const r = patientOnes.find((p) => p.ferry_origin === origin);
    return r ? `${String(r.given_name)} ${String(r.family_name)}, of ${String(r.city)}` : 'not at the hub';
  };
  say(`   patient (facility-owned): patient 1 at ${first} is ${patientOne(first)};`);
  say(`      patient 1 at ${second} is ${patientOne(second)}. Both kept, told apart by ferry_origin.`);
  const inTable = (table: string) => conflicts.filter((c) => c.table === table);
  const [location] = await hubRows('location', (r) => r.uuid === edits.location);
  say(`   location (shared by uuid): ${count(agreed.location!)} rows agreed: both centres sent them identical, the hub holds them once.`);
  if (inTable('location').length === 0 && location?.phone === CORRECTED_PHONE) say(`      ${first}'s corrected phone number applied cleanly: ${second} had not changed that row.`);
  const renamed = inTable('concept');
  say(`   concept (shared by code): ${count(agreed.concept!)} rows agreed; ${renamed.length} conflict${renamed.length === 1 ? '' : 's'} in concept${renamed.length ? ':' : '.'}`);
  for (const c of renamed) {
    say(`      both centres renamed ${c.key.map(String).join(', ')} since they last agreed (#${c.id}). The hub holds ${c.current.origin}'s version;`);
    say(`      ${c.other.origin}'s is kept for review (differing: ${c.differing.join(', ')}), until someone decides with \`ferry conflicts\`.`);
  }
  const hubRowCounts = Object.fromEntries(tables.map((t) => [t.table, t.rows]));
  say('   rows at the hub, per facility where they are its own:');
  for (const t of tables) say(`      ${t.table.padEnd(10)} ${t.rows_by_facility ? t.rows_by_facility.map((f) => `${f.facility} ${count(f.rows)}`).join(' · ') : `${count(t.rows)}, shared`}`);
  // Anything else would be a demo gone wrong, said as such rather than hidden.
  const elsewhere = conflicts.filter((c) => c.table !== 'concept');
  if (elsewhere.length) say(`   unexpected: ${elsewhere.length} conflict(s) in ${[...new Set(elsewhere.map((c) => c.table))].join(', ')}`);
  const pendingAfter: Record<string, number> = {};
  for (const s of sites) {
    const st = await status(s.ctx);
    pendingAfter[s.id] = isFacility(st) ? st.pending : -1;
  }
  say(`   pending at the facilities: ${Object.entries(pendingAfter).map(([id, n]) => `${id} ${n}`).join(', ')}`);
  const transfer = await transferPatient();
  say('');
  say(`Look around: ${folder} (the demo's nodes use the passphrase "${DEMO_PASSPHRASE}"; status, conflicts and inspect need none)`);
  say(`  ${ferry} --home ${join(folder, 'hub')} status      # the hub's view: each table's rows per facility`);
  say(`  ${ferry} --home ${join(folder, 'hub')} conflicts   # the conflict, with each centre's version`);
  say(`  ${ferry} --home ${join(folder, 'rw-017')} status   # a facility's view`);
  say(`  ${ferry} --home ${join(folder, 'rw-017')} tui      # the terminal UI`);
  say(`  ${ferry} inspect ${drive}   # what the drive carries (no keys needed)`);
  say(`  sqlite3 -header -column ${join(folder, 'hub', 'hub.db')} '${BOTH_PATIENT_ONES_SQL}'   # both patient 1s`);
  say(`  sqlite3 -header -column ${join(sites[1]!.ctx.home, 'received.db')} '${RECEIVED_PATIENT_SQL}'   # the transferred patient at ${second}`);
  return {
    folder,
    drive,
    homes: { hub: hub.home, ...Object.fromEntries(sites.map((s) => [s.id, s.ctx.home])) },
    hub_rows: hubRowCounts,
    tables,
    agreed,
    conflicts: conflicts.length,
    pending_after: pendingAfter,
    transfer,
  };

  /**
   * 9. A patient of the first centre arrives at the second with only their card. The officer asks
   * the hub for the record; the request rides on the next drive, the hub answers it (its policy:
   * at once, for an enrolled facility), and the record comes back on the drive after that.
   */
  async function transferPatient(): Promise<DemoResult['transfer']> {
    const [from, to] = [sites[0]!, sites[1]!];
    const [patient] = await hubRows('patient', (r) => r.ferry_origin === from.id && r.patient_id === 1);
    const uuid = String(patient!.uuid);
    say('');
    say(`9. A transfer: ${from.id}'s patient 1 (${String(patient!.given_name)} ${String(patient!.family_name)}) arrives at ${to.id} with a referral card.`);
    say(`   The officer at ${to.id} asks the hub for the record by the uuid on the card (\`${ferry} request --table patient --where uuid=…\`).`);
    await requestRecord(to.ctx, { table: 'patient', column: 'uuid', value: uuid, reason: 'transferred for follow-up' });
    const exported = await exportChanges(to.ctx, { to: drive });
    say(`   ${to.id} exports: the request goes on the drive, signed and sealed to the hub (${exported.requests_written.length} request file; the uuid is not readable on the drive).`);
    const imp = await importDrive(hub, { from: drive });
    const answered = isHub(imp) ? imp.requests.filter((r) => r.outcome === 'answered').length : 0;
    say(`   The hub imports the drive: ${answered} request answered by its policy (an enrolled facility asked); the record becomes a send, in the audit log with its reason.`);
    const out = await exportToFacilities(hub, { to: drive });
    for (const f of out.facilities) say(`   The hub exports for ${f.facility}: ${count(f.changes)} row(s) in ${f.written.length} signed bundle(s), encrypted to ${f.facility}${f.facility === to.id ? ' (the patient and the shared reference data)' : ' (shared reference data)'}.`);
    const back = await importDrive(to.ctx, { from: drive });
    const rows = isFacility(back) ? back.received.reduce((n, r) => n + (r.applied ?? 0), 0) : 0;
    say(`   ${to.id} imports the drive: ${count(rows)} row(s) into its received database (never into the EMR), and writes a receipt for the hub.`);
    const st = await status(to.ctx);
    const received = Object.fromEntries((isFacility(st) ? st.received.filter((r) => r.origin === from.id && r.scope === 'facility') : []).map((r) => [r.table, r.rows]));
    say(`   ${to.id} now holds ${from.id}'s patient 1: ${Object.entries(received).map(([t, n]) => `${t} ${count(n)}`).join(', ')}; later changes follow on every drive.`);
    await importDrive(hub, { from: drive });
    return { patient_uuid: uuid, from: from.id, to: to.id, received };
  }

  async function hubTables(): Promise<HubTableStatus[]> {
    const st = await status(hub);
    return isHub(st) ? st.tables : [];
  }

  async function hubRows(table: string, keep: (r: Record<string, EncodedValue>) => boolean): Promise<Array<Record<string, EncodedValue>>> {
    return withSession(hub, 'hub', 'demo', async (s) => {
      const out: Array<Record<string, EncodedValue>> = [];
      for await (const r of s.hubStore().rows(table)) if (keep(r)) out.push(r);
      return out;
    });
  }

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
