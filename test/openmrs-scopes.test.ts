/**
 * Issue 14 end to end, on OpenMRS-shaped EMRs (fixtures/openmrs) whose integer ids collide:
 * every site has a patient 1. The facility-owned tables must arrive at the hub side by side,
 * each row under its facility's ferry_origin, exactly as each facility holds them (values and
 * storage classes); the shared location table must merge by uuid, agreement counted, an edit by
 * one site applied cleanly and concurrent edits recorded as exactly one conflict whatever the
 * order the hub reads them in. Through the operations the CLI runs (track, export, import), and
 * once through the CLI itself (scripts/openmrs-two-facilities.sh).
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { listConflicts } from '../src/hub/conflicts.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import { importDrive } from '../src/roles/import.js';
import type { OpContext } from '../src/node/context.js';
import { setUpNetwork, type NetworkSite } from '../src/tools/harness/network.js';
import { buildOpenmrsEmr, DIVERGENT_LOCATION, locationUuid, OPENMRS_FACILITY_TABLES, openmrsSite, trackOpenmrs } from '../src/tools/harness/openmrs.js';
import { ROOT, sql, tempDir } from './helpers/env.js';
import { facImport, hubImport, openmrsNetwork, round, type OpenmrsNetwork } from './helpers/openmrs-network.js';

const columnsOf = (db: Database.Database, schema: string, table: string): string[] =>
  (db.prepare('SELECT name FROM pragma_table_info(?, ?)').all(table, schema) as Array<{ name: string }>).map((r) => r.name);

/**
 * The facility's table against the hub's rows of that facility (ferry_origin), both ways, each
 * value beside its storage class: rows the hub lacks, and rows the hub holds for it that it does
 * not have. 0 and 0 is "equal".
 */
function compareWithFacility(n: OpenmrsNetwork, site: NetworkSite, table: string): { missing: number; extra: number; facility: number; hub: number } {
  const db = new Database(n.hubDb, { readonly: true });
  try {
    db.prepare('ATTACH DATABASE ? AS fac').run(site.db);
    const cols = columnsOf(db, 'fac', table);
    const sel = cols.map((c) => `typeof("${c}"), "${c}"`).join(', ');
    const count = (q: string, ...p: unknown[]) => Number((db.prepare(q).get(...p) as { n: number }).n);
    return {
      missing: count(`SELECT count(*) AS n FROM (SELECT ${sel} FROM fac."${table}" EXCEPT SELECT ${sel} FROM main."${table}" WHERE ferry_origin = ?)`, site.id),
      extra: count(`SELECT count(*) AS n FROM (SELECT ${sel} FROM main."${table}" WHERE ferry_origin = ? EXCEPT SELECT ${sel} FROM fac."${table}")`, site.id),
      facility: count(`SELECT count(*) AS n FROM fac."${table}"`),
      hub: count(`SELECT count(*) AS n FROM main."${table}" WHERE ferry_origin = ?`, site.id),
    };
  } finally {
    db.close();
  }
}

function assertFacilityTablesEqual(t: ExecutionContext, n: OpenmrsNetwork, sites = n.sites): void {
  for (const tb of OPENMRS_FACILITY_TABLES) {
    for (const s of sites) {
      const c = compareWithFacility(n, s, tb.name);
      t.is(c.missing, 0, `${s.id}.${tb.name}: rows missing at the hub under ${s.id} (values and types compared)`);
      t.is(c.extra, 0, `${s.id}.${tb.name}: rows at the hub under ${s.id} that ${s.id} does not hold`);
      t.is(c.hub, c.facility, `${s.id}.${tb.name}: as many rows at the hub under ${s.id} as at ${s.id}`);
    }
  }
}

const hubCount = (n: OpenmrsNetwork, table: string) => sql<{ n: number }>(n.hubDb, `SELECT count(*) AS n FROM "${table}"`)[0]!.n;
const emrCount = (s: NetworkSite, table: string) => sql<{ n: number }>(s.db, `SELECT count(*) AS n FROM "${table}"`)[0]!.n;
/** Every row the hub holds for one facility, all facility tables, as text: to see that it did not move. */
const hubRowsOf = (n: OpenmrsNetwork, origin: string) =>
  OPENMRS_FACILITY_TABLES.map((tb) => JSON.stringify(sql(n.hubDb, `SELECT * FROM "${tb.name}" WHERE ferry_origin = ? ORDER BY "${tb.key[0]}"`, origin))).join('\n');

