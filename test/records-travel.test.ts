/**
 * Issue 16: records travel back. On OpenMRS-shaped EMRs whose ids collide (every centre has a
 * patient 5), a patient of RW-017 is sent to RW-021; after one courier round RW-021's received
 * database holds that patient's person, names, identifiers, encounters and obs exactly (values and
 * storage classes), and no other patient of RW-017; later changes follow until the send stops;
 * shared reference rows reach every facility; re-imports, out-of-order bundles, lost receipts and
 * tampered hub bundles leave the received database right.
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { copyFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { makeContext } from '../src/node/context.js';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { exportToFacilities } from '../src/hub/export-to-facilities.js';
import { listSends, send, stopSend } from '../src/hub/send.js';
import { decide, listRequests, setRequestPolicy } from '../src/hub/requests.js';
import { listOwnRequests, requestRecord } from '../src/facility/request.js';
import { status, type FacilityStatus, type HubStatus } from '../src/roles/status.js';
import { auditLog } from '../src/node/log.js';
import { facilityImportVerdict } from '../src/roles/verdict.js';
import { locationUuid, OPENMRS_FACILITY_TABLES } from '../src/tools/harness/openmrs.js';
import { sql } from './helpers/env.js';
import { facImport, hubImport, hubRowCount, openmrsNetwork as sqliteNetwork, round, type OpenmrsNetwork } from './helpers/openmrs-network.js';
import { hasPostgres, storeKinds, usePostgres, type StoreKind } from './helpers/postgres.js';
import type { NetworkSite } from '../src/tools/harness/network.js';

/** Patient 5's rows at its own centre, per table: what must arrive, and nothing else of that centre. */
const PATIENT_ROWS: Record<string, string> = {
  person: 'person_id = 5',
  person_name: 'person_id = 5',
  patient: 'patient_id = 5',
  patient_identifier: 'patient_id = 5',
  encounter: 'patient_id = 5',
  obs: 'person_id = 5',
};

const receivedDb = (s: NetworkSite) => join(s.ctx.home, 'received.db');

/**
 * The received database's rows of `origin` in `table` against the origin's EMR rows that match
 * `where`, each value beside its storage class, both ways. 0 and 0 is "exactly those rows".
 */
function compareReceived(received: string, emr: string, origin: string, table: string, where: string): { missing: number; extra: number; rows: number } {
  const db = new Database(received, { readonly: true });
  try {
    db.prepare('ATTACH DATABASE ? AS emr').run(emr);
    const cols = (db.prepare('SELECT name FROM pragma_table_info(?, ?)').all(table, 'emr') as Array<{ name: string }>).map((r) => r.name);
    const sel = cols.map((c) => `typeof("${c}"), "${c}"`).join(', ');
    const n = (q: string, ...p: unknown[]) => Number((db.prepare(q).get(...p) as { n: number }).n);
    return {
      missing: n(`SELECT count(*) AS n FROM (SELECT ${sel} FROM emr."${table}" WHERE ${where} EXCEPT SELECT ${sel} FROM main."${table}" WHERE ferry_origin = ?)`, origin),
      extra: n(`SELECT count(*) AS n FROM (SELECT ${sel} FROM main."${table}" WHERE ferry_origin = ? EXCEPT SELECT ${sel} FROM emr."${table}" WHERE ${where})`, origin),
      rows: n(`SELECT count(*) AS n FROM main."${table}" WHERE ferry_origin = ?`, origin),
    };
  } finally {
    db.close();
  }
}

function assertPatientReceived(t: ExecutionContext, n: OpenmrsNetwork, to: string, from: string): void {
  for (const [table, where] of Object.entries(PATIENT_ROWS)) {
    const c = compareReceived(receivedDb(n.site(to)), n.site(from).db, from, table, where);
    t.is(c.missing, 0, `${to} received every ${table} row of ${from}'s patient 5 (values and types)`);
    t.is(c.extra, 0, `${to} received no other ${table} row of ${from}`);
  }
}

