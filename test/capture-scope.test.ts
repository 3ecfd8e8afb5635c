/**
 * Table scope at the facility (issue 14): `track --shared`, the refusals that keep a table's
 * scope from changing silently, the old image a shared table's log keeps, and the base digest
 * its updates and deletes carry in the bundle.
 */
import test from 'ava';
import AjvModule, { type Options } from 'ajv';
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastSeq, openEmrDb, pruneRange } from '../src/capture/change-log.js';
import { pendingChanges } from '../src/capture/pending-changes.js';
import { Emr } from '../src/capture/emr.js';
import { FerryError } from '../src/core/errors.js';
import { checkPayloadHash, openBundle, readPayloadRecords, verifyBundle } from '../src/format/bundle-reader.js';
import type { ChangeRecord, PayloadRecord, TableRecord } from '../src/format/records.js';
import { rowDigest } from '../src/format/row-digest.js';
import { encodeValue, type EncodedValue } from '../src/format/values.js';
import { exportChanges } from '../src/facility/export.js';
import { track, untrack } from '../src/facility/track.js';
import { makeContext } from '../src/node/context.js';
import { initNode } from '../src/node/init.js';
import { withSession } from '../src/node/node-session.js';
import { makeNetwork, ROOT, runCli, sql, tempDir } from './helpers/env.js';

async function facility(t: Parameters<typeof tempDir>[0], schema: string) {
  const dir = tempDir(t);
  const db = join(dir, 'emr.db');
  const emr = new Database(db);
  emr.exec(schema);
  const ctx = makeContext(join(dir, 'home'));
  await initNode(ctx, { role: 'facility', id: 'RW-001', db });
  t.teardown(() => emr.close());
  return { ctx, db, emr };
}

/** The change log's pending changes, as the export reads them. */
function pending(db: string): Array<{ table: TableRecord; change: ChangeRecord }> {
  const d = openEmrDb(db);
  try {
    return [...pendingChanges(d, 'RW-001', Number.MAX_SAFE_INTEGER)];
  } finally {
    d.close();
  }
}

/** A row as the EMR holds it now, every column in table order, encoded as a bundle encodes it. */
function encodedRow(emr: Database.Database, query: string, ...params: unknown[]): EncodedValue[] {
  const row = emr.prepare(query).safeIntegers(true).raw(true).get(...params) as unknown[];
  return row.map(encodeValue);
}

function exec(db: string, statements: string): void {
  const d = new Database(db);
  try {
    d.exec(statements);
  } finally {
    d.close();
  }
}

const storedScopes = (db: string) => sql<{ name: string; scope: string }>(db, 'SELECT name, scope FROM ferry_tables ORDER BY id');
const logColumnNames = (db: string, table: string) => {
  const [{ id }] = sql<{ id: number }>(db, 'SELECT id FROM ferry_tables WHERE name = ?', table);
  return sql<{ name: string }>(db, 'SELECT name FROM pragma_table_info(?)', `ferry_log_${id}`).map((r) => r.name);
};

const LOCATION = 'CREATE TABLE location (location_id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT, name TEXT, retired INTEGER)';

test('track --shared refuses a key that holds NULLs or repeats, then tracks the table shared once the key is fit', async (t) => {
  const f = await facility(t, `${LOCATION}; INSERT INTO location (uuid, name) VALUES ('u-1', 'Kigali'), ('u-1', 'Huye'), (NULL, 'Musanze')`);
  // location_id is unique and never NULL, so the uuid is what refuses it.
  const nulls = (await t.throwsAsync(track(f.ctx, { tables: ['location'], key: ['uuid'], shared: true }))) as FerryError;
  t.is(nulls.code, 'key-not-unique');
  t.regex(nulls.message, /^some rows of location have an empty \(NULL\) value in the key uuid$/);
  f.emr.exec("UPDATE location SET uuid = 'u-3' WHERE name = 'Musanze'");
  const dup = (await t.throwsAsync(track(f.ctx, { tables: ['location'], key: ['uuid'], shared: true }))) as FerryError;
  t.is(dup.code, 'key-not-unique');
  t.regex(dup.message, /^the key uuid does not identify the rows of location/);
  t.deepEqual(storedScopes(f.db), [], 'nothing tracked');

  f.emr.exec("UPDATE location SET uuid = 'u-2' WHERE name = 'Huye'");
  const r = await track(f.ctx, { tables: ['location'], key: ['uuid'], shared: true });
  t.like(r.tables[0], { table: 'location', key: ['uuid'], scope: 'shared', outcome: 'tracked', snapshot: 3, warnings: [] });
  t.deepEqual(storedScopes(f.db), [{ name: 'location', scope: 'shared' }]);
  t.deepEqual(logColumnNames(f.db, 'location'), [
    'ferry_seq', 'ferry_op', 'ferry_wall', 'ferry_counter', 'location_id', 'uuid', 'name', 'retired',
    'ferry_old_location_id', 'ferry_old_uuid', 'ferry_old_name', 'ferry_old_retired',
  ], 'the log keeps the old image of every tracked column');
});

