/**
 * Whose each row is, as the faces show it (issue 14): `ferry status` at a hub lists each table's
 * scope and its rows per facility, two facilities with the same ids kept apart; a facility's
 * status says each tracked table's scope; `ferry conflicts` says the conflict is in a shared
 * table and which version came from which facility.
 */
import test, { type ExecutionContext } from 'ava';
import { exportChanges } from '../src/facility/export.js';
import { track } from '../src/facility/track.js';
import { importDrive } from '../src/roles/import.js';
import { tableRowLines } from '../src/cli/table-rows.js';
import { makeNetwork, runCli, sql, type Network } from './helpers/env.js';

/**
 * Two health centres, each numbering its patients from 1 (facility-owned), both holding the same
 * three locations (shared by uuid); both sent to the hub and imported.
 */
async function twoCentres(t: ExecutionContext): Promise<Network> {
  const n = await makeNetwork(t, { facilities: ['RW-017', 'RW-021'], emptyDb: true });
  const names = [['Alice', 'Bob'], ['Claire', 'Dan']];
  for (const [i, s] of n.sites.entries()) {
    sql(s.db, 'CREATE TABLE patient (patient_id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, name TEXT)');
    sql(s.db, 'CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT)');
    for (const name of names[i]!) sql(s.db, 'INSERT INTO patient (uuid, name) VALUES (?, ?)', `${s.id}-${name}`, name);
    for (const [uuid, name] of [['loc-a', 'Kicukiro'], ['loc-b', 'Musanze'], ['loc-c', 'Huye']]) sql(s.db, 'INSERT INTO location VALUES (?, ?)', uuid, name);
    await track(s.ctx, { tables: ['patient'] });
    await track(s.ctx, { tables: ['location'], key: ['uuid'], shared: true });
    await exportChanges(s.ctx, { to: n.drive });
  }
  await importDrive(n.hub, { from: n.drive });
  return n;
}

test('hub status: each table with its scope, a facility-owned table\'s rows per facility (same ids kept apart), a shared one\'s merged', async (t) => {
  const n = await twoCentres(t);
  const json = runCli(['--home', n.hub.home, 'status', '--json']);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(json.json.tables, [
    { table: 'location', scope: 'shared', key: ['uuid'], rows: 3, rows_by_facility: null },
    { table: 'patient', scope: 'facility', key: ['patient_id'], rows: 4, rows_by_facility: [{ facility: 'RW-017', rows: 2 }, { facility: 'RW-021', rows: 2 }] },
  ]);
  const text = runCli(['--home', n.hub.home, 'status']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^tables \(2\):$/m);
  t.regex(text.stdout, /^ {2}patient \(facility-owned\): RW-017 2 rows · RW-021 2 rows$/m);
  t.regex(text.stdout, /^ {2}location \(shared by uuid\): 3 rows$/m);
});

test('facility status says each tracked table\'s scope', async (t) => {
  const n = await twoCentres(t);
  const site = n.sites[0]!;
  const json = runCli(['--home', site.ctx.home, 'status', '--json']).json;
  t.deepEqual(json.tracked.map((x: { table: string; scope: string }) => [x.table, x.scope]), [['patient', 'facility'], ['location', 'shared']]);
  const text = runCli(['--home', site.ctx.home, 'status']).stdout;
  t.regex(text, /^ {2}patient +facility-owned +key patient_id: 2 pending$/m);
  t.regex(text, /^ {2}location +shared +key uuid: 3 pending$/m);
});

test('a hub with many facilities: every facility of a table in the status text, no line wider than 80 columns', (t) => {
  const facilities = Array.from({ length: 30 }, (_, i) => ({ facility: `RW-${String(i + 1).padStart(3, '0')}`, rows: 1000 + i }));
  const lines = tableRowLines({ table: 'encounter', scope: 'facility', key: ['encounter_id'], rows: facilities.reduce((a, f) => a + f.rows, 0), rows_by_facility: facilities });
  t.true(lines.length > 1, 'wrapped under the table');
  t.regex(lines[0]!, /^ {2}encounter \(facility-owned\): 30,435 rows from 30 facilities$/);
  for (const l of lines) t.true(l.length <= 80, `${l.length} columns: ${l}`);
  const all = lines.join('\n');
  for (const f of facilities) t.true(all.includes(`${f.facility} ${f.rows.toLocaleString('en-US')} rows`), f.facility);
});

test('conflicts: a shared row both facilities edited is one conflict, said to be in a shared table, each version under its facility', async (t) => {
  const n = await twoCentres(t);
  for (const [i, s] of n.sites.entries()) {
    sql(s.db, "UPDATE location SET name = ? WHERE uuid = 'loc-b'", i === 0 ? 'Musanze HC' : 'Musanze Health Centre');
    await exportChanges(s.ctx, { to: n.drive });
  }
  await importDrive(n.hub, { from: n.drive });
  const json = runCli(['--home', n.hub.home, 'conflicts', '--json']).json;
  t.is(json.conflicts.length, 1, JSON.stringify(json));
  const c = json.conflicts[0];
  t.is(c.table, 'location');
  const byOrigin = Object.fromEntries([c.current, c.other].map((v: { origin: string; row: { name: string } }) => [v.origin, v.row.name]));
  t.deepEqual(byOrigin, { 'RW-017': 'Musanze HC', 'RW-021': 'Musanze Health Centre' });

  const text = runCli(['--home', n.hub.home, 'conflicts']).stdout;
  t.regex(text, /^1 open conflict\(s\) in shared tables: the same row edited at two facilities$/m);
  t.regex(text, new RegExp(`^#${c.id} shared table location, key \\["loc-b"\\]$`, 'm'));
  t.regex(text, new RegExp(`^ {3}current \\(in the table\\): ${c.current.origin}'s version, change \\d+, clock `, 'm'));
  t.regex(text, new RegExp(`^ {3}other \\(kept for review\\): ${c.other.origin}'s version, change \\d+, clock `, 'm'));
  t.regex(text, new RegExp(`^ {3}fields that differ, ${c.current.origin}'s {2}\\| {2}${c.other.origin}'s:$`, 'm'));
  t.regex(text, new RegExp(`^ {3}\\* name: ${byOrigin[c.current.origin]} {2}\\| {2}${byOrigin[c.other.origin]}$`, 'm'));
  // The patients with the same ids at both centres are no conflict: each centre's own rows.
  t.false(text.includes('patient'), text);
});