/** Hub export onto a drive, then each facility named reads it (and exports its own), then the hub reads their receipts. */
async function hubRound(n: OpenmrsNetwork, name: string, readers: string[]) {
  const drive = n.drive(name);
  const out = await exportToFacilities(n.hub, { to: drive });
  const received = [];
  for (const id of readers) received.push(await facImport(n.site(id), drive));
  const back = await hubImport(n, drive);
  return { drive, out, received, back };
}

/** A network whose hub is on SQLite or on a real PostgreSQL server: one suite, two stores. */
const postgres = hasPostgres() ? usePostgres(test) : undefined;
const networkOn = (kind: StoreKind) => async (t: ExecutionContext, ids: string[]) => sqliteNetwork(t, ids, kind === 'postgres' ? { hubDb: (await postgres!()).createDatabase() } : {});

/** The hub's locations, through its store, in uuid order. */
async function hubLocations(n: OpenmrsNetwork): Promise<Array<Record<string, unknown>>> {
  const { withSession } = await import('../src/node/node-session.js');
  return withSession(n.hub, 'hub', 'test', async (s) => {
    const out: Array<Record<string, unknown>> = [];
    for await (const r of s.hubStore().rows('location')) out.push(r);
    return out.sort((a, b) => String(a.uuid).localeCompare(String(b.uuid)));
  });
}

