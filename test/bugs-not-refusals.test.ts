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
import { ErrorCodes, refusedError } from '../src/core/errors.js';
import { ownBundlesOnDrive } from '../src/facility/own-bundles.js';
import { hubHoldsOnDrive } from '../src/facility/restore-fence.js';
import { driveFileFailure } from '../src/node/item-failure.js';
import { withSession } from '../src/node/node-session.js';
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

test('a bug while reading a drive file for the restore fence or for own bundles is not taken for a damaged file', async (t) => {
  const n = await makeNetwork(t, {});
  const site = n.sites[0]!;
  // A value no file name can be: reading it fails inside ferry (a TypeError), not on the drive.
  const notAPath = [42 as unknown as string];
  await withSession(site.ctx, 'facility', 'test', async (s) => {
    const hub = await s.hub();
    await t.throwsAsync(hubHoldsOnDrive(s, notAPath, hub), { instanceOf: TypeError }, 'the fence evidence is not silently dropped');
    await t.throwsAsync(async () => {
      for await (const _ of ownBundlesOnDrive(s, notAPath, hub.id)) void _;
    }, { instanceOf: TypeError });
  });
});

test('an item that fails on the drive is an I/O failure of that item; anything else is rethrown', (t) => {
  const eio = Object.assign(new Error('i/o error'), { code: 'EIO', syscall: 'read', errno: -5 });
  t.like(driveFileFailure(eio, '/drive/FERRY/a.ferry-ack'), { kind: 'io', code: 'drive-io-error' });
  const refused = refusedError(ErrorCodes.ZIP_INVALID, 'damaged');
  t.is(driveFileFailure(refused, 'x'), refused);
  t.throws(() => driveFileFailure(new TypeError('x is undefined'), 'x'), { instanceOf: TypeError });
  t.throws(() => driveFileFailure(Object.assign(new Error('no'), { code: 'ERR_INVALID_ARG_TYPE' }), 'x'));
});
