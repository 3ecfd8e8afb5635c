/**
 * The whole loop with two facilities, one hub and drives. Hub tables are compared with the
 * facilities' row by row, storage types included (typeof + quote through an ATTACH).
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SYNTHEA_TABLES } from '../src/tools/demo/synthea.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { listConflicts, resolveConflict } from '../src/hub/conflicts.js';
import { revoke } from '../src/node/trust.js';
import { status } from '../src/roles/status.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import { makeContext } from '../src/node/context.js';
import { buildZip, readZipEntries } from '../src/tools/fuzz/raw-zip.js';
import { initNode } from '../src/node/init.js';
import { trustPeer } from '../src/node/trust.js';
import { track } from '../src/facility/track.js';
import { makeNetwork, ROOT, runCli, sql, type Network } from './helpers/env.js';

const hubImport = async (n: Network, drive = n.drive) => (await importDrive(n.hub, { from: drive })) as HubImportResult;
const facImport = async (n: Network, i: number, drive = n.drive) => (await importDrive(n.sites[i]!.ctx, { from: drive })) as FacilityImportResult;

function columnsOf(db: Database.Database, schema: string, table: string): string[] {
  return (db.prepare('SELECT name FROM pragma_table_info(?, ?)').all(table, schema) as Array<{ name: string }>).map((r) => r.name);
}

/**
 * Rows of the facility's table missing from the hub, compared by value and storage class: among
 * the facility's own rows when the hub table is facility-owned.
 */
function missingAtHub(n: Network, site: number, table: string): number {
  const db = new Database(n.hubDb);
  try {
    db.prepare('ATTACH DATABASE ? AS fac').run(n.sites[site]!.db);
    const hubCols = columnsOf(db, 'main', table);
    const cols = columnsOf(db, 'fac', table).filter((c) => hubCols.includes(c));
    const sel = cols.map((c) => `typeof("${c}"), quote("${c}")`).join(', ');
    const own = hubCols.includes('ferry_origin') ? 'WHERE ferry_origin = ?' : '';
    return Number((db.prepare(`SELECT count(*) AS n FROM (SELECT ${sel} FROM fac."${table}" EXCEPT SELECT ${sel} FROM main."${table}" ${own})`).get(...(own ? [n.sites[site]!.id] : [])) as { n: number }).n);
  } finally {
    db.close();
  }
}

function assertHubHolds(t: ExecutionContext, n: Network, sites: number[] = n.sites.map((_, i) => i)) {
  for (const s of sites) for (const tb of SYNTHEA_TABLES) t.is(missingAtHub(n, s, tb.name), 0, `${n.sites[s]!.id}.${tb.name} rows all at the hub, types included`);
}

/**
 * Track the Synthea tables at every site; those named in `shared` as shared tables (a Synthea id
 * is a uuid: the same patient or organisation wherever it is held), the others facility-owned.
 */
async function trackSynthea(n: Network, shared: string[]): Promise<void> {
  for (const s of n.sites) {
    for (const tb of SYNTHEA_TABLES) await track(s.ctx, { tables: [tb.name], ...(tb.trackKey ? { key: tb.trackKey } : {}), ...(shared.includes(tb.name) ? { shared: true } : {}) });
  }
}

const count = (db: string, table: string) => sql<{ n: number }>(db, `SELECT count(*) AS n FROM "${table}"`)[0]!.n;
const dump = (db: string) => SYNTHEA_TABLES.map((tb) => JSON.stringify(sql(db, `SELECT * FROM "${tb.name}" ORDER BY 1, 2, 3`))).join('\n');
const disjoint = [(i: number) => i < 14, (i: number) => i >= 14];

test('two facilities, one hub, one drive: the hub ends with exactly the facilities\' rows; acks bring pending to 0', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: disjoint });
  await trackSynthea(n, ['organizations']);
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const r = await hubImport(n);
  t.deepEqual(r.bundles.map((b) => b.outcome), ['applied', 'applied']);
  t.is(r.acks_written.length, 2);
  t.deepEqual(r.gaps, []);
  assertHubHolds(t, n);
  t.is(count(n.hubDb, 'patients'), 27);
  t.is(count(n.hubDb, 'organizations'), 63, 'reference data held at both sites, in a shared table, arrives once');
  t.is(r.bundles.reduce((sum, b) => sum + b.counts!.already_present, 0), 63, 'and agrees');
  for (const i of [0, 1]) {
    const f = await facImport(n, i);
    t.is(f.pending, 0);
    t.true(f.acks.some((a) => a.outcome === 'accepted'));
    const s = runCli(['--home', n.sites[i]!.ctx.home, 'status', '--json']);
    t.is(s.json.pending, 0);
  }
  t.deepEqual(readdirSync(join(n.drive, 'FERRY', 'bundles')), [], 'delivered bundles were removed from the drive by their senders');
});

