/**
 * An EMR schema changed by someone with database access, and no key: column names and declared
 * types built to break out of SQL at the hub, carried by an honest facility's export.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { importDrive } from '../src/roles/import.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { exportChanges } from '../src/facility/export.js';
import { track } from '../src/facility/track.js';
import { makeNetwork, runCli, sql } from './helpers/env.js';

test('a hostile EMR schema: the hub\'s other tables are intact, bad types arrive untyped, bad names are not sent, and every message names the column', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  const [site, other] = n.sites as [(typeof n.sites)[0], (typeof n.sites)[0]];
  const drive2 = join(n.root, 'drive2');
  mkdirSync(drive2);

  // Another facility's rows are at the hub first.
  sql(other.db, 'CREATE TABLE visits (id TEXT PRIMARY KEY, note TEXT)');
  for (const id of ['v1', 'v2', 'v3']) sql(other.db, 'INSERT INTO visits VALUES (?, ?)', id, `note ${id}`);
  await track(other.ctx, { tables: ['visits'] });
  await exportChanges(other.ctx, { to: n.drive });
  t.deepEqual((await importDrive(n.hub, { from: n.drive }) as HubImportResult).bundles.map((b) => b.outcome), ['applied']);

  // The schema is changed behind ferry's back, after tracking.
  const pwned = join(n.root, 'pwned.db');
  const long = 'c'.repeat(100);
  const emr = new Database(site.db);
  emr.exec('CREATE TABLE p (id TEXT PRIMARY KEY, ok TEXT); CREATE TABLE q (id TEXT PRIMARY KEY, ok TEXT)');
  await track(site.ctx, { tables: ['p', 'q'] });
  // Within the 100 characters the table record allows a type: commit the deletion, attach a file.
  emr.exec(`ALTER TABLE p ADD COLUMN y "INT, e) ; DELETE FROM visits; COMMIT; ATTACH '${pwned}' AS w; BEGIN; --"`);
  emr.exec('ALTER TABLE p ADD COLUMN x "TEXT); DELETE FROM visits; --"');
  emr.exec('ALTER TABLE q ADD COLUMN "a""b" TEXT');
  emr.exec('ALTER TABLE q ADD COLUMN "new\nline" TEXT');
  emr.exec(`ALTER TABLE q ADD COLUMN "${long}" TEXT`);
  emr.prepare('INSERT INTO p VALUES (?, ?, ?, ?)').run('r1', 'kept', 7, 'x value');
  emr.prepare('INSERT INTO q VALUES (?, ?, ?, ?, ?)').run('r1', 'kept', 'q', 'n', 'l');
  emr.close();

  const exp = runCli(['--home', site.ctx.home, 'export', '--to', drive2, '--json']);
  t.is(exp.code, 0, exp.stderr);
  t.deepEqual(exp.json.columns_updated, ['p'], 'q gained only columns that do not travel: nothing to queue again, but said');
  const w: string[] = exp.json.warnings;
  t.is(w.length, 5, w.join('\n'));
  t.true(w.some((s) => s.startsWith('column "a\\"b" of table q is not sent: its name may hold only')));
  t.true(w.some((s) => s.startsWith('column "new\\u000aline" of table q is not sent')));
  t.true(w.some((s) => s.startsWith(`column "${'c'.repeat(64)}"… (100 characters) of table q is not sent: its name is longer than 63 characters`)));
  t.true(w.includes('column y of p: its declared type is not one ferry can carry; it travels without one'));
  t.true(w.includes('column x of p: its declared type is not one ferry can carry; it travels without one'));
  const human = runCli(['--home', site.ctx.home, 'track', '--table', 'p,q']);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /warning: column "a\\"b" of table q is not sent/);
  t.regex(human.stdout, /warning: column x of p: its declared type is not one ferry can carry/);
  t.notRegex(human.stdout, /new\nline/, 'no raw newline from a column name');

  const r = (await importDrive(n.hub, { from: drive2 })) as HubImportResult;
  t.deepEqual(r.bundles.map((b) => [b.sender, b.outcome]), [['RW-001', 'applied']]);
  t.deepEqual(sql(n.hubDb, 'SELECT id, note FROM visits ORDER BY id'), [{ id: 'v1', note: 'note v1' }, { id: 'v2', note: 'note v2' }, { id: 'v3', note: 'note v3' }], "the other facility's rows are untouched");
  t.false(existsSync(pwned), 'nothing was attached');
  // Hub columns carry no type (values keep their class); the declared types travel as metadata.
  t.deepEqual(JSON.parse(sql<{ columns: string }>(n.hubDb, "SELECT columns FROM ferry_tables WHERE name = 'p'")[0]!.columns), [
    { name: 'id', type: 'TEXT' },
    { name: 'ok', type: 'TEXT' },
    { name: 'y', type: '' },
    { name: 'x', type: '' },
  ]);
  t.deepEqual(sql(n.hubDb, 'SELECT id, ok, typeof(y) AS ty, y, x FROM p'), [{ id: 'r1', ok: 'kept', ty: 'integer', y: 7, x: 'x value' }]);
  t.deepEqual(sql(n.hubDb, "SELECT name FROM pragma_table_info('q') WHERE name NOT LIKE 'ferry\\_%' ESCAPE '\\'"), [{ name: 'id' }, { name: 'ok' }], 'the badly named columns are not at the hub');
  t.deepEqual(sql(n.hubDb, 'SELECT id, ok FROM q'), [{ id: 'r1', ok: 'kept' }], 'the rest of the table is');
});