test('the OpenMRS fixtures: the same rows on every run; every site numbers its rows from 1; locations identical but Maternity', (t) => {
  const dir = tempDir(t, 'ferry-openmrs-fixture-');
  const dump = (db: string) => ['location', ...OPENMRS_FACILITY_TABLES.map((tb) => tb.name)].map((tb) => JSON.stringify(sql(db, `SELECT * FROM "${tb}" ORDER BY 1`))).join('\n');
  const [a, b, other] = [join(dir, 'a.db'), join(dir, 'b.db'), join(dir, 'other.db')];
  buildOpenmrsEmr(a, openmrsSite('RW-017'));
  buildOpenmrsEmr(b, openmrsSite('RW-017'));
  buildOpenmrsEmr(other, openmrsSite('RW-021'));
  t.is(dump(a), dump(b));
  for (const tb of OPENMRS_FACILITY_TABLES) t.deepEqual(sql(a, `SELECT min("${tb.key[0]}") AS first FROM "${tb.name}"`), [{ first: 1 }], `${tb.name} starts at 1`);
  const locations = (db: string) => sql<{ name: string; row: string }>(db, 'SELECT name, json_array(location_id, name, description, parent_location, uuid, retired) AS row FROM location ORDER BY location_id');
  const differ = locations(a).filter((l, i) => l.row !== locations(other)[i]!.row).map((l) => l.name);
  t.deepEqual(differ, [DIVERGENT_LOCATION]);
  t.deepEqual(sql(a, "SELECT identifier FROM patient_identifier WHERE patient_id = 5 AND identifier_type = 3"), [{ identifier: 'RW-MUH-017-000005' }]);
});

test('three health centres with colliding ids: every facility-owned table at the hub is each centre\'s table under its ferry_origin, the counts add up, no conflict', async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021', 'RW-033']);
  const r = await round(n, 'drive-1');
  t.deepEqual(r.bundles.map((b) => b.outcome), ['applied', 'applied', 'applied']);
  assertFacilityTablesEqual(t, n);
  for (const tb of OPENMRS_FACILITY_TABLES) t.is(hubCount(n, tb.name), n.sites.reduce((sum, s) => sum + emrCount(s, tb.name), 0), `hub ${tb.name} holds the sum of the centres' rows`);
  // Three patient 1s, three different people.
  const ones = sql<{ ferry_origin: string; given_name: string }>(n.hubDb, 'SELECT p.ferry_origin, pn.given_name FROM patient p JOIN person_name pn ON pn.ferry_origin = p.ferry_origin AND pn.person_id = p.patient_id WHERE p.patient_id = 1 ORDER BY 1');
  t.deepEqual(ones, [
    { ferry_origin: 'RW-017', given_name: 'Alice' },
    { ferry_origin: 'RW-021', given_name: 'Claire' },
    { ferry_origin: 'RW-033', given_name: 'Jean' },
  ]);
  // Only the shared table can conflict: the Maternity row every centre described its own way.
  const conflicts = await listConflicts(n.hub, { all: true });
  t.deepEqual([...new Set(conflicts.map((c) => c.table))], ['location'], 'no conflict in a facility-owned table');
  t.is(conflicts.length, 2, 'three different Maternity rows: the second and the third each conflict once');
  t.true(conflicts.every((c) => JSON.stringify(c.key) === JSON.stringify([locationUuid(DIVERGENT_LOCATION)])));
});