test('the same drive imported twice: the second import recognises every bundle by id and changes nothing', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: disjoint, trackAll: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  await hubImport(n);
  const before = dump(n.hubDb);
  const again = await hubImport(n);
  t.deepEqual(again.bundles.map((b) => b.outcome), ['already-applied', 'already-applied']);
  t.is(dump(n.hubDb), before);
  t.is(again.acks_written.length, 2, 'acks are written again, in case the first ones were lost');
});

test('bundles out of order, and a gap reported until the missing bundle arrives', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const r = await exportChanges(site.ctx, { to: n.drive, maxBundleBytes: 64 * 1024 });
  t.true(r.written.length >= 2);
  const reversed = [...r.written].reverse();
  const drives = reversed.map((b, i) => {
    const d = join(n.root, `d${i}`);
    mkdirSync(join(d, 'FERRY', 'bundles'), { recursive: true });
    copyFileSync(b.file, join(d, 'FERRY', 'bundles', basename(b.file)));
    return d;
  });
  const last = await hubImport(n, drives[0]);
  const first = r.written[0]!;
  t.true(last.gaps.some((g) => g.origin === 'RW-001' && g.first === 1), 'gap from change 1 reported');
  const st = runCli(['--home', n.hub.home, 'status']);
  t.regex(st.stdout, new RegExp(`gap: changes 1–\\d+ from RW-001 have not arrived`));
  for (const d of drives.slice(1)) await hubImport(n, d);
  const done = await hubImport(n, drives[drives.length - 1]);
  t.deepEqual(done.gaps, []);
  t.is(first.seq.first, 1);
  assertHubHolds(t, n);
});

test('a lost ack: the facility re-exports, the hub re-acks, nothing is applied twice', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  await exportChanges(site.ctx, { to: n.drive });
  const first = await hubImport(n);
  t.is(first.bundles[0]!.counts!.applied, 2122);
  rmSync(join(n.drive, 'FERRY', 'acks'), { recursive: true }); // the ack never made it home
  t.is((await facImport(n, 0)).pending, 2122);
  const drive2 = join(n.root, 'drive2');
  mkdirSync(drive2);
  const re = await exportChanges(site.ctx, { to: drive2 });
  t.is(re.written[0]!.changes, 2122);
  const before = dump(n.hubDb);
  const second = await hubImport(n, drive2);
  t.is(second.bundles[0]!.outcome, 'applied');
  t.deepEqual(second.bundles[0]!.counts, { applied: 0, already_present: 2122, conflicts: 0, rejected: 0 });
  t.is(dump(n.hubDb), before);
  t.is((await facImport(n, 0, drive2)).pending, 0);
});

test('a corrupted bundle among good ones is refused and quarantined; the others apply; the drive is untouched; exit 1', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: [(i) => i < 5, (i) => i >= 5], trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const a = await exportChanges(n.sites[1]!.ctx, { to: n.drive, maxBundleBytes: 64 * 1024 });
  t.true(a.written.length >= 2);
  // RW-002's last bundle damaged on the drive, as a faulty stick would do it
  const bad = a.written[a.written.length - 1]!.file;
  const bytes = readFileSync(bad);
  bytes[2000] ^= 0xff;
  writeFileSync(bad, bytes);
  const r = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 1, r.stderr);
  const refused = r.json.bundles.filter((b: { outcome: string }) => b.outcome === 'refused');
  t.is(refused.length, 1);
  t.is(basename(refused[0].file), basename(bad));
  t.is(refused[0].reason.code, 'payload-hash-mismatch');
  t.truthy(refused[0].reason.hint);
  t.true(existsSync(refused[0].quarantined));
  t.true(readFileSync(bad).equals(bytes), 'the refused bundle is still on the drive, unchanged');
  t.is(r.json.bundles.filter((b: { outcome: string }) => b.outcome === 'applied').length, a.written.length);
  assertHubHolds(t, n, [0]);
  const s = await status(n.hub);
  t.is(s.role === 'hub' && s.quarantined.length, 1);
  t.is(s.role === 'hub' && s.quarantined[0]!.reason.code, 'payload-hash-mismatch');
});