test('track --shared warns when the key is the table\'s integer primary key (naming it, saying why, suggesting uuid), and not for a uuid key or a facility-owned table', async (t) => {
  const f = await facility(t, `${LOCATION}; CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, uuid TEXT, name TEXT); CREATE TABLE concept (concept_id INT NOT NULL PRIMARY KEY, uuid TEXT)`);
  const r = await track(f.ctx, { tables: ['location'], shared: true });
  t.is(r.tables[0]!.scope, 'shared', 'a warning, not a refusal');
  t.is(r.tables[0]!.warnings.length, 1);
  const [w] = r.tables[0]!.warnings;
  t.regex(w!, /^the key location_id of location looks like a local auto-increment number/);
  t.regex(w!, /the same location_id means different rows at different facilities/);
  t.regex(w!, /--key uuid/);
  const again = await track(f.ctx, { tables: ['location'], shared: true });
  t.deepEqual(again.tables[0]!.warnings, [w], 'said again each time the table is tracked shared');
  const concept = await track(f.ctx, { tables: ['concept'], shared: true });
  t.regex(concept.tables[0]!.warnings.join('\n'), /key concept_id of concept looks like a local auto-increment number/, 'INT too: integer affinity');

  const byUuid = await track(f.ctx, { tables: ['patient'], key: ['uuid'], shared: true });
  t.deepEqual(byUuid.tables[0]!.warnings, [], 'a uuid key means the same row everywhere');
  const g = await facility(t, 'CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, uuid TEXT)');
  const own = await track(g.ctx, { tables: ['patient'] });
  t.like(own.tables[0], { scope: 'facility', warnings: [] }, 'local ids are what facility-owned tables are for');

  const cli = runCli(['--home', g.ctx.home, 'track', '--table', 'patient']);
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, /^patient \(key patient_id, facility-owned\): already tracked, nothing to do$/m);
});

test('the CLI says the scope it tracked, in text and --json, and prints the warning', async (t) => {
  const f = await facility(t, `${LOCATION}; INSERT INTO location (uuid, name) VALUES ('u-1', 'Kigali')`);
  const text = runCli(['--home', f.ctx.home, 'track', '--table', 'location', '--shared']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^location \(key location_id, shared\): now tracked; 1 existing rows queued$/m);
  t.regex(text.stdout, /^ {2}warning: the key location_id of location looks like a local auto-increment number/m);
  const json = runCli(['--home', f.ctx.home, 'track', '--table', 'location', '--shared', '--json']);
  t.is(json.code, 0, json.stderr);
  t.like(json.json.tables[0], { table: 'location', scope: 'shared', outcome: 'already-tracked' });
  // test/json-contract.test.ts checks a facility-owned track; this is the shared one.
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: Options) => InstanceType<typeof AjvModule.default>;
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  for (const file of ['common', 'track']) ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schemas', 'cli', `${file}.schema.json`), 'utf8')));
  const validate = ajv.getSchema('https://ferry.example/schemas/cli/track.schema.json')!;
  t.true(validate(json.json), ajv.errorsText(validate.errors));
});