test('at the hub every encounter, obs, name and identifier joins its own facility\'s patient and person on ferry_origin; no orphan', async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021', 'RW-033']);
  await round(n, 'drive-1');
  const orphans = (child: string, column: string, parent: string, parentKey: string) =>
    sql<{ n: number }>(n.hubDb, `SELECT count(*) AS n FROM "${child}" c LEFT JOIN "${parent}" p ON p.ferry_origin = c.ferry_origin AND p."${parentKey}" = c."${column}" WHERE p."${parentKey}" IS NULL`)[0]!.n;
  t.is(orphans('encounter', 'patient_id', 'patient', 'patient_id'), 0);
  t.is(orphans('obs', 'encounter_id', 'encounter', 'encounter_id'), 0);
  t.is(orphans('obs', 'person_id', 'person', 'person_id'), 0);
  t.is(orphans('person_name', 'person_id', 'person', 'person_id'), 0);
  t.is(orphans('patient_identifier', 'patient_id', 'patient', 'patient_id'), 0);
  t.is(orphans('patient', 'patient_id', 'person', 'person_id'), 0);
  // The join on ferry_origin finds the same patient the facility's own join finds.
  for (const s of n.sites) {
    const atFacility = sql(s.db, 'SELECT e.encounter_id, i.identifier FROM encounter e JOIN patient_identifier i ON i.patient_id = e.patient_id AND i.identifier_type = 3 ORDER BY 1');
    const atHub = sql(n.hubDb, 'SELECT e.encounter_id, i.identifier FROM encounter e JOIN patient_identifier i ON i.ferry_origin = e.ferry_origin AND i.patient_id = e.patient_id AND i.identifier_type = 3 WHERE e.ferry_origin = ? ORDER BY 1', s.id);
    t.deepEqual(atHub, atFacility, `${s.id}: each encounter's patient identifier`);
  }
});

test('updates and deletes at one centre touch only its rows: the other centre\'s rows with the same ids do not move, and nothing conflicts', async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  const conflictsBefore = (await listConflicts(n.hub, { all: true })).length;
  const claire = hubRowsOf(n, 'RW-021');
  // RW-017 renames its person 1, voids its patient 2 and deletes its obs 1 and encounter 2's obs.
  sql(n.site('RW-017').db, "UPDATE person_name SET given_name = 'Alicia', changed_by = 1, date_changed = '2026-04-20 09:00:00' WHERE person_id = 1");
  sql(n.site('RW-017').db, "UPDATE patient SET voided = 1, voided_by = 1, date_voided = '2026-04-20 09:05:00', void_reason = 'duplicate record' WHERE patient_id = 2");
  sql(n.site('RW-017').db, 'DELETE FROM obs WHERE obs_id = 1 OR encounter_id = 2');
  const r2 = await round(n, 'drive-2', ['RW-017']);
  t.is(r2.bundles[0]!.counts!.conflicts, 0);
  t.is(hubRowsOf(n, 'RW-021'), claire, "RW-021's rows did not move");
  assertFacilityTablesEqual(t, n);
  t.is(sql<{ given_name: string }>(n.hubDb, 'SELECT given_name FROM person_name WHERE ferry_origin = ? AND person_id = 1', 'RW-021')[0]!.given_name, 'Claire');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM obs WHERE obs_id = 1')[0]!.n, 1, "RW-021's obs 1 is still there");

  // Now RW-021 edits and deletes the same ids its own way: RW-017's rows stay as they are.
  const alicia = hubRowsOf(n, 'RW-017');
  sql(n.site('RW-021').db, "UPDATE person_name SET family_name = 'Mukamana-Uwera' WHERE person_id = 1");
  sql(n.site('RW-021').db, 'DELETE FROM obs WHERE encounter_id = 1');
  sql(n.site('RW-021').db, "UPDATE encounter SET voided = 1, void_reason = 'entered in error' WHERE encounter_id = 2");
  const r3 = await round(n, 'drive-3', ['RW-021']);
  t.is(r3.bundles[0]!.counts!.conflicts, 0);
  t.is(hubRowsOf(n, 'RW-017'), alicia, "RW-017's rows did not move");
  assertFacilityTablesEqual(t, n);
  t.is((await listConflicts(n.hub, { all: true })).length, conflictsBefore, 'no new conflict');
  for (const tb of OPENMRS_FACILITY_TABLES) t.is(hubCount(n, tb.name), emrCount(n.site('RW-017'), tb.name) + emrCount(n.site('RW-021'), tb.name));
});

/** A location row as the hub holds it, by uuid, its columns as the facility has them. */
const locationAt = (db: string, name: string) => sql<Record<string, unknown>>(db, 'SELECT * FROM location WHERE uuid = ?', locationUuid(name))[0];