test('a revoked facility: its bundle is refused with a reason that says so; the other applies', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: disjoint, trackAll: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  await revoke(n.hub, { id: 'RW-002', reason: 'laptop stolen' });
  const r = await hubImport(n);
  const refused = r.bundles.find((b) => b.sender === 'RW-002')!;
  t.is(refused.outcome, 'refused');
  t.is(refused.reason!.code, 'signer-revoked');
  t.regex(refused.reason!.message, /revoked.*laptop stolen/);
  t.truthy(refused.quarantined);
  t.is(r.bundles.find((b) => b.sender === 'RW-001')!.outcome, 'applied');
  t.is(missingAtHub(n, 0, 'patients'), 0);
  t.true(missingAtHub(n, 1, 'patients') > 0, 'nothing from the revoked facility');
});

test('a bundle for another hub is left alone; one from an unknown facility is refused and quarantined', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  // A facility of another hub, and a facility this hub never enrolled, put bundles on the same drive.
  const other = await makeNetwork(t, { trackAll: true, hubId: 'HUB-9', facilities: ['RW-901'] });
  await exportChanges(other.sites[0]!.ctx, { to: n.drive });
  const strangerHome = join(other.root, 'stranger');
  await initNode(makeContext(strangerHome), { role: 'facility', id: 'RW-777', db: other.sites[0]!.db });
  await trustPeer(makeContext(strangerHome), { card: n.hubCard });
  await exportChanges(makeContext(strangerHome), { to: n.drive });
  const r = await hubImport(n);
  const bySender = (id: string) => r.bundles.find((b) => b.sender === id)!;
  t.is(bySender('RW-001').outcome, 'applied');
  t.is(bySender('RW-777').outcome, 'refused');
  t.is(bySender('RW-777').reason!.code, 'signer-unknown');
  t.truthy(bySender('RW-777').quarantined);
  const forOther = r.bundles.find((b) => b.recipient === 'HUB-9')!;
  t.is(forOther.outcome, 'skipped');
  t.is(forOther.reason!.code, 'wrong-recipient');
  t.falsy(forOther.quarantined);
  t.true(existsSync(forOther.file));
  // The other hub takes its own bundle from the same drive.
  const theirs = (await importDrive(other.hub, { from: n.drive })) as HubImportResult;
  t.is(theirs.bundles.find((b) => b.recipient === 'HUB-9')!.outcome, 'applied');
});

test('a shared row edited at two facilities since they agreed: one conflict, a deterministic winner, both versions kept, an override that sticks', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: [(i) => i <= 13, (i) => i >= 13] });
  await trackSynthea(n, ['patients', 'organizations']);
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const r1 = await hubImport(n);
  t.deepEqual(r1.bundles.map((b) => b.counts!.conflicts), [0, 0], 'identical rows at two sites are not conflicts');
  for (const i of [0, 1]) await facImport(n, i);
  const id = sql<{ Id: string }>(n.sites[0]!.db, 'SELECT Id FROM patients ORDER BY rowid LIMIT 1 OFFSET 13')[0]!.Id;
  // RW-002 edits first, RW-001 later: the later clock is the side whose id loses the tie-break
  // (RW-001 < RW-002), so only the clock rule can make it win.
  sql(n.sites[1]!.db, "UPDATE patients SET ADDRESS = 'Musanze' WHERE Id = ?", id);
  await new Promise((r) => setTimeout(r, 5));
  sql(n.sites[0]!.db, "UPDATE patients SET ADDRESS = 'Kicukiro' WHERE Id = ?", id);
  // Delivered in the "wrong" order: the later edit first.
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const r1a = await hubImport(n);
  t.deepEqual(r1a.bundles.find((b) => b.sender === 'RW-001' && b.outcome === 'applied')!.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 }, 'based on the row the hub holds: clean');
  await exportChanges(n.sites[1]!.ctx, { to: n.drive });
  const r2 = await hubImport(n);
  t.is(r2.bundles.find((b) => b.sender === 'RW-002' && b.outcome === 'applied')!.counts!.conflicts, 1);
  t.is(sql<{ ADDRESS: string }>(n.hubDb, 'SELECT ADDRESS FROM patients WHERE Id = ?', id)[0]!.ADDRESS, 'Kicukiro', 'the later clock wins, whatever the arrival order and the ids');
  const [c] = await listConflicts(n.hub);
  t.is(c!.current.origin, 'RW-001');
  t.is(c!.other.origin, 'RW-002');
  t.deepEqual(c!.differing, ['ADDRESS']);
  const cli = runCli(['--home', n.hub.home, 'conflicts', '--json']);
  t.is(cli.json.conflicts.length, 1);
  await resolveConflict(n.hub, { id: c!.id, keep: 'other' });
  t.is(sql<{ ADDRESS: string }>(n.hubDb, 'SELECT ADDRESS FROM patients WHERE Id = ?', id)[0]!.ADDRESS, 'Musanze');
  t.deepEqual(await listConflicts(n.hub), []);
  // Re-delivering the version the operator overrode does not undo the operator's choice.
  const d3 = join(n.root, 'd3');
  mkdirSync(d3);
  rmSync(join(n.drive, 'FERRY', 'acks'), { recursive: true });
  await exportChanges(n.sites[0]!.ctx, { to: d3 });
  t.true(readdirSync(join(d3, 'FERRY', 'bundles')).some((f) => f.startsWith('RW-001.')), 'the overridden edit is on the drive again');
  await hubImport(n, d3);
  t.is(sql<{ ADDRESS: string }>(n.hubDb, 'SELECT ADDRESS FROM patients WHERE Id = ?', id)[0]!.ADDRESS, 'Musanze');
  const log = runCli(['--home', n.hub.home, 'log', '--json']);
  t.true(log.json.entries.some((e: { action: string }) => e.action === 'conflict-resolve'));
});

