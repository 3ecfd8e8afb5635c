import test from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openEmrDb, pendingCount } from '../src/capture/change-log.js';
import { pendingChanges } from '../src/capture/pending-changes.js';
import { FerryError } from '../src/core/errors.js';
import { changeKey, keyIndexes, rowObject, type ChangeRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import { makeContext } from '../src/node/context.js';
import { initNode } from '../src/node/init.js';
import { track, untrack } from '../src/facility/track.js';
import { refreshTracking } from '../src/capture/track.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { makeNetwork, runCli, sql, tempDir } from './helpers/env.js';

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

/** Pending changes, with rows as objects (column -> value) and the key filled in, for readable assertions. */
type Readable = Omit<ChangeRecord, 'row' | 'key'> & { key: EncodedValue[]; row: Record<string, EncodedValue> | null };
function changes(db: string): Readable[] {
  const d = openEmrDb(db);
  try {
    return [...pendingChanges(d, 'RW-001', Number.MAX_SAFE_INTEGER)].map(({ table, change }) => ({
      ...change,
      key: changeKey(change, keyIndexes(table)),
      row: rowObject(table, change.row),
    }));
  } finally {
    d.close();
  }
}

test('insert, update and delete are captured with the full new row and increasing seqs', async (t) => {
  const f = await facility(t, 'CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT, age INTEGER)');
  await track(f.ctx, { tables: ['p'] });
  f.emr.prepare("INSERT INTO p VALUES ('a', 'Amani', 30)").run();
  f.emr.prepare("UPDATE p SET age = 31 WHERE id = 'a'").run();
  f.emr.prepare("DELETE FROM p WHERE id = 'a'").run();
  const c = changes(f.db);
  t.deepEqual(c.map((x) => [x.seq, x.op]), [[1, 'insert'], [2, 'update'], [3, 'delete']]);
  t.deepEqual(c[0]!.row, { id: 'a', name: 'Amani', age: 30 });
  t.deepEqual(c[1]!.row, { id: 'a', name: 'Amani', age: 31 });
  t.is(c[2]!.row, null);
  t.deepEqual(c[2]!.key, ['a']);
  for (let i = 1; i < c.length; i++) t.true(c[i]!.clock[0] > c[i - 1]!.clock[0] || (c[i]!.clock[0] === c[i - 1]!.clock[0] && c[i]!.clock[1] > c[i - 1]!.clock[1]), 'clock strictly increases');
});

test('a change rolled back by the EMR leaves nothing in the log', async (t) => {
  const f = await facility(t, 'CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT)');
  await track(f.ctx, { tables: ['p'] });
  t.throws(() => f.emr.transaction(() => {
    f.emr.prepare("INSERT INTO p VALUES ('a', 'x')").run();
    throw new Error('EMR crashed');
  })());
  f.emr.prepare("INSERT INTO p VALUES ('b', 'y')").run();
  t.deepEqual(changes(f.db).map((c) => [c.seq, c.key[0]]), [[1, 'b']], 'no gap in seqs, no ghost change');
});

test('an update that changes the key is a delete of the old key and an insert of the new', async (t) => {
  const f = await facility(t, 'CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT)');
  f.emr.prepare("INSERT INTO p VALUES ('old', 'x')").run();
  await track(f.ctx, { tables: ['p'] });
  f.emr.prepare("UPDATE p SET id = 'new' WHERE id = 'old'").run();
  const c = changes(f.db).slice(1);
  t.deepEqual(c.map((x) => [x.op, x.key[0]]), [['delete', 'old'], ['insert', 'new']]);
});

test('composite keys via --key; a table without a key is refused naming --key', async (t) => {
  const f = await facility(t, 'CREATE TABLE obs (DATE TEXT, PATIENT TEXT, CODE TEXT, VALUE TEXT); INSERT INTO obs VALUES (\'2024-01-01\', \'p1\', \'8302-2\', \'127.9\')');
  const err = await t.throwsAsync(track(f.ctx, { tables: ['obs'] }));
  t.is((err as FerryError).code, 'table-no-key');
  t.regex(err!.message + (err as FerryError).hint, /--key/);
  const r = await track(f.ctx, { tables: ['obs'], key: ['DATE', 'PATIENT', 'CODE'] });
  t.is(r.tables[0]!.snapshot, 1);
  f.emr.prepare("UPDATE obs SET VALUE = '128.0' WHERE PATIENT = 'p1'").run();
  const c = changes(f.db);
  t.deepEqual(c[1]!.key, ['2024-01-01', 'p1', '8302-2']);
  t.deepEqual(c[1]!.row!.VALUE, '128.0');
});

test('a --key that does not identify rows, or holds NULLs, is refused', async (t) => {
  const f = await facility(t, "CREATE TABLE obs (PATIENT TEXT, CODE TEXT); INSERT INTO obs VALUES ('p1', 'a'), ('p1', 'b'), (NULL, 'c')");
  t.is(((await t.throwsAsync(track(f.ctx, { tables: ['obs'], key: ['PATIENT'] }))) as FerryError).code, 'key-not-unique');
  t.is(((await t.throwsAsync(track(f.ctx, { tables: ['obs'], key: ['NOPE'] }))) as FerryError).code, 'table-no-key');
  t.is(((await t.throwsAsync(track(f.ctx, { tables: ['missing'] }))) as FerryError).code, 'table-missing');
});

test('every SQLite type, Unicode, large text and blobs keep their values and types', async (t) => {
  const f = await facility(t, 'CREATE TABLE v (id INTEGER PRIMARY KEY, a, b TEXT, c REAL, d BLOB, e INTEGER)');
  const big = 'ü✓日本語🙂'.repeat(200_000);
  const blob = Buffer.alloc(2_000_000, 0xab);
  const rows: unknown[][] = [
    [1, null, 'plain', 1.5, Buffer.from([0, 1, 2]), 9007199254740993n],
    [2, 42n, '', -0.0, Buffer.alloc(0), -9223372036854775808n],
    [3, 'text in an untyped column', big, 1e308, blob, 0n],
    [4, 3.25, 'x', Infinity, null, 9223372036854775807n],
  ];
  await track(f.ctx, { tables: ['v'] });
  const ins = f.emr.prepare('INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)');
  for (const r of rows) ins.run(...r);
  const c = changes(f.db);
  t.is(c.length, 4);
  t.deepEqual(c[0]!.row, { id: 1, a: null, b: 'plain', c: { real: 1.5 }, d: { blob: 'AAEC' }, e: { int: '9007199254740993' } });
  t.deepEqual(c[1]!.row!.a, 42);
  t.deepEqual(c[1]!.row!.e, { int: '-9223372036854775808' });
  t.is(c[2]!.row!.b, big);
  t.is(Buffer.from((c[2]!.row!.d as { blob: string }).blob, 'base64').length, blob.length);
  t.deepEqual(c[3]!.row!.a, { real: 3.25 });
  t.deepEqual(c[3]!.row!.c, { real: 'inf' });
});

test('rows that exist when a table is first tracked are queued (initial snapshot); tracking again is harmless', async (t) => {
  const f = await facility(t, "CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER); INSERT INTO p VALUES ('a', 1), ('b', 2), ('c', 3)");
  const r = await track(f.ctx, { tables: ['p'] });
  t.is(r.tables[0]!.outcome, 'tracked');
  t.is(r.tables[0]!.snapshot, 3);
  const again = await track(f.ctx, { tables: ['p'] });
  t.is(again.tables[0]!.outcome, 'already-tracked');
  const d = openEmrDb(f.db);
  t.is(pendingCount(d), 3);
  d.close();
  t.deepEqual(changes(f.db).map((c) => [c.seq, c.op, c.key[0]]), [[1, 'insert', 'a'], [2, 'insert', 'b'], [3, 'insert', 'c']]);
});

test('untrack removes the triggers and says what stays unsent', async (t) => {
  const f = await facility(t, 'CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER)');
  await track(f.ctx, { tables: ['p'] });
  f.emr.prepare("INSERT INTO p VALUES ('a', 1)").run();
  const [u] = await untrack(f.ctx, { tables: ['p'] });
  t.is(u!.unsent, 1);
  f.emr.prepare("INSERT INTO p VALUES ('b', 2)").run();
  t.deepEqual(changes(f.db).map((c) => c.key[0]), ['a'], 'captured before untrack: still queued; after: not captured');
  t.is(((await t.throwsAsync(untrack(f.ctx, { tables: ['p'] }))) as FerryError).code, 'table-not-tracked');
});

test('a column added after tracking travels: triggers updated and the table queued again', async (t) => {
  const f = await facility(t, "CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER); INSERT INTO p VALUES ('a', 1)");
  await track(f.ctx, { tables: ['p'] });
  f.emr.exec('ALTER TABLE p ADD COLUMN phone TEXT');
  f.emr.prepare("UPDATE p SET phone = '+250 788' WHERE id = 'a'").run();
  const r = await track(f.ctx, { tables: ['p'] });
  t.is(r.tables[0]!.outcome, 'columns-updated');
  t.deepEqual(r.tables[0]!.new_columns, ['phone']);
  f.emr.prepare("INSERT INTO p VALUES ('b', 2, '+250 789')").run();
  const c = changes(f.db);
  const last = c[c.length - 1]!;
  t.deepEqual(last.row, { id: 'b', n: 2, phone: '+250 789' });
  t.true(c.some((x) => x.key[0] === 'a' && x.row?.phone === '+250 788'), 'the value set before the triggers knew the column is re-sent');
});

test('the hybrid clock never goes backwards, even if the system clock does', async (t) => {
  const f = await facility(t, 'CREATE TABLE p (id TEXT PRIMARY KEY)');
  await track(f.ctx, { tables: ['p'] });
  const future = Date.now() + 10 * 365 * 86400_000;
  f.emr.prepare('UPDATE ferry_clock SET wall = ?, counter = 5').run(future);
  f.emr.prepare("INSERT INTO p VALUES ('a')").run();
  f.emr.prepare("INSERT INTO p VALUES ('b')").run();
  const c = changes(f.db);
  t.deepEqual(c.map((x) => x.clock), [[future, 6], [future, 7]]);
});

test('track refuses a table whose name breaks the rules or is reserved (any case): name-invalid, exit 2, what and what to do', async (t) => {
  const long = `t${'x'.repeat(63)}`;
  const f = await facility(t, `CREATE TABLE "my-table" (id TEXT PRIMARY KEY); CREATE TABLE Ferry_Notes (id TEXT PRIMARY KEY); CREATE TABLE "${long}" (id TEXT PRIMARY KEY)`);
  for (const name of ['my-table', 'Ferry_Notes', 'FERRY_TABLES', 'sqlite_master', 'SQLite_Sequence', long]) {
    const err = (await t.throwsAsync(track(f.ctx, { tables: [name] }))) as FerryError;
    t.is(err.code, 'name-invalid', name);
    t.is(err.kind, 'usage', name);
    t.true(err.message.includes(name.slice(0, 20)), `the message names the table: ${err.message}`);
    t.truthy(err.hint, name);
  }
  const d = openEmrDb(f.db);
  t.deepEqual(d.prepare('SELECT name FROM ferry_tables').all(), [], 'nothing was tracked');
  d.close();
  const cli = runCli(['--home', f.ctx.home, 'track', '--table', 'my-table']);
  t.is(cli.code, 2);
  t.regex(cli.stderr, /error: table "my-table" cannot be tracked: its name may hold only/);
  t.regex(cli.stderr, /hint: .*rename the table/);
});

test('a table asked for in another case is the table already tracked: never tracked twice, always under its tracked name', async (t) => {
  const f = await facility(t, "CREATE TABLE conditions (id TEXT PRIMARY KEY, code TEXT); INSERT INTO conditions VALUES ('c1', 'x')");
  const first = await track(f.ctx, { tables: ['CONDITIONS'] });
  t.is(first.tables[0]!.table, 'conditions', "the schema's spelling, not the one typed");
  const again = await track(f.ctx, { tables: ['Conditions'], key: ['ID'] });
  t.deepEqual(again.tables.map((x) => [x.table, x.outcome]), [['conditions', 'already-tracked']]);
  f.emr.prepare("INSERT INTO conditions VALUES ('c2', 'y')").run();
  t.deepEqual(changes(f.db).map((c) => [c.table, c.key[0]]), [['conditions', 'c1'], ['conditions', 'c2']], 'each change captured once');
  const d = openEmrDb(f.db);
  t.deepEqual(d.prepare('SELECT name FROM ferry_tables').all(), [{ name: 'conditions' }]);
  d.close();
  const [u] = await untrack(f.ctx, { tables: ['CONDITIONS'] });
  t.is(u!.table, 'conditions');
});

test('a key given in another case is the table\'s own columns', async (t) => {
  const f = await facility(t, "CREATE TABLE obs (DATE TEXT, PATIENT TEXT, VALUE TEXT); INSERT INTO obs VALUES ('d', 'p', 'v')");
  const r = await track(f.ctx, { tables: ['obs'], key: ['date', 'patient'] });
  t.deepEqual(r.tables[0]!.key, ['DATE', 'PATIENT']);
  t.deepEqual(changes(f.db)[0]!.key, ['d', 'p']);
});

test('a column whose name breaks the rules is neither captured nor sent, the rest travels, and track says which and why', async (t) => {
  const long = 'c'.repeat(100);
  const f = await facility(t, `CREATE TABLE p (id TEXT PRIMARY KEY, "a""b" TEXT, "new\nline" TEXT, "${long}" TEXT, ferry_note TEXT, "FERRY_X" TEXT, ok TEXT)`);
  const r = await track(f.ctx, { tables: ['p'] });
  t.is(r.tables[0]!.outcome, 'tracked');
  const w = r.tables[0]!.warnings;
  t.is(w.length, 5);
  t.true(w.includes('column "a\\"b" of table p is not sent: its name may hold only the letters A–Z and a–z, digits and _, and may not start with a digit; rename the column in the EMR to send it'), w.join('\n'));
  t.true(w.some((x) => x.startsWith('column "new\\u000aline" of table p is not sent')), 'a newline is shown escaped, never raw');
  t.true(w.some((x) => x.startsWith(`column "${'c'.repeat(64)}"… (100 characters) of table p is not sent: its name is longer than 63 characters`)));
  t.true(w.some((x) => x.startsWith('column ferry_note of table p is not sent: its name starts with ferry_')));
  t.true(w.some((x) => x.startsWith('column FERRY_X of table p is not sent: its name starts with ferry_')), 'ferry_ in any case');
  t.false(w.some((x) => /[\n\r\x1b]/.test(x)));
  f.emr.prepare(`INSERT INTO p VALUES ('a', 'q', 'n', 'l', 'f', 'F', 'kept')`).run();
  const c = changes(f.db);
  t.deepEqual(c[0]!.row, { id: 'a', ok: 'kept' });
  const d = openEmrDb(f.db);
  t.deepEqual(d.prepare('SELECT columns FROM ferry_tables').all(), [{ columns: JSON.stringify([{ name: 'id', type: 'TEXT' }, { name: 'ok', type: 'TEXT' }]) }]);
  t.deepEqual(d.prepare('SELECT name FROM pragma_table_info(?)').all('ferry_log_1').map((x) => (x as { name: string }).name), ['ferry_seq', 'ferry_op', 'ferry_wall', 'ferry_counter', 'id', 'ok'], 'the log holds only what travels');
  d.close();
  const again = await track(f.ctx, { tables: ['p'] });
  t.deepEqual(again.tables[0]!.warnings, w, 'said again each time, until the column is renamed');
});

test('a key column whose name breaks the rules refuses the table with name-invalid', async (t) => {
  const f = await facility(t, 'CREATE TABLE p ("patient id" TEXT PRIMARY KEY, n TEXT); CREATE TABLE q (ferry_id TEXT, n TEXT)');
  const err = (await t.throwsAsync(track(f.ctx, { tables: ['p'] }))) as FerryError;
  t.is(err.code, 'name-invalid');
  t.regex(err.message, /table p cannot be tracked: its key column "patient id" cannot travel: its name may hold only/);
  t.regex(err.hint!, /rename that column/);
  t.is(((await t.throwsAsync(track(f.ctx, { tables: ['q'], key: ['FERRY_ID'] }))) as FerryError).code, 'name-invalid');
});

test('a declared type outside the grammar travels as "", and track says which column lost it', async (t) => {
  const f = await facility(t, "CREATE TABLE p (id TEXT PRIMARY KEY, n VARCHAR( 255 ), d DECIMAL(10,2)); ALTER TABLE p ADD COLUMN x \"TEXT); DELETE FROM p; --\"");
  const r = await track(f.ctx, { tables: ['p'] });
  t.deepEqual(r.tables[0]!.warnings, ["column x of p: its declared type is not one ferry can carry; it travels without one"]);
  f.emr.prepare("INSERT INTO p VALUES ('a', 'n', 1.5, 'x')").run();
  const d = openEmrDb(f.db);
  const [{ table }] = [...pendingChanges(d, 'RW-001', 10)];
  d.close();
  t.deepEqual(table.columns, [{ name: 'id', type: 'TEXT' }, { name: 'n', type: 'VARCHAR( 255 )' }, { name: 'd', type: 'DECIMAL(10,2)' }, { name: 'x', type: '' }]);
});

test('columns added later with a bad name or type: the refresh export runs reports them with the re-queued table, and the rest travels', async (t) => {
  const f = await facility(t, "CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER); INSERT INTO p VALUES ('a', 1)");
  await track(f.ctx, { tables: ['p'] });
  f.emr.exec('ALTER TABLE p ADD COLUMN "bad name" TEXT');
  f.emr.exec('ALTER TABLE p ADD COLUMN y "INT, evil TEXT) ; ATTACH DATABASE \'/tmp/x.db\' AS x"');
  const d = openEmrDb(f.db);
  const r = refreshTracking(d, Date.now());
  d.close();
  t.deepEqual(r.updated.map((x) => [x.table, x.new_columns]), [['p', ['y']]]);
  t.deepEqual(r.warnings, ['column "bad name" of table p is not sent: its name may hold only the letters A–Z and a–z, digits and _, and may not start with a digit; rename the column in the EMR to send it', 'column y of p: its declared type is not one ferry can carry; it travels without one']);
  t.deepEqual(r.updated[0]!.warnings, r.warnings);
  f.emr.prepare("INSERT INTO p VALUES ('b', 2, 'not sent', 7)").run();
  const last = changes(f.db).at(-1)!;
  t.deepEqual(last.row, { id: 'b', n: 2, y: 7 });
});

test('a column renamed only in case stays one column: no error, no second log column, values still read', async (t) => {
  const f = await facility(t, "CREATE TABLE p (id TEXT PRIMARY KEY, city TEXT)");
  await track(f.ctx, { tables: ['p'] });
  f.emr.exec('ALTER TABLE p RENAME COLUMN city TO CITY');
  const r = await track(f.ctx, { tables: ['p'] });
  t.is(r.tables[0]!.outcome, 'already-tracked');
  f.emr.prepare("INSERT INTO p VALUES ('a', 'Kigali')").run();
  t.deepEqual(changes(f.db).at(-1)!.row, { id: 'a', city: 'Kigali' });
});

test('a column called rn (any case, key or not) keeps its values through the snapshot, the log and the hub', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  sql(site.db, 'CREATE TABLE meds (id TEXT PRIMARY KEY, rn TEXT, dose TEXT)');
  sql(site.db, "INSERT INTO meds VALUES ('m-1', 'nurse Alice', '5 mg'), ('m-2', 'nurse Bob', '10 mg')");
  // The nurse as the key, spelled RN.
  sql(site.db, 'CREATE TABLE rounds (RN TEXT PRIMARY KEY, ward TEXT)');
  sql(site.db, "INSERT INTO rounds VALUES ('nurse Alice', 'B'), ('nurse Bob', 'C')");
  await track(site.ctx, { tables: ['meds', 'rounds'] });
  const logged = changes(site.db);
  t.deepEqual(logged.filter((c) => c.table === 'meds').map((c) => c.row), [
    { id: 'm-1', rn: 'nurse Alice', dose: '5 mg' },
    { id: 'm-2', rn: 'nurse Bob', dose: '10 mg' },
  ]);
  t.deepEqual(logged.filter((c) => c.table === 'rounds').map((c) => [c.key, c.row]), [
    [['nurse Alice'], { RN: 'nurse Alice', ward: 'B' }],
    [['nurse Bob'], { RN: 'nurse Bob', ward: 'C' }],
  ]);
  t.deepEqual(logged.map((c) => c.seq), [1, 2, 3, 4], 'the row numbers still number the changes');
  // A column added later re-queues the table through the same snapshot.
  sql(site.db, 'ALTER TABLE meds ADD COLUMN route TEXT');
  await exportChanges(site.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  t.deepEqual(sql(n.hubDb, 'SELECT id, rn, dose FROM meds ORDER BY id'), [
    { id: 'm-1', rn: 'nurse Alice', dose: '5 mg' },
    { id: 'm-2', rn: 'nurse Bob', dose: '10 mg' },
  ]);
  t.deepEqual(sql(n.hubDb, 'SELECT RN, ward FROM rounds ORDER BY RN'), [
    { RN: 'nurse Alice', ward: 'B' },
    { RN: 'nurse Bob', ward: 'C' },
  ]);
});
