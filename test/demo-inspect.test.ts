import test from 'ava';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { exportChanges } from '../src/facility/export.js';
import { makeNetwork, runCli, sql, tempDir } from './helpers/env.js';

test('ferry demo --json: what it moved, whose the rows are, what agreed and the one conflict', (t) => {
  const r = runCli(['demo', '--dir', join(tempDir(t), 'demo'), '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.json.pending_after, { 'RW-017': 0, 'RW-021': 0 });
  t.is(r.json.hub_rows.encounter, 603, 'one encounter deleted in round 2');
  t.deepEqual(r.json.agreed, { location: 63, concept: 145 });
  t.is(r.json.conflicts, 1, 'the concept renamed at both centres');
  const patient = r.json.tables.find((x: { table: string }) => x.table === 'patient');
  t.deepEqual(patient.rows_by_facility, [{ facility: 'RW-017', rows: 14 }, { facility: 'RW-021', rows: 13 }]);
});

/** The demo's claims about whose each row is, checked against the hub it leaves behind. */
test('ferry demo: both patient 1s kept at the hub, agreement in shared tables, exactly one conflict, as it says', (t) => {
  const folder = join(tempDir(t), 'demo');
  const human = runCli(['demo', '--dir', folder]);
  t.is(human.code, 0, human.stderr);
  for (const phrase of [/Round 1/, /read back and verified/, /Importing the same drive again changes nothing/, /Look around:/]) t.regex(human.stdout, phrase);
  t.notRegex(human.stdout, /"[A-Za-z_]+":/, 'no row printed whole');
  const hubDb = join(folder, 'hub', 'hub.db');
  const hubHome = join(folder, 'hub');

  // Both centres' patient 1, each with its ferry_origin, as each centre's EMR has it; the printed sqlite3 command shows them.
  const printed = /^ {2}sqlite3 -header -column (\S+) '([^']+)' +# both patient 1s$/m.exec(human.stdout);
  t.truthy(printed, human.stdout);
  t.is(printed![1], hubDb);
  const ones = sql<{ ferry_origin: string; patient_id: number; given_name: string; family_name: string }>(hubDb, printed![2]!);
  t.deepEqual(ones.map((p) => [p.ferry_origin, p.patient_id]), [['RW-017', 1], ['RW-021', 1]]);
  for (const one of ones) {
    const [atFacility] = sql<{ given_name: string; family_name: string }>(join(folder, `${one.ferry_origin.toLowerCase()}-emr.db`), 'SELECT given_name, family_name FROM patient WHERE patient_id = 1');
    t.deepEqual([one.given_name, one.family_name], [atFacility!.given_name, atFacility!.family_name]);
    t.regex(human.stdout, new RegExp(`patient 1 at ${one.ferry_origin} is ${one.given_name} ${one.family_name}, of `));
  }
  t.not(ones[0]!.given_name, ones[1]!.given_name, 'two different people');
  t.regex(human.stdout, /Both kept, told apart by ferry_origin/);

  // Rows per facility as status has them; shared tables merged.
  const st = runCli(['--home', hubHome, 'status', '--json']).json;
  const table = (name: string) => st.tables.find((x: { table: string }) => x.table === name);
  t.deepEqual(table('patient'), { table: 'patient', scope: 'facility', key: ['patient_id'], rows: 27, rows_by_facility: [{ facility: 'RW-017', rows: 14 }, { facility: 'RW-021', rows: 13 }] });
  t.like(table('location'), { scope: 'shared', key: ['uuid'], rows: 63, rows_by_facility: null });
  t.like(table('concept'), { scope: 'shared', key: ['code'], rows: 145, rows_by_facility: null });

  // Agreement: what the demo says agreed is what the hub counted as already held, and no conflict.
  const agreed = { location: 63, concept: 145 };
  t.regex(human.stdout, /location \(shared by uuid\): 63 rows agreed/);
  t.regex(human.stdout, /concept \(shared by code\): 145 rows agreed; 1 conflict in concept:/);
  const alreadyHeld = st.recent_imports.reduce((n: number, b: { already_present: number }) => n + b.already_present, 0);
  t.is(alreadyHeld, agreed.location + agreed.concept, 'every agreed row counted by the hub as already held');
  t.regex(human.stdout, /RW-017's corrected phone number applied cleanly: RW-021 had not changed that row/);
  t.is(sql<{ n: number }>(hubDb, "SELECT count(*) AS n FROM location WHERE phone = '+250 252 580 017'")[0]!.n, 1);

  // Exactly one conflict, in the shared concept table, between the two centres' versions.
  const conflicts = runCli(['--home', hubHome, 'conflicts', '--json']).json.conflicts;
  t.is(conflicts.length, 1, JSON.stringify(conflicts));
  t.is(conflicts[0].table, 'concept');
  t.deepEqual(conflicts[0].key, ['8302-2']);
  t.deepEqual([conflicts[0].current.origin, conflicts[0].other.origin].sort(), ['RW-017', 'RW-021']);
  t.deepEqual(conflicts[0].differing, ['name']);
  t.regex(human.stdout, new RegExp(`The hub holds ${conflicts[0].current.origin}'s version;\\n\\s+${conflicts[0].other.origin}'s is kept for review`));
  t.notRegex(human.stdout, /unexpected/);
});

test('inspect shows a courier what a drive holds, for whom, intact or not, with no node and no keys', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], trackAll: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const courierHome = join(tempDir(t), 'courier');
  mkdirSync(courierHome);
  const r = runCli(['--home', courierHome, 'inspect', n.drive, '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(r.json.items.length, 2);
  for (const i of r.json.items) {
    t.is(i.kind, 'bundle');
    t.is(i.recipient, 'HUB-1');
    t.true(i.intact);
    t.is(i.signature, 'unchecked');
    t.true(i.changes > 0);
    t.regex(i.created, /^\d{4}-/);
  }
  const hubView = runCli(['--home', n.hub.home, 'inspect', n.drive, '--json']);
  t.true(hubView.json.items.every((i: { signature: string }) => i.signature === 'trusted'));
  const human = runCli(['--home', courierHome, 'inspect', n.drive]);
  t.regex(human.stdout, /RW-001 -> HUB-1/);
  t.regex(human.stdout, /intact/);
  t.notRegex(human.stdout, /Maynard|Mosciski/, 'no patient data on the courier\'s screen');
});