for (const order of [['RW-017', 'RW-021'], ['RW-021', 'RW-017']] as const) {
  test(`the shared location table, hub reading ${order[0]} first: rows both hold agree, one centre's edit applies cleanly, both editing one row is exactly one conflict`, async (t) => {
    const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
    // Round 1: each centre on its own drive, the hub reading them in this order.
    const first: HubImportResult[] = [];
    const drives1 = Object.fromEntries(order.map((id) => [id, n.drive(`r1-${id}`)]));
    for (const id of order) await exportChanges(n.site(id).ctx, { to: drives1[id]! });
    for (const id of order) first.push(await hubImport(n, drives1[id]!));
    for (const id of order) await facImport(n.site(id), drives1[id]!);
    t.is(hubCount(n, 'location'), 7, 'seven locations by uuid, not fourteen');
    t.is(first[0]!.bundles[0]!.counts!.already_present, 0);
    t.is(first[1]!.bundles[0]!.counts!.already_present, 6, 'the six locations both hold as they are: agreement');
    t.is(first[1]!.bundles[0]!.counts!.conflicts, 1, 'the Maternity row each described its own way');
    for (const name of ['Unknown Location', 'Kigali', 'Laboratory']) {
      t.deepEqual(locationAt(n.hubDb, name), locationAt(n.site('RW-017').db, name), `${name} at the hub as both centres hold it`);
    }
    const before = (name: string) => JSON.stringify(locationAt(n.hubDb, name));

    // Round 2: RW-017 alone corrects Kigali's coordinates; both edit the Laboratory, differently.
    const kigali = before('Kigali');
    const lab = before('Laboratory');
    sql(n.site('RW-017').db, "UPDATE location SET latitude = '-1.9500', changed_by = 1, date_changed = '2026-04-21 10:00:00' WHERE uuid = ?", locationUuid('Kigali'));
    sql(n.site('RW-017').db, "UPDATE location SET description = 'Laboratory, open day and night' WHERE uuid = ?", locationUuid('Laboratory'));
    sql(n.site('RW-021').db, "UPDATE location SET name = 'Central Laboratory' WHERE uuid = ?", locationUuid('Laboratory'));
    const drives2 = Object.fromEntries(order.map((id) => [id, n.drive(`r2-${id}`)]));
    for (const id of order) await exportChanges(n.site(id).ctx, { to: drives2[id]! });
    const second: HubImportResult[] = [];
    for (const id of order) second.push(await hubImport(n, drives2[id]!));
    t.not(before('Kigali'), kigali);
    t.deepEqual(locationAt(n.hubDb, 'Kigali'), locationAt(n.site('RW-017').db, 'Kigali'), "RW-017's edit of a row both sent is applied");
    const conflicts = await listConflicts(n.hub, { all: true });
    const on = (name: string) => conflicts.filter((c) => JSON.stringify(c.key) === JSON.stringify([locationUuid(name)]));
    t.is(on('Kigali').length, 0, 'an edit by one centre of a row both sent is not a conflict');
    t.is(on('Laboratory').length, 1, 'both centres editing the Laboratory since they agreed: exactly one conflict');
    t.is(second.reduce((sum, r) => sum + r.bundles[0]!.counts!.conflicts, 0), 1);
    const c = on('Laboratory')[0]!;
    t.deepEqual([c.current.origin, c.other.origin].sort(), ['RW-017', 'RW-021'], 'the conflict keeps both centres\' versions');
    const held = locationAt(n.hubDb, 'Laboratory');
    t.not(JSON.stringify(held), lab);
    // The same winner whichever bundle came first: the later edit (RW-021's), by the rule.
    t.deepEqual(held, locationAt(n.site('RW-021').db, 'Laboratory'));
    t.is(c.current.origin, 'RW-021');
    t.is(hubCount(n, 'location'), 7);
  });
}

test('scripts/openmrs-two-facilities.sh: two centres through the real CLI (init, trust, track, export, import); sqlite3 on hub.db shows both patient 1s', (t) => {
  const dir = tempDir(t, 'ferry-openmrs-cli-');
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'openmrs-two-facilities.sh'), dir], { encoding: 'utf8', env: { ...process.env, FERRY_HOME: '' } });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^ferry_origin\|patient_id\|identifier\|given_name\|family_name$/m);
  t.regex(r.stdout, /^RW-017\|1\|RW-MUH-017-000001\|Alice\|Uwase$/m);
  t.regex(r.stdout, /^RW-021\|1\|RW-KAC-021-000001\|Claire\|Mukamana$/m);
  t.is(sql<{ n: number }>(join(dir, 'hub', 'hub.db'), 'SELECT count(*) AS n FROM patient')[0]!.n, 9, 'five patients from RW-017 and four from RW-021');
});
