/**
 * A PostgreSQL database that is not a current ferry hub's is refused with a clear error (exit 2),
 * never written into: one holding other tables at init, one emptied since, one a newer ferry made.
 */
import test from 'ava';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers/env.js';
import { hasPostgres, usePostgres } from './helpers/postgres.js';

const pgTest = hasPostgres() ? test : test.skip;
const server = hasPostgres() ? usePostgres(test) : undefined;
const dbName = (url: string) => new URL(url).pathname.slice(1);

pgTest('init refuses a database that holds tables other than a ferry hub\'s, and writes nothing there', async (t) => {
  const pg = await server!();
  const url = pg.createDatabase('foreign');
  pg.psql('CREATE TABLE dhis2_export (id int)', dbName(url));
  const r = runCli(['--home', join(tempDir(t), 'hub'), 'init', '--role', 'hub', '--id', 'HUB-1', '--db', url]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /already holds tables that are not a ferry hub's/);
  t.notRegex(r.stderr, /at .*\.js:\d+/);
  t.is(pg.psql("SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'", dbName(url)).trim(), 'dhis2_export');
});

pgTest('a hub whose database was emptied, or made by another ferry version, is refused by every command (exit 2)', async (t) => {
  const pg = await server!();
  const url = pg.createDatabase('versions');
  const home = join(tempDir(t), 'hub');
  t.is(runCli(['--home', home, 'init', '--role', 'hub', '--id', 'HUB-1', '--db', url]).code, 0);

  pg.psql("UPDATE ferry_meta SET value = '3' WHERE name = 'schema_version'", dbName(url));
  const newer = runCli(['--home', home, 'status']);
  t.is(newer.code, 2, newer.stderr);
  t.regex(newer.stderr, /was made by another version of ferry \(schema 3; this ferry reads 2\)/);
  const log = runCli(['--home', home, 'log']);
  t.is(log.code, 2, log.stderr);

  pg.psql('DROP SCHEMA public CASCADE; CREATE SCHEMA public', dbName(url));
  const emptied = runCli(['--home', home, 'status']);
  t.is(emptied.code, 2, emptied.stderr);
  t.regex(emptied.stderr, /holds no ferry hub/);
  t.notRegex(emptied.stderr, /at .*\.js:\d+/);
});