test('the same patient in a facility-owned table at two facilities: each facility\'s edits stay in its own row, and never conflict', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: [(i) => i <= 13, (i) => i >= 13], trackAll: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  await hubImport(n);
  for (const i of [0, 1]) await facImport(n, i);
  const id = sql<{ Id: string }>(n.sites[0]!.db, 'SELECT Id FROM patients ORDER BY rowid LIMIT 1 OFFSET 13')[0]!.Id;
  t.deepEqual(sql(n.hubDb, 'SELECT ferry_origin FROM patients WHERE Id = ? ORDER BY 1', id), [{ ferry_origin: 'RW-001' }, { ferry_origin: 'RW-002' }], 'held at both: two rows');
  sql(n.sites[1]!.db, "UPDATE patients SET ADDRESS = 'Musanze' WHERE Id = ?", id);
  sql(n.sites[0]!.db, "UPDATE patients SET ADDRESS = 'Kicukiro' WHERE Id = ?", id);
  sql(n.sites[0]!.db, 'DELETE FROM encounters WHERE PATIENT = ?', id);
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const r = await hubImport(n);
  t.deepEqual(r.bundles.filter((b) => b.outcome === 'applied').map((b) => b.counts!.conflicts), [0, 0]);
  t.deepEqual(sql(n.hubDb, 'SELECT ferry_origin, ADDRESS FROM patients WHERE Id = ? ORDER BY 1', id), [{ ferry_origin: 'RW-001', ADDRESS: 'Kicukiro' }, { ferry_origin: 'RW-002', ADDRESS: 'Musanze' }]);
  t.is(count(n.hubDb, 'encounters'), count(n.sites[0]!.db, 'encounters') + count(n.sites[1]!.db, 'encounters'), "RW-001's deletes removed only its own encounters");
  t.deepEqual(await listConflicts(n.hub), []);
  assertHubHolds(t, n);
});

test('deletes leave tombstones: an older update of a shared row arriving later does not bring the row back', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: [(i) => i <= 13, (i) => i >= 13] });
  await trackSynthea(n, ['patients']);
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  await hubImport(n);
  for (const i of [0, 1]) await facImport(n, i);
  const id = sql<{ Id: string }>(n.sites[0]!.db, 'SELECT Id FROM patients ORDER BY rowid LIMIT 1 OFFSET 13')[0]!.Id;
  sql(n.sites[0]!.db, "UPDATE patients SET ADDRESS = 'stale edit' WHERE Id = ?", id);
  await new Promise((r) => setTimeout(r, 5));
  sql(n.sites[1]!.db, 'DELETE FROM patients WHERE Id = ?', id);
  await exportChanges(n.sites[1]!.ctx, { to: n.drive });
  await hubImport(n);
  t.is(sql(n.hubDb, 'SELECT * FROM patients WHERE Id = ?', id).length, 0, 'deleted at the hub');
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await hubImport(n);
  t.is(sql(n.hubDb, 'SELECT * FROM patients WHERE Id = ?', id).length, 0, 'the older update did not revive it');
  t.is((await listConflicts(n.hub)).length, 1, 'and the disagreement is on record');
  // A delete from the same facility, in order, simply removes the row.
  const enc = sql<{ Id: string }>(n.sites[0]!.db, 'SELECT Id FROM encounters LIMIT 1')[0]!.Id;
  sql(n.sites[0]!.db, 'DELETE FROM encounters WHERE Id = ?', enc);
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await hubImport(n);
  t.is(sql(n.hubDb, 'SELECT * FROM encounters WHERE Id = ?', enc).length, 0);
});