for (const kind of storeKinds()) {
  const openmrsNetwork = networkOn(kind);
  test(`${kind}: a patient sent with \`send\` reaches the facility that now treats them: exactly its rows, values and types, and no other patient of its centre`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  const dry = await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'], reason: 'transferred for surgery', dryRun: true });
  t.deepEqual(dry.tables, { patient: 1, person: 1, person_name: 1, patient_identifier: 1, encounter: 2, obs: 5 }, 'the dry run says what would travel');
  t.deepEqual(await listSends(n.hub), [], 'a dry run queues nothing');
  const r = await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'], reason: 'transferred for surgery' });
  t.is(r.rows, 11);
  const { out, received, back } = await hubRound(n, 'drive-2', ['RW-021']);
  const forMe = out.facilities.find((f) => f.facility === 'RW-021')!;
  t.is(forMe.changes, 11 + (await hubRowCount(n, 'location')), 'the patient rows and the shared locations');
  t.deepEqual(received[0]!.received.map((x) => x.outcome), ['applied']);
  t.truthy(received[0]!.received[0]!.receipt, 'a receipt was written for the hub');
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
  // RW-021 has its own patient 5: it stays in the EMR, and the received one is RW-017's.
  t.deepEqual(sql(receivedDb(n.site('RW-021')), "SELECT ferry_origin, given_name FROM person_name WHERE person_id = 5"), sql(n.site('RW-017').db, 'SELECT ? AS ferry_origin, given_name FROM person_name WHERE person_id = 5', 'RW-017'));
  // Shared reference data went too: every location, as the hub holds it.
  t.is(sql<{ n: number }>(receivedDb(n.site('RW-021')), 'SELECT count(*) AS n FROM location')[0]!.n, await hubRowCount(n, 'location'));
  // The hub read the receipt: nothing waits for RW-021, and the next export writes nothing for it.
  t.deepEqual(back.receipts.map((x) => x.outcome), ['accepted']);
  const hs = (await status(n.hub)) as HubStatus;
  t.like(hs.outgoing.find((o) => o.recipient === 'RW-021'), { waiting: 0, sends: 1 });
  const again = await exportToFacilities(n.hub, { to: n.drive('drive-3'), for: ['RW-021'] });
  t.deepEqual(again.facilities, [], 'nothing outgoing once acknowledged');
  // The facility's status says what came, from whom.
  const fs = (await status(n.site('RW-021').ctx)) as FacilityStatus;
  t.is(fs.received_db, receivedDb(n.site('RW-021')));
  t.like(fs.received.find((x) => x.table === 'obs'), { origin: 'RW-017', rows: 5 });
  // Audited with its reason; no row value in the audit.
  const log = await auditLog(n.hub, { limit: 100 });
  const sent = log.find((e) => e.action === 'send');
  t.like(sent, { peer: 'RW-021', outcome: 'queued' });
  t.is((sent!.detail as { reason: string }).reason, 'transferred for surgery');
  t.false(JSON.stringify(log).includes('RW-MUH-017-000005'));
});

  test(`${kind}: a send follows: a later edit and a new encounter at the origin reach the receiver on the next round; after --stop nothing more goes`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'] });
  await hubRound(n, 'drive-2', ['RW-021']);
  const emr = n.site('RW-017').db;
  sql(emr, "UPDATE person_name SET family_name = 'Uwimana-Kalisa' WHERE person_id = 5");
  sql(emr, "INSERT INTO encounter (encounter_type, patient_id, location_id, encounter_datetime, date_created, uuid) VALUES (2, 5, 3, '2026-05-01 10:00:00', '2026-05-01 10:00:00', 'enc-new-5')");
  sql(emr, "INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, value_numeric, date_created, uuid) SELECT 5, 5089, encounter_id, '2026-05-01 10:00:00', 71.5, '2026-05-01 10:00:00', 'obs-new-5' FROM encounter WHERE uuid = 'enc-new-5'");
  sql(emr, "UPDATE person_name SET family_name = 'Someone Else' WHERE person_id = 4");
  await round(n, 'drive-3', ['RW-017']);
  await hubRound(n, 'drive-4', ['RW-021']);
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
  t.deepEqual(sql(receivedDb(n.site('RW-021')), "SELECT family_name FROM person_name WHERE ferry_origin = 'RW-017'"), [{ family_name: 'Uwimana-Kalisa' }], "patient 4's edit did not travel");

  const stopped = await stopSend(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'], reason: 'discharged' });
  t.is(stopped.length, 1);
  sql(emr, "UPDATE person_name SET family_name = 'After Stop' WHERE person_id = 5");
  await round(n, 'drive-5', ['RW-017']);
  const after = await hubRound(n, 'drive-6', ['RW-021']);
  t.is(after.out.facilities.find((f) => f.facility === 'RW-021')?.changes ?? 0, 0, 'nothing more goes after --stop');
  t.deepEqual(sql(receivedDb(n.site('RW-021')), "SELECT family_name FROM person_name WHERE ferry_origin = 'RW-017'"), [{ family_name: 'Uwimana-Kalisa' }], 'what was sent stays');
});

  test(`${kind}: --all-from: a district hospital follows every row of a health centre; shared rows reach every facility`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021', 'RW-033']);
  await round(n, 'drive-1');
  await send(n.hub, { to: 'RW-033', allFrom: 'RW-017', reason: 'district hospital' });
  await hubRound(n, 'drive-2', ['RW-021', 'RW-033']);
  for (const tb of OPENMRS_FACILITY_TABLES) {
    const c = compareReceived(receivedDb(n.site('RW-033')), n.site('RW-017').db, 'RW-017', tb.name, '1 = 1');
    t.deepEqual([c.missing, c.extra], [0, 0], `RW-033 holds every ${tb.name} row of RW-017`);
  }
  for (const id of ['RW-021', 'RW-033']) {
    t.deepEqual(
      sql(receivedDb(n.site(id)), 'SELECT uuid, description FROM location ORDER BY uuid'),
      (await hubLocations(n)).map((l) => ({ uuid: l.uuid, description: l.description })),
      `${id} holds the hub's version of every location`,
    );
  }
  t.is(sql<{ n: number }>(receivedDb(n.site('RW-021')), "SELECT count(*) AS n FROM sqlite_master WHERE name = 'obs'")[0]!.n, 0, 'RW-021 was sent no patient');
});

  test(`${kind}: the same drive twice, bundles out of order, a lost receipt: the received database is as if each row arrived once`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'] });
  const first = n.drive('drive-2');
  await exportToFacilities(n.hub, { to: first });
  // The edit goes out on a second drive before RW-021 read the first (its receipt never came back).
  sql(n.site('RW-017').db, "UPDATE person_name SET family_name = 'Second Drive' WHERE person_id = 5");
  await round(n, 'drive-3', ['RW-017']);
  const second = n.drive('drive-4');
  await exportToFacilities(n.hub, { to: second });
  // RW-021 reads the newer drive first, then the older one, then the newer one again.
  const a = await facImport(n.site('RW-021'), second);
  const b = await facImport(n.site('RW-021'), first);
  const c = await facImport(n.site('RW-021'), second);
  t.deepEqual([a, b, c].map((r) => r.received.map((x) => x.outcome).join()), ['applied', 'applied', 'already-applied']);
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
  t.deepEqual(sql(receivedDb(n.site('RW-021')), "SELECT family_name FROM person_name WHERE ferry_origin = 'RW-017'"), [{ family_name: 'Second Drive' }], 'the older bundle did not bring the old name back');
  // Neither drive comes back to the hub (the receipts are lost): everything stays due, and goes again.
  t.true(((await status(n.hub)) as HubStatus).outgoing.find((o) => o.recipient === 'RW-021')!.waiting > 0, 'no receipt, nothing confirmed');
  const third = n.drive('drive-5');
  const resent = await exportToFacilities(n.hub, { to: third, for: ['RW-021'] });
  t.true(resent.facilities[0]!.changes > 0);
  const d = await facImport(n.site('RW-021'), third);
  t.like(d.received[0], { outcome: 'applied', applied: 0 }, 'every row it carries was held already');
  t.is(d.received[0]!.already_present, resent.facilities[0]!.changes);
  const back = await hubImport(n, third);
  t.deepEqual(back.receipts.map((x) => x.outcome), ['accepted']);
  t.is(((await status(n.hub)) as HubStatus).outgoing.find((o) => o.recipient === 'RW-021')!.waiting, 0, 'the receipt on the third drive confirms all');
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
});

  test(`${kind}: a tampered hub bundle is refused at the facility before anything is decrypted or applied; a bundle for another facility is not read`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'] });
  const drive = n.drive('drive-2');
  await exportToFacilities(n.hub, { to: drive });
  const dir = join(drive, 'FERRY', 'bundles');
  const mine = readdirSync(dir).find((f) => f.startsWith('HUB-KGL.to.RW-021.'))!;
  const path = join(dir, mine);
  const bytes = readFileSync(path);
  // One byte of the payload changed: the hash no longer matches the signed manifest.
  const at = bytes.indexOf(Buffer.from('payload.bin')) + 200;
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(path, bytes);
  const r = await facImport(n.site('RW-021'), drive);
  t.is(r.received.length, 1);
  t.is(r.received[0]!.outcome, 'refused');
  t.regex(r.received[0]!.reason!.code, /payload-hash-mismatch|zip-invalid/);
  t.is(sql<{ n: number }>(receivedDb(n.site('RW-021')), "SELECT count(*) AS n FROM sqlite_master WHERE name = 'person'")[0]!.n, 0, 'nothing applied');
  t.is(facilityImportVerdict(r).outcome, 'partial');
  // RW-017 reads the same drive: the bundle for RW-021 is not its to open.
  copyFileSync(path, `${path}.keep`);
  const other = await facImport(n.site('RW-017'), drive);
  t.true(other.received.every((x) => x.file.includes('HUB-KGL.to.RW-017.')), 'RW-017 read only what was addressed to it');
});

  test(`${kind}: the received database is private to its owner, and ferry never writes the received rows into the EMR`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  const before = sql(n.site('RW-021').db, 'SELECT count(*) AS n FROM person');
  await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'] });
  await hubRound(n, 'drive-2', ['RW-021']);
  const { statSync } = await import('node:fs');
  t.is(statSync(receivedDb(n.site('RW-021'))).mode & 0o077, 0, 'received.db is 0600');
  t.deepEqual(sql(n.site('RW-021').db, 'SELECT count(*) AS n FROM person'), before, 'the EMR did not change');
  t.is(((await status(n.site('RW-021').ctx)) as FacilityStatus).pending, 0, 'nothing to send back: the EMR did not change');
  t.is(locationUuid('Kigali').length, 36);
});

  test(`${kind}: a request by the identifier on a patient's card, answered automatically: after one courier round the facility holds the patient's record`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  const asked = await requestRecord(n.site('RW-021').ctx, { table: 'patient_identifier', column: 'identifier', value: 'RW-MUH-017-000005', reason: 'arrived for follow-up' });
  // The courier's round: RW-021 exports (its request rides along), the hub imports and exports, RW-021 imports.
  const drive = n.drive('drive-2');
  const out = await exportChanges(n.site('RW-021').ctx, { to: drive });
  t.is(out.requests_written.length, 1);
  // On the drive the request says who asked whom, and nothing of what: the value is sealed.
  const file = readFileSync(out.requests_written[0]!);
  t.false(file.includes(Buffer.from('RW-MUH-017-000005')), 'the identifier is not readable on the drive');
  t.false(file.includes(Buffer.from('patient_identifier')), 'nor the table');
  const atHub = await hubImport(n, drive);
  t.deepEqual(atHub.requests.map((x) => x.outcome), ['answered']);
  t.deepEqual(readdirSync(join(drive, 'FERRY', 'requests')), [], 'the hub took the request off the drive once recorded');
  if (kind === 'sqlite') {
    t.deepEqual(
      sql(n.hubDb, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'patient_identifier' AND name LIKE 'ferry_req%'"),
      [{ name: 'ferry_req_patient_identifier_identifier' }],
      'the requested column is indexed once: a waiting request is looked up at every import and export',
    );
  }
  await exportToFacilities(n.hub, { to: drive });
  const back = await facImport(n.site('RW-021'), drive);
  t.deepEqual(back.requests_answered.map((x) => x.request_id), [asked.request_id]);
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
  t.deepEqual((await listOwnRequests(n.site('RW-021').ctx)).map((r) => r.answered_at !== null), [true]);
  // The hub's audit says who asked, for whom and why, without the identifier.
  const log = await auditLog(n.hub, { limit: 200 });
  t.like(log.find((e) => e.action === 'request-received'), { peer: 'RW-021', outcome: 'approved' });
  t.like(log.find((e) => e.action === 'request-answered'), { peer: 'RW-021', outcome: 'answered' });
  t.false(JSON.stringify(log).includes('RW-MUH-017-000005'));
  // Answered, it no longer travels.
  t.deepEqual((await exportChanges(n.site('RW-021').ctx, { to: n.drive('drive-3') })).requests_written, []);
});

  test(`${kind}: a hub that holds requests for an operator: nothing goes until it is approved; a denied one sends nothing`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  await setRequestPolicy(n.hub, 'approve');
  await requestRecord(n.site('RW-021').ctx, { table: 'patient_identifier', column: 'identifier', value: 'RW-MUH-017-000005' });
  await requestRecord(n.site('RW-021').ctx, { table: 'patient_identifier', column: 'identifier', value: 'RW-MUH-017-000003' });
  const drive = n.drive('drive-2');
  await exportChanges(n.site('RW-021').ctx, { to: drive });
  const atHub = await hubImport(n, drive);
  t.deepEqual(atHub.requests.map((x) => x.outcome), ['held', 'held']);
  const { requests } = await listRequests(n.hub);
  t.deepEqual(requests.map((r) => [r.status, r.value]).sort(), [['held', 'RW-MUH-017-000003'], ['held', 'RW-MUH-017-000005']]);
  const five = requests.find((r) => r.value.endsWith('5'))!;
  const three = requests.find((r) => r.value.endsWith('3'))!;
  // Nothing for RW-021 but the shared locations while both are held.
  const held = await exportToFacilities(n.hub, { to: n.drive('drive-held') });
  t.is(held.facilities.find((f) => f.facility === 'RW-021')!.changes, await hubRowCount(n, 'location'));
  t.is((await decide(n.hub, { id: five.id, approve: true, reason: 'confirmed by phone' })).status, 'answered');
  t.is((await decide(n.hub, { id: three.id, approve: false, reason: 'not our patient' })).status, 'denied');
  await t.throwsAsync(decide(n.hub, { id: three.id, approve: true }), { code: 'request-unknown' });
  const drive2 = n.drive('drive-3');
  await exportToFacilities(n.hub, { to: drive2 });
  await facImport(n.site('RW-021'), drive2);
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
  t.deepEqual(sql(receivedDb(n.site('RW-021')), 'SELECT DISTINCT person_id FROM person WHERE ferry_origin = ?', 'RW-017'), [{ person_id: 5 }], 'only the approved patient');
});

  test(`${kind}: a request for a record the hub does not hold yet waits, and is answered once the record arrives`, async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  // RW-021 exports first: RW-017's rows have not reached the hub.
  await round(n, 'drive-1', ['RW-021']);
  await requestRecord(n.site('RW-021').ctx, { table: 'patient_identifier', column: 'identifier', value: 'RW-MUH-017-000005' });
  const d2 = n.drive('drive-2');
  await exportChanges(n.site('RW-021').ctx, { to: d2 });
  t.deepEqual((await hubImport(n, d2)).requests.map((x) => x.outcome), ['approved']);
  await round(n, 'drive-3', ['RW-017']);
  const d4 = n.drive('drive-4');
  await exportToFacilities(n.hub, { to: d4 });
  await facImport(n.site('RW-021'), d4);
  assertPatientReceived(t, n, 'RW-021', 'RW-017');
});
}

