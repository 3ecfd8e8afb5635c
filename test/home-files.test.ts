/** The node's own files: private from their first byte, replaced whole or not at all. */
import test from 'ava';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateFile, writeFileDurably } from '../src/store/home.js';
import { FERRY_BIN, tempDir } from './helpers/env.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** The CLI under umask 022, as a service or a login shell usually runs it. */
function ferryUmask022(args: string[]) {
  return spawnSync('sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, FERRY_BIN, ...args], { encoding: 'utf8', env: { ...process.env, FERRY_HOME: '' } });
}

test('state.db, and the -wal and -shm files SQLite makes beside it, are 0600 even with umask 022 in a home that is not 0700', (t) => {
  const home = join(tempDir(t), 'home');
  mkdirSync(home, { mode: 0o755 });
  chmodSync(home, 0o755);
  const r = ferryUmask022(['--home', home, 'init', '--role', 'facility', '--id', 'RW-017']);
  t.is(r.status, 0, r.stderr);
  const state = join(home, 'state.db');
  t.is(mode(state), '600');
  // Hold the database open, in WAL mode, as a running ferry does.
  const db = new Database(state);
  t.teardown(() => db.close());
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  db.prepare("INSERT INTO ferry_audit (at, node, action, outcome) VALUES ('x', 'RW-017', 'test', 'ok')").run();
  t.is(mode(`${state}-wal`), '600');
  t.is(mode(`${state}-shm`), '600');
});

test('a state.db that others can read (made by an older ferry) is made private when the node is next used', (t) => {
  const home = join(tempDir(t), 'home');
  t.is(ferryUmask022(['--home', home, 'init', '--role', 'facility', '--id', 'RW-017']).status, 0);
  const state = join(home, 'state.db');
  chmodSync(state, 0o644);
  const r = ferryUmask022(['--home', home, 'status', '--json']);
  t.is(r.status, 0, r.stderr);
  t.is(mode(state), '600');
});

test('createPrivateFile makes a new file 0600 and an empty one left behind 0600; a file with content is left as it is', (t) => {
  const dir = tempDir(t);
  const fresh = join(dir, 'hub.db');
  t.true(createPrivateFile(fresh));
  t.is(mode(fresh), '600');
  t.false(createPrivateFile(fresh), 'created once');
  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '', { mode: 0o644 });
  chmodSync(empty, 0o644);
  t.false(createPrivateFile(empty));
  t.is(mode(empty), '600');
  const full = join(dir, 'full.db');
  writeFileSync(full, 'data');
  chmodSync(full, 0o640);
  createPrivateFile(full);
  t.is(mode(full), '640');
});

test('writeFileDurably replaces the file by rename: the old file is never written in place, no temp file is left, the mode is the one asked', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'node.json');
  writeFileDurably(path, 'old\n');
  const held = join(dir, 'held-by-a-reader');
  linkSync(path, held); // another name for the old file, as an open reader holds it
  writeFileDurably(path, 'new\n', 0o640);
  t.is(readFileSync(path, 'utf8'), 'new\n');
  t.is(readFileSync(held, 'utf8'), 'old\n', 'the old file was not overwritten: a power cut mid-write leaves it whole');
  t.is(mode(path), '640');
  t.deepEqual(readdirSync(dir).sort(), ['held-by-a-reader', 'node.json']);
});