test('a new column at the source reaches the hub table with its values and types', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await hubImport(n);
  await facImport(n, 0);
  sql(n.sites[0]!.db, 'ALTER TABLE patients ADD COLUMN WEIGHT REAL');
  sql(n.sites[0]!.db, 'UPDATE patients SET WEIGHT = 61.5 WHERE rowid % 2 = 0');
  sql(n.sites[0]!.db, "INSERT INTO patients (Id, FIRST, WEIGHT) VALUES ('new-patient', 'Aline', 3.2)");
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const r = await hubImport(n);
  t.is(r.bundles.filter((b) => b.outcome === 'applied').length, 1);
  t.true(sql<{ name: string }>(n.hubDb, 'SELECT name FROM pragma_table_info(?)', 'patients').some((c) => c.name === 'WEIGHT'));
  t.is(missingAtHub(n, 0, 'patients'), 0);
  t.deepEqual(sql(n.hubDb, "SELECT typeof(WEIGHT) AS ty, WEIGHT AS w FROM patients WHERE Id = 'new-patient'"), [{ ty: 'real', w: 3.2 }]);
});

test('a facility refuses a bad ack and changes nothing', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await hubImport(n);
  const ackDir = join(n.drive, 'FERRY', 'acks');
  const ack = join(ackDir, readdirSync(ackDir)[0]!);
  // A forged ack: its body claims more than the hub signed, with a correct zip CRC.
  const entries = await readZipEntries(ack);
  writeFileSync(ack, buildZip(entries.map((e) => (e.name === 'ack.json' ? { ...e, data: Buffer.from(e.data.toString().replace('"applied_ranges":[[1,', '"applied_ranges":[[9,')) } : e))));
  const r = runCli(['--home', n.sites[0]!.ctx.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 1);
  t.is(r.json.acks[0].outcome, 'refused');
  t.is(r.json.acks[0].reason.code, 'signature-invalid');
  t.is(r.json.pending, 2122);
});

test('a hub import killed between apply and ack, then run again, ends in the same state with the ack written', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const acks = join(n.drive, 'FERRY', 'acks');
  // The hub draws randomness first for the ack's id, right after the apply committed: the child
  // kills itself there. (Temporary names on a drive are unpredictable, so nothing can be planted.)
  const script = `
    const { importDrive } = await import(${JSON.stringify(join(ROOT, 'dist', 'roles', 'import.js'))});
    const { makeContext } = await import(${JSON.stringify(join(ROOT, 'dist', 'node', 'context.js'))});
    const random = () => process.kill(process.pid, 'SIGKILL');
    // Not reached when the kill works; otherwise the result says why (printed by the assertion).
    console.error(JSON.stringify(await importDrive(makeContext(${JSON.stringify(n.hub.home)}, { random }), { from: ${JSON.stringify(n.drive)} })));
  `;
  // A file, not -e: the payload worker thread inherits the process's flags.
  const file = join(n.root, 'import-then-die.mjs');
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const signal = await new Promise((r) => child.on('exit', (_code, sig) => r(sig)));
  t.is(signal, 'SIGKILL', stderr);
  t.false(existsSync(acks) && readdirSync(acks).some((f) => f.endsWith('.ferry-ack')), 'killed before the ack was written');
  t.is(count(n.hubDb, 'patients'), 27, 'the apply had committed');
  const again = await hubImport(n);
  t.is(again.bundles[0]!.outcome, 'already-applied');
  t.is(again.acks_written.length, 1);
  assertHubHolds(t, n);
  t.is((await facImport(n, 0)).pending, 0);
});

test('import --json: one document with per-bundle id, sender, outcome, counts, reason; acks; gaps', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: disjoint, trackAll: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  await revoke(n.hub, { id: 'RW-002' });
  const r = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 1);
  t.is(r.json.ok, true);
  t.is(r.json.command, 'import');
  for (const b of r.json.bundles) {
    t.regex(b.bundle_id, /^[0-9a-f]{32}$/);
    t.truthy(b.sender);
    t.true(['applied', 'refused'].includes(b.outcome));
  }
  const applied = r.json.bundles.find((b: { sender: string }) => b.sender === 'RW-001');
  t.deepEqual(applied.counts, { applied: applied.counts.applied, already_present: 0, conflicts: 0, rejected: 0 });
  t.true(applied.counts.applied > 0);
  t.is(r.json.bundles.find((b: { sender: string }) => b.sender === 'RW-002').reason.code, 'signer-revoked');
  t.is(r.json.acks_written.length, 1);
  t.deepEqual(r.json.gaps, []);
});
