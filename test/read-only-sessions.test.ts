/**
 * What an operator runs to find out what is wrong must work while it is wrong: unlocking (the
 * TUI's first step), `ferry identity`, `ferry log` and `ferry inspect` need neither a current
 * state.db nor, at a hub, the hub database; a key rotation cut short between its two file
 * replacements is not mistaken for keys from another backup.
 */
import test from 'ava';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { fixedPassphrase } from '../src/node/passphrase.js';
import { rotateKeys } from '../src/node/rotate.js';
import { unlockOnce } from '../src/node/node-session.js';
import { trustPeer } from '../src/node/trust.js';
import { importDrive } from '../src/roles/import.js';
import { makeNetwork, runCli, sql, TEST_PASSPHRASE, type Network } from './helpers/env.js';

/** A facility's state.db as an older ferry left it: one migration behind. */
const outdate = (home: string) => sql(join(home, 'state.db'), 'ALTER TABLE ferry_exports DROP COLUMN carried');

/** A rotation decided and committed, with the key file replaced but not yet the card (a crash between the two). */
async function rotationCutShortBetweenFiles(n: Network) {
  const home = n.sites[0]!.ctx.home;
  const oldCard = readFileSync(join(home, 'identity.json'), 'utf8');
  const r = await rotateKeys(n.sites[0]!.ctx);
  const after = { secret: readFileSync(join(home, 'secret-key.json'), 'utf8'), card: readFileSync(join(home, 'identity.json'), 'utf8') };
  sql(join(home, 'state.db'), 'UPDATE ferry_own_rotations SET pending_secret = ?, pending_card = ?', after.secret, after.card);
  writeFileSync(join(home, 'identity.json'), oldCard);
  return { home, r, after };
}

test('the TUI unlocks on a facility whose state.db an older ferry made, and writes nothing to it', async (t) => {
  const n = await makeNetwork(t, {});
  const ctx = { ...n.sites[0]!.ctx, passphrase: fixedPassphrase(TEST_PASSPHRASE) };
  outdate(ctx.home);
  const before = readFileSync(join(ctx.home, 'state.db'));
  t.is(await unlockOnce(ctx), TEST_PASSPHRASE, 'unlocked with the passphrase the dashboard will reuse');
  t.true(readFileSync(join(ctx.home, 'state.db')).equals(before), 'not migrated by a read');
});

test('`ferry identity` shows the card on a facility whose state.db an older ferry made', async (t) => {
  const n = await makeNetwork(t, {});
  const home = n.sites[0]!.ctx.home;
  outdate(home);
  const r = runCli(['--home', home, 'identity', '--json']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.is(r.json.card.id, 'RW-001');
});

test('a rotation cut short between replacing the key file and the card: the TUI unlocks with the decided card, and the rotation is finished by the next command', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const { home, r, after } = await rotationCutShortBetweenFiles(n);
  const ctx = { ...n.sites[0]!.ctx, passphrase: fixedPassphrase(TEST_PASSPHRASE) };
  t.is(await unlockOnce(ctx), TEST_PASSPHRASE);
  t.not(readFileSync(join(home, 'identity.json'), 'utf8'), after.card, 'a read finishes nothing');
  const exp = runCli(['--home', home, 'export', '--to', n.drive, '--json']);
  t.is(exp.code, 0, exp.stdout + exp.stderr);
  t.is(readFileSync(join(home, 'identity.json'), 'utf8'), after.card);
  t.is(JSON.parse(after.card).fingerprint, r.new_fingerprint);
});

test('keys that match neither the card nor a pending rotation: with one pending, the hint says to finish it, not to restore a backup', async (t) => {
  const n = await makeNetwork(t, {});
  const ctx = { ...n.sites[0]!.ctx, passphrase: fixedPassphrase(TEST_PASSPHRASE) };
  const home = ctx.home;
  const file = (name: string) => readFileSync(join(home, name), 'utf8');
  const first = file('secret-key.json');
  await rotateKeys(ctx);
  const second = { secret: file('secret-key.json'), card: file('identity.json') };
  await rotateKeys(ctx);
  // Keys of the first generation, the card of the third, and the second decided but not written.
  sql(join(home, 'state.db'), 'UPDATE ferry_own_rotations SET pending_secret = ?, pending_card = ? WHERE id = (SELECT max(id) FROM ferry_own_rotations)', second.secret, second.card);
  writeFileSync(join(home, 'secret-key.json'), first, { mode: 0o600 });
  await t.throwsAsync(unlockOnce(ctx), { code: 'secret-key-unreadable' });
  const hint = await unlockOnce(ctx).catch((err: { hint?: string }) => err.hint);
  t.regex(hint ?? '', /run any command that changes state \(e\.g\. `ferry import`\) to finish the key rotation/);
  sql(join(home, 'state.db'), 'UPDATE ferry_own_rotations SET pending_secret = NULL, pending_card = NULL');
  t.regex((await unlockOnce(ctx).catch((err: { hint?: string }) => err.hint)) ?? '', /restore both from the same backup/, 'without a rotation pending, they are from different backups');
});

test('at a hub whose database is not mounted, `ferry log` and `ferry inspect` still work (they read state.db only)', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  renameSync(n.hubDb, `${n.hubDb}.away`);
  const log = runCli(['--home', n.hub.home, 'log', '--json']);
  t.is(log.code, 0, log.stdout + log.stderr);
  t.true(JSON.stringify(log.json).includes('import'));
  const seen = runCli(['--home', n.hub.home, 'inspect', n.drive, '--json']);
  t.is(seen.code, 0, seen.stdout + seen.stderr);
  t.true(seen.json.items.some((i: { kind: string; signature: string }) => i.kind === 'bundle' && i.signature === 'trusted'), 'signatures checked against the peers in state.db');
  const st = runCli(['--home', n.hub.home, 'status', '--json']);
  t.is(st.json?.error?.code, 'database-missing', 'what needs the hub database still says it is missing');
});

test('inspect on a state.db an older ferry made shows the drive, with signatures of others unchecked and the reason said', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  sql(join(n.hub.home, 'state.db'), 'ALTER TABLE ferry_exports DROP COLUMN carried');
  const seen = runCli(['--home', n.hub.home, 'inspect', n.drive]);
  t.is(seen.code, 0, seen.stdout + seen.stderr);
  t.regex(seen.stdout, /signatures of other nodes NOT checked: .*older ferry.*\(database-outdated\)/);
  const json = runCli(['--home', n.hub.home, 'inspect', n.drive, '--json']).json;
  t.is(json.unchecked_because.code, 'database-outdated');
  t.true(json.items.every((i: { signature: string }) => i.signature === 'unchecked' || i.signature === 'own'));
});

test('a hub database that is there but cannot be opened is not reported as missing', async (t) => {
  const n = await makeNetwork(t, {});
  renameSync(n.hubDb, `${n.hubDb}.away`);
  mkdirSync(n.hubDb);
  const r = runCli(['--home', n.hub.home, 'status', '--json']);
  t.is(r.json?.error?.code, 'database-unreadable', r.stdout + r.stderr);
  t.regex(r.json.error.message, /hub\.db/);
});

test('trusting a card file that is not there says so (a wrong path, not a bad card)', async (t) => {
  const n = await makeNetwork(t, {});
  const missing = join(n.root, 'no-such.card');
  await t.throwsAsync(trustPeer(n.hub, { card: missing }), { code: 'usage', message: /no-such\.card does not exist/ });
});
