/**
 * A bug in ferry while it handles one item of a drive (a bundle, an ack, a rotation notice) is
 * not that item's fault: the command stops with exit 70 and nothing is quarantined or refused
 * in the item's name. The bug is injected as a database that throws where ferry writes (a
 * trigger raising an error, which reaches ferry as an SqliteError, not a FerryError).
 */
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { rotateKeys } from '../src/node/rotate.js';
import { makeNetwork, runCli, sql } from './helpers/env.js';

const injectBug = (db: string, table: string) => sql(db, `CREATE TRIGGER injected_bug BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'injected bug'); END`);
const quarantined = (home: string) => (existsSync(join(home, 'quarantine')) ? readdirSync(join(home, 'quarantine')) : []);

test('a bug while applying a good bundle exits 70: the bundle is not quarantined, nothing is applied, no ack is written', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  injectBug(n.hubDb, 'ferry_bundles');
  const r = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 70, r.stdout + r.stderr);
  t.is(r.json?.error?.code, 'internal');
  t.deepEqual(quarantined(n.hub.home), [], 'a good bundle is never quarantined for a bug');
  t.deepEqual(sql(n.hubDb, 'SELECT count(*) AS n FROM ferry_applied'), [{ n: 0 }], 'the transaction rolled back');
  t.false(existsSync(join(n.drive, 'FERRY', 'acks')) && readdirSync(join(n.drive, 'FERRY', 'acks')).length > 0, 'no ack');
  sql(n.hubDb, 'DROP TRIGGER injected_bug');
  const again = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(again.code, 0, 'once the bug is gone the same bundle applies');
  t.is(again.json.bundles[0].outcome, 'applied');
});

test('a bug while reading an ack exits 70: the ack is not refused and nothing is pruned', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const exported = await exportChanges(site.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  injectBug(join(site.ctx.home, 'state.db'), 'ferry_acks_received');
  const r = runCli(['--home', site.ctx.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 70, r.stdout + r.stderr);
  t.is(r.json?.error?.code, 'internal');
  t.deepEqual(sql(join(site.ctx.home, 'state.db'), "SELECT count(*) AS n FROM ferry_audit WHERE action = 'ack-received' AND outcome = 'refused'"), [{ n: 0 }], 'the ack is not logged as refused');
  const st = runCli(['--home', site.ctx.home, 'status', '--json']);
  t.is(st.json.pending, exported.pending, 'nothing pruned');
});

test('a bug while accepting a key rotation notice exits 70 instead of refusing the notice', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  await rotateKeys(site.ctx, { drive: n.drive });
  injectBug(join(n.hub.home, 'state.db'), 'ferry_retired_keys');
  const r = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(r.code, 70, r.stdout + r.stderr);
  t.is(r.json?.error?.code, 'internal');
  t.deepEqual(sql(join(n.hub.home, 'state.db'), "SELECT count(*) AS n FROM ferry_audit WHERE action = 'key-rotation' AND outcome = 'refused'"), [{ n: 0 }], 'the notice is not logged as refused');
});