test('a tracked table\'s scope never changes silently: track of an active table with the other scope is refused, with the deliberate way in the hint', async (t) => {
  const f = await facility(t, `${LOCATION}; CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, name TEXT); INSERT INTO location (uuid, name) VALUES ('u-1', 'Kigali'); INSERT INTO patient VALUES (1, 'Alice')`);
  await track(f.ctx, { tables: ['patient'] });
  await track(f.ctx, { tables: ['location'], key: ['uuid'], shared: true });
  const toShared = (await t.throwsAsync(track(f.ctx, { tables: ['patient'], shared: true }))) as FerryError;
  t.is(toShared.code, 'usage');
  t.is(toShared.kind, 'usage');
  t.regex(toShared.message, /^patient is tracked facility-owned; track --shared asks for shared, and a tracked table's scope never changes silently$/);
  t.regex(toShared.hint!, /^to keep it facility-owned, run track without --shared; to make it shared on purpose: /);
  t.regex(toShared.hint!, /`ferry untrack --table patient`, export and read the hub's acks until `ferry status` shows nothing pending for patient, then `ferry track --table patient --shared`, and at the hub `ferry rescope --table patient --scope shared`/);
  const toFacility = (await t.throwsAsync(track(f.ctx, { tables: ['LOCATION'] }))) as FerryError;
  t.regex(toFacility.message, /^location is tracked shared by key uuid; track without --shared asks for facility-owned/);
  t.regex(toFacility.hint!, /`ferry track --table location`, and at the hub `ferry rescope --table location --scope facility`/);

  // A column added since: the refresh that track runs first must not slip the request through.
  f.emr.exec('ALTER TABLE patient ADD COLUMN phone TEXT');
  t.is(((await t.throwsAsync(track(f.ctx, { tables: ['patient'], shared: true }))) as FerryError).code, 'usage');
  t.deepEqual(storedScopes(f.db), [{ name: 'patient', scope: 'facility' }, { name: 'location', scope: 'shared' }], 'nothing changed');
  t.is(pending(f.db).length, 2, 'nothing queued by the refused command');
  const cli = runCli(['--home', f.ctx.home, 'track', '--table', 'patient', '--shared']);
  t.is(cli.code, 2);
  t.regex(cli.stderr, /hint: .*ferry rescope/);

  // Untracked with changes still pending: they were captured facility-owned and travel so.
  await untrack(f.ctx, { tables: ['patient'] });
  const stillPending = (await t.throwsAsync(track(f.ctx, { tables: ['patient'], shared: true }))) as FerryError;
  t.regex(stillPending.message, /^patient was tracked facility-owned and 1 change\(s\) it captured so still wait for the hub's ack; it cannot be tracked shared until they are acknowledged$/);
  t.regex(stillPending.hint!, /ferry rescope --table patient --scope shared/);
  // Untracked already: the way on is delivering them, and a hub that refuses them because it holds the new scope must take them first.
  t.notRegex(stillPending.hint!, /untrack/);
  t.regex(stillPending.hint!, /already holds patient as shared .*`ferry rescope --table patient --scope facility`, deliver them, then `ferry rescope --table patient --scope shared`/);
  const d = openEmrDb(f.db);
  pruneRange(d, 1, lastSeq(d)); // what reading the hub's ack does
  d.close();
  const r = await track(f.ctx, { tables: ['patient'], shared: true });
  t.like(r.tables[0], { outcome: 're-tracked', scope: 'shared' });
  t.true(logColumnNames(f.db, 'patient').includes('ferry_old_phone'), 'the log gains the old image when the table becomes shared');
});

test('a shared table\'s update and delete carry the base digest of the row as it was; inserts and facility tables carry none', async (t) => {
  const f = await facility(t, `${LOCATION}; ALTER TABLE location ADD COLUMN photo BLOB; ALTER TABLE location ADD COLUMN lat REAL; ALTER TABLE location ADD COLUMN census INTEGER; CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, name TEXT)`);
  await track(f.ctx, { tables: ['location'], key: ['uuid'], shared: true });
  await track(f.ctx, { tables: ['patient'] });
  f.emr.prepare('INSERT INTO location (uuid, name, retired, photo, lat, census) VALUES (?, ?, ?, ?, ?, ?)').run('u-1', 'Kigali', null, Buffer.from([0, 1, 2]), -1.95, 9007199254740993n);
  f.emr.prepare("INSERT INTO patient VALUES (1, 'Alice')").run();
  const asInserted = encodedRow(f.emr, "SELECT * FROM location WHERE uuid = 'u-1'");
  f.emr.prepare("UPDATE location SET name = 'Kigali City', lat = 0.0 WHERE uuid = 'u-1'").run();
  const asUpdated = encodedRow(f.emr, "SELECT * FROM location WHERE uuid = 'u-1'");
  f.emr.prepare("UPDATE patient SET name = 'Alicia' WHERE patient_id = 1").run();
  f.emr.prepare("DELETE FROM location WHERE uuid = 'u-1'").run();
  f.emr.prepare('DELETE FROM patient WHERE patient_id = 1').run();

  const c = pending(f.db);
  t.deepEqual(c.map(({ table, change }) => [table.table, table.scope, change.op]), [
    ['location', 'shared', 'insert'],
    ['patient', 'facility', 'insert'],
    ['location', 'shared', 'update'],
    ['patient', 'facility', 'update'],
    ['location', 'shared', 'delete'],
    ['patient', 'facility', 'delete'],
  ]);
  t.false('base' in c[0]!.change, 'an insert was based on no row');
  t.is(c[2]!.change.base, rowDigest(asInserted), 'the update was based on the row as inserted');
  t.is(c[4]!.change.base, rowDigest(asUpdated), 'the delete was based on the row as updated');
  t.notDeepEqual(asInserted, asUpdated);
  for (const i of [1, 3, 5]) t.false('base' in c[i]!.change, `facility-owned ${c[i]!.change.op}: no base`);
  t.deepEqual(c[4]!.change.key, ['u-1'], 'a delete still carries its key');
});

test('a shared table\'s key change is a delete based on the old row and an insert with no base', async (t) => {
  const f = await facility(t, `${LOCATION}; INSERT INTO location (uuid, name) VALUES ('u-old', 'Kigali')`);
  await track(f.ctx, { tables: ['location'], key: ['uuid'], shared: true });
  const before = encodedRow(f.emr, "SELECT * FROM location WHERE uuid = 'u-old'");
  f.emr.prepare("UPDATE location SET uuid = 'u-new', name = 'Kigali City' WHERE uuid = 'u-old'").run();
  const c = pending(f.db).slice(1).map((x) => x.change);
  t.deepEqual(c.map((x) => [x.op, x.key ?? x.row![1]]), [['delete', ['u-old']], ['insert', 'u-new']]);
  t.is(c[0]!.base, rowDigest(before));
  t.false('base' in c[1]!);
});

test('a re-snapshot after ALTER TABLE ADD COLUMN is based on the old columns\' values with the new column NULL; changes captured before it too', async (t) => {
  const f = await facility(t, "CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT); INSERT INTO location VALUES ('u-1', 'Kigali'), ('u-2', 'Huye')");
  await track(f.ctx, { tables: ['location'], shared: true });
  f.emr.prepare("UPDATE location SET name = 'Kigali City' WHERE uuid = 'u-1'").run();
  f.emr.exec("ALTER TABLE location ADD COLUMN code TEXT DEFAULT 'RW'");
  // Before the triggers know the column: captured without it.
  f.emr.prepare("UPDATE location SET code = 'HY' WHERE uuid = 'u-2'").run();
  const r = await track(f.ctx, { tables: ['location'], shared: true });
  t.like(r.tables[0], { outcome: 'columns-updated', scope: 'shared', new_columns: ['code'], snapshot: 2 });
  t.true(logColumnNames(f.db, 'location').includes('ferry_old_code'));
  f.emr.prepare("UPDATE location SET name = 'Huye District' WHERE uuid = 'u-2'").run();

  const c = pending(f.db).map((x) => x.change);
  t.deepEqual(c.map((x) => x.op), ['insert', 'insert', 'update', 'update', 'update', 'update', 'update']);
  t.is(c[2]!.base, rowDigest(['u-1', 'Kigali', null]), 'captured before the column existed: over the record\'s columns, the new one NULL');
  t.deepEqual(c[3]!.row, ['u-2', 'Huye', null]);
  t.is(c[3]!.base, rowDigest(['u-2', 'Huye', null]));
  t.deepEqual([c[4]!.row, c[5]!.row], [['u-1', 'Kigali City', 'RW'], ['u-2', 'Huye', 'HY']], 'the re-snapshot');
  t.is(c[4]!.base, rowDigest(['u-1', 'Kigali City', null]), 'the row as the hub will hold it by then: old columns as they are now, the new column NULL');
  t.is(c[5]!.base, rowDigest(['u-2', 'Huye', null]));
  t.is(c[6]!.base, rowDigest(['u-2', 'Huye', 'HY']), 'after the refresh the trigger keeps the new column\'s old value too');
});

test('an export of a shared and a facility table reads back through the real reader: scopes on the table records, bases where the format wants them', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  exec(site.db, `${LOCATION}; CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, name TEXT)`);
  exec(site.db, "INSERT INTO location (uuid, name) VALUES ('u-1', 'Kigali'); INSERT INTO patient VALUES (1, 'Alice')");
  await track(site.ctx, { tables: ['location'], key: ['uuid'], shared: true });
  await track(site.ctx, { tables: ['patient'] });
  const reader = new Database(site.db, { readonly: true });
  const before = encodedRow(reader, "SELECT * FROM location WHERE uuid = 'u-1'");
  reader.close();
  exec(site.db, "UPDATE location SET retired = 1 WHERE uuid = 'u-1'; UPDATE patient SET name = 'Alicia'; DELETE FROM patient");
  const r = await exportChanges(site.ctx, { to: n.drive });
  t.is(r.written.length, 1);

  const keys = await withSession(site.ctx, 'facility', 'test', (s) => s.nodeKeys());
  const hubKeys = await withSession(n.hub, 'hub', 'test', (s) => s.nodeKeys());
  const b = await openBundle(r.written[0]!.file);
  verifyBundle(b, { signingKey: keys.identity.signingKey, fingerprint: keys.identity.fingerprint }, { id: 'HUB-1' });
  await checkPayloadHash(b);
  const records: PayloadRecord[] = [];
  for await (const x of readPayloadRecords(b, { encryptionSecretKey: hubKeys.encryptionSecretKey, encryptionKey: hubKeys.identity.encryptionKey })) records.push(x);
  t.deepEqual(records.filter((x): x is TableRecord => x.kind === 'table').map((x) => [x.table, x.scope, x.key]), [['location', 'shared', ['uuid']], ['patient', 'facility', ['patient_id']]]);
  const changes = records.filter((x): x is ChangeRecord => x.kind === 'change');
  t.deepEqual(changes.map((x) => [x.table, x.op, x.base]), [
    ['location', 'insert', undefined],
    ['patient', 'insert', undefined],
    ['location', 'update', rowDigest(before)],
    ['patient', 'update', undefined],
    ['patient', 'delete', undefined],
  ]);
});

/** ferry_tables as a ferry from before scopes made it: the same table without the scope column. */
function asBeforeScopes(db: string): void {
  const d = new Database(db);
  d.exec(`BEGIN;
    CREATE TABLE ferry_tables_old (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_columns TEXT NOT NULL, columns TEXT NOT NULL, active INTEGER NOT NULL, tracked_at TEXT NOT NULL);
    INSERT INTO ferry_tables_old SELECT id, name, key_columns, columns, active, tracked_at FROM ferry_tables;
    DROP TABLE ferry_tables;
    ALTER TABLE ferry_tables_old RENAME TO ferry_tables;
    COMMIT;`);
  d.close();
}

test('an EMR tracked before scopes (ferry_tables without scope) is read as it is, then opens and exports facility-owned', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  exec(site.db, "CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, name TEXT); INSERT INTO patient VALUES (1, 'Alice')");
  await track(site.ctx, { tables: ['patient'] });
  asBeforeScopes(site.db);
  sql(site.db, "UPDATE patient SET name = 'Alicia' WHERE patient_id = 1");
  const hasScope = () => sql(site.db, "SELECT 1 FROM pragma_table_info('ferry_tables') WHERE name = 'scope'").length > 0;
  t.false(hasScope());

  const reading = Emr.openForReading(site.db);
  t.deepEqual(reading.pendingByTable(), [{ table: 'patient', pending: 2, active: true, scope: 'facility' }]);
  reading.close();
  t.false(hasScope(), 'reading never writes');
  const s = runCli(['--home', site.ctx.home, 'status', '--json']);
  t.is(s.code, 0, s.stderr);
  t.is(s.json.pending, 2);

  const r = await exportChanges(site.ctx, { to: n.drive });
  t.is(r.written[0]!.changes, 2);
  t.true(hasScope());
  t.deepEqual(storedScopes(site.db), [{ name: 'patient', scope: 'facility' }]);
  t.deepEqual(pending(site.db).map(({ table, change }) => [table.scope, change.op, 'base' in change]), [['facility', 'insert', false], ['facility', 'update', false]]);
  t.is(((await t.throwsAsync(track(site.ctx, { tables: ['patient'], shared: true }))) as FerryError).code, 'usage', 'and stays so');
  t.is(readdirSync(join(n.drive, 'FERRY', 'bundles')).length, 1);
});

test('a scope in ferry_tables that is neither facility nor shared (an edit past its CHECK) is refused, never read as one of them', async (t) => {
  const f = await facility(t, 'CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, name TEXT)');
  await track(f.ctx, { tables: ['patient'] });
  t.throws(() => f.emr.exec("UPDATE ferry_tables SET scope = 'global'"), { any: true, code: 'SQLITE_CONSTRAINT_CHECK' });
  f.emr.exec("PRAGMA ignore_check_constraints = 1; UPDATE ferry_tables SET scope = 'global'");
  const err = (await t.throwsAsync(track(f.ctx, { tables: ['patient'] }))) as FerryError;
  t.is(err.code, 'database-unreadable');
  t.is(err.kind, 'refused');
  t.regex(err.message, /table patient a scope that is neither facility nor shared/);
  t.notRegex(err.message, /global/);
});