if (hasPostgres()) {
  test('postgres: two stations exporting for the same facility at once give no row two outgoing numbers; either drive brings the record', async (t) => {
    const n = await networkOn('postgres')(t, ['RW-017', 'RW-021']);
    await round(n, 'drive-1');
    await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'] });
    const station2 = makeContext(join(n.root, 'station-2'));
    cpSync(n.hub.home, station2.home, { recursive: true });
    const [a, b] = [n.drive('drive-a'), n.drive('drive-b')];
    const [ra, rb] = await Promise.all([exportToFacilities(n.hub, { to: a, for: ['RW-021'] }), exportToFacilities(station2, { to: b, for: ['RW-021'] })]);
    const rows = 11 + (await hubRowCount(n, 'location'));
    t.is(ra.facilities[0]!.queued + rb.facilities[0]!.queued, rows, 'each row queued once, by one station or the other');
    t.is(ra.facilities[0]!.changes, rows, 'each drive carries every row not yet confirmed');
    t.is(rb.facilities[0]!.changes, rows);
    const seqs = (r: typeof ra) => r.facilities[0]!.written.map((w) => `${w.seq.first}-${w.seq.last}`).join();
    t.is(seqs(ra), seqs(rb), 'the same outgoing numbers on both drives');
    await facImport(n.site('RW-021'), b);
    assertPatientReceived(t, n, 'RW-021', 'RW-017');
    const second = await facImport(n.site('RW-021'), a);
    t.like(second.received[0], { outcome: 'applied', applied: 0 }, 'the other drive brings nothing new');
  });
}

test('a facility whose node.json names another received database gets the rows there, and status says where; the EMR itself is refused as one', async (t) => {
  const n = await networkOn('sqlite')(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  const home = n.site('RW-021').ctx.home;
  const configPath = join(home, 'node.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  writeFileSync(configPath, JSON.stringify({ ...config, received_db: '../shared/received-rw021.db' }));
  await send(n.hub, { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'] });
  await hubRound(n, 'drive-2', ['RW-021']);
  const elsewhere = join(n.root, 'shared', 'received-rw021.db');
  t.is(((await status(n.site('RW-021').ctx)) as FacilityStatus).received_db, elsewhere);
  t.deepEqual(sql(elsewhere, 'SELECT count(*) AS n FROM obs'), [{ n: 5 }]);
  writeFileSync(configPath, JSON.stringify({ ...config, received_db: config.db }));
  await t.throwsAsync(status(n.site('RW-021').ctx), { code: 'config-invalid' });
});
