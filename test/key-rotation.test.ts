/** Key rotation: new keys announced by a notice signed with the old ones, accepted from a drive. */
import test from 'ava';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { encodeRotation, makeRotationNotice, rotationKeys } from '../src/format/rotation.js';
import { fingerprintOf } from '../src/format/identity.js';
import { exportChanges } from '../src/facility/export.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { importDrive } from '../src/roles/import.js';
import { rotateKeys } from '../src/node/rotate.js';
import { revoke } from '../src/node/trust.js';
import { makeNetwork, runCli, sql, type Network } from './helpers/env.js';

const hubImport = async (n: Network, drive = n.drive) => (await importDrive(n.hub, { from: drive })) as HubImportResult;
const facImport = async (n: Network, drive = n.drive) => (await importDrive(n.sites[0]!.ctx, { from: drive })) as FacilityImportResult;
const files = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const peerFingerprint = (home: string, id: string) => sql<{ fingerprint: string }>(join(home, 'state.db'), 'SELECT fingerprint FROM ferry_peers WHERE id = ?', id)[0]!.fingerprint;
const patients = (db: string) => sql<{ n: number }>(db, 'SELECT count(*) AS n FROM patients')[0]!.n;

function newDrive(n: Network, name: string): string {
  const d = join(n.root, name);
  mkdirSync(d);
  return d;
}

test('a facility rotates: the hub accepts the notice from the drive, shows the new fingerprint, and refuses what the old key signs', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const fac = n.sites[0]!;
  // A bundle made before the rotation, on a drive that reaches the hub late.
  const late = newDrive(n, 'late');
  await exportChanges(fac.ctx, { to: late });
  const oldFingerprint = runCli(['--home', fac.ctx.home, 'identity', '--json']).json.card.fingerprint;

  const r = runCli(['--home', fac.ctx.home, 'rotate-keys', '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(r.json.old_fingerprint, oldFingerprint);
  t.not(r.json.new_fingerprint, oldFingerprint);
  t.is(runCli(['--home', fac.ctx.home, 'identity', '--json']).json.card.fingerprint, r.json.new_fingerprint, 'the card now shows the new key');

  // The old-key bundle also sits on the courier's drive: export replaces it.
  cpSync(join(late, 'FERRY'), join(n.drive, 'FERRY'), { recursive: true });
  sql(fac.db, "UPDATE patients SET CITY = 'Huye' WHERE rowid = 1");
  const exp = runCli(['--home', fac.ctx.home, 'export', '--to', n.drive, '--json']);
  t.is(exp.code, 0, exp.stderr);
  t.is(exp.json.keys_written.length, 1, 'the notice goes on the drive');
  t.is(exp.json.removed_superseded.length, 1, 'the bundle signed with the old key is removed');
  t.is(exp.json.written[0].changes, 2123, 'its changes are re-sent under the new key, with the new one');

  t.is(peerFingerprint(n.hub.home, fac.id), oldFingerprint);
  const seen = runCli(['--home', n.hub.home, 'inspect', n.drive, '--json'], { env: { FERRY_PASSPHRASE: '' } });
  t.like(seen.json.items.find((i: { kind: string }) => i.kind === 'key-rotation'), { ok: true, sender: fac.id, signature: 'trusted', signer_fingerprint: oldFingerprint, new_fingerprint: r.json.new_fingerprint });
  const imp = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(imp.code, 0, imp.stderr);
  t.like(imp.json.rotations[0], { id: fac.id, outcome: 'accepted', old_fingerprint: oldFingerprint, new_fingerprint: r.json.new_fingerprint });
  t.is(imp.json.bundles[0].outcome, 'applied');
  t.is(peerFingerprint(n.hub.home, fac.id), r.json.new_fingerprint);
  const human = runCli(['--home', n.hub.home, 'status']);
  t.regex(human.stdout, new RegExp(`${fac.id}\\s+${r.json.new_fingerprint}`), 'hub status shows the new fingerprint');

  const old = runCli(['--home', n.hub.home, 'import', '--from', late, '--json']);
  t.is(old.code, 1);
  t.is(old.json.bundles[0].outcome, 'refused');
  t.is(old.json.bundles[0].reason.code, 'signer-key-retired');
  t.regex(old.json.bundles[0].reason.message, new RegExp(`retired key ${oldFingerprint}, replaced by ${r.json.new_fingerprint}`));

  const again = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  t.is(again.code, 0, 'the same notice again is no news');
  t.is(again.json.rotations[0].outcome, 'known');
  t.is((await facImport(n)).pending, 0);
  t.is(patients(n.hubDb), patients(fac.db));
});

test('a hub rotates: facilities accept its notice, seal for the new key, and do not use acks of the old one', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const fac = n.sites[0]!;
  await exportChanges(fac.ctx, { to: n.drive });
  await hubImport(n);
  const oldAcks = newDrive(n, 'old-acks'); // a copy of the drive with the acks the old key signed
  cpSync(join(n.drive, 'FERRY'), join(oldAcks, 'FERRY'), { recursive: true });
  const inFlight = newDrive(n, 'in-flight');
  sql(fac.db, "UPDATE patients SET CITY = 'Rubavu' WHERE rowid = 2");
  await exportChanges(fac.ctx, { to: inFlight }); // sealed for the old hub key

  const rot = await rotateKeys(n.hub);
  const second = await hubImport(n); // re-acknowledges with the new key
  t.is(second.keys_written.length, 1, 'the hub writes its notice on every drive it imports');

  const back = runCli(['--home', fac.ctx.home, 'import', '--from', n.drive, '--json']);
  t.is(back.code, 0, back.stderr);
  t.like(back.json.rotations[0], { id: 'HUB-1', outcome: 'accepted', new_fingerprint: rot.new_fingerprint });
  t.is(back.json.pending, 1, `the ack under the new key confirmed the first bundle: ${JSON.stringify(back.json.acks)}`);
  t.is(peerFingerprint(fac.ctx.home, 'HUB-1'), rot.new_fingerprint);

  const stale = runCli(['--home', fac.ctx.home, 'import', '--from', oldAcks, '--json']);
  t.is(stale.code, 0, 'an ack of the retired key is set aside, not an error');
  t.is(stale.json.acks[0].outcome, 'retired-key');
  t.regex(stale.json.acks[0].reason.message, /retired key/);

  const refused = await hubImport(n, inFlight);
  t.is(refused.bundles[0]!.reason?.code, 'no-matching-key');
  t.regex(refused.bundles[0]!.reason!.message, /sealed for this hub's retired key/);

  cpSync(join(inFlight, 'FERRY', 'bundles'), join(n.drive, 'FERRY', 'bundles'), { recursive: true });
  const exp = await exportChanges(fac.ctx, { to: n.drive });
  t.is(exp.removed_superseded.length, 1, 'the bundle sealed for the old hub key is removed from the drive');
  t.is(exp.written[0]!.changes, 1);
  t.true(readFileSync(exp.written[0]!.file).includes(Buffer.from(rot.new_fingerprint)), 'the new bundle is sealed for the new hub key');
  const applied = await hubImport(n);
  t.deepEqual(applied.bundles.map((b) => b.outcome), ['applied']);
  t.is((await facImport(n)).pending, 0);
  t.is(patients(n.hubDb), patients(fac.db));
});

test('a chain of two rotations reaches the hub in one drive, in any order; a forged or revoked notice is refused', async (t) => {
  const n = await makeNetwork(t, { trackAll: true, facilities: ['RW-001', 'RW-002'] });
  const [a, b] = n.sites as [Network['sites'][0], Network['sites'][0]];
  const first = await rotateKeys(a.ctx);
  const second = await rotateKeys(a.ctx);
  t.is(first.new_fingerprint, second.old_fingerprint);
  await exportChanges(a.ctx, { to: n.drive });
  // The second link listed first: the hub must follow the chain, not the file order.
  const keysDir = join(n.drive, 'FERRY', 'keys');
  const secondFile = readdirSync(keysDir).find((f) => f.includes(second.new_fingerprint.replaceAll('-', '')))!;
  renameSync(join(keysDir, secondFile), join(keysDir, `0-${secondFile}`));
  t.true(readdirSync(keysDir).sort()[0]!.startsWith('0-'));
  const r1 = await hubImport(n);
  t.deepEqual(r1.rotations.map((x) => x.outcome).sort(), ['accepted', 'accepted']);
  t.is(peerFingerprint(n.hub.home, 'RW-001'), second.new_fingerprint);
  t.is(r1.bundles[0]!.outcome, 'applied');

  // A forger who knows RW-002's public card but not its key announces a key of their own.
  const bCard = JSON.parse(readFileSync(b.card, 'utf8'));
  const sign = nacl.sign.keyPair();
  const box = nacl.box.keyPair();
  const forged = makeRotationNotice({
    id: 'RW-002',
    role: 'facility',
    old: { signing_key: bCard.signing_key, encryption_key: bCard.encryption_key, fingerprint: bCard.fingerprint },
    new: rotationKeys({ signingKey: sign.publicKey, encryptionKey: box.publicKey, fingerprint: fingerprintOf(sign.publicKey, box.publicKey) }),
    created: new Date(),
  });
  const forgedDrive = newDrive(n, 'forged');
  mkdirSync(join(forgedDrive, 'FERRY', 'keys'), { recursive: true });
  writeFileSync(join(forgedDrive, 'FERRY', 'keys', 'RW-002.forged.ferry-rotation'), await encodeRotation(forged, sign.secretKey, sign.secretKey));
  const cli = runCli(['--home', n.hub.home, 'import', '--from', forgedDrive, '--json']);
  t.is(cli.code, 1, 'a refused notice makes the import partial');
  t.is(cli.json.rotations[0].outcome, 'refused');
  t.is(cli.json.rotations[0].reason.code, 'signature-invalid');
  t.is(peerFingerprint(n.hub.home, 'RW-002'), bCard.fingerprint, 'the trusted key is unchanged');

  // A revoked facility cannot rotate its way back in.
  await revoke(n.hub, { id: 'RW-002', reason: 'laptop stolen' });
  await rotateKeys(b.ctx, { drive: forgedDrive });
  const rv = await hubImport(n, forgedDrive);
  const real = rv.rotations.find((x) => x.new_fingerprint !== forged.new.fingerprint)!;
  t.is(real.outcome, 'refused');
  t.is(real.reason?.code, 'signer-revoked');
});

test('a rotation cut short after its deciding commit is finished by the next command; before it, nothing changed', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const home = n.sites[0]!.ctx.home;
  const before = { secret: readFileSync(join(home, 'secret-key.json'), 'utf8'), card: readFileSync(join(home, 'identity.json'), 'utf8') };
  const r = await rotateKeys(n.sites[0]!.ctx);
  const after = { secret: readFileSync(join(home, 'secret-key.json'), 'utf8'), card: readFileSync(join(home, 'identity.json'), 'utf8') };
  t.notDeepEqual(after, before);
  // Power cut just after the commit: the files are still the old ones, the decision is recorded.
  sql(join(home, 'state.db'), 'UPDATE ferry_own_rotations SET pending_secret = ?, pending_card = ?', after.secret, after.card);
  writeFileSync(join(home, 'secret-key.json'), before.secret, { mode: 0o600 });
  writeFileSync(join(home, 'identity.json'), before.card);
  // status only reads: it shows the decided key, and leaves finishing to a command that holds the lock.
  const st = runCli(['--home', home, 'status', '--json'], { env: { FERRY_PASSPHRASE: '' } });
  t.is(st.code, 0, st.stderr);
  t.is(st.json.fingerprint, r.new_fingerprint);
  t.is(readFileSync(join(home, 'secret-key.json'), 'utf8'), before.secret, 'status wrote nothing');
  const exp = runCli(['--home', home, 'export', '--to', n.drive]);
  t.is(exp.code, 0, `the new keys open with the same passphrase: ${exp.stderr}`);
  t.is(readFileSync(join(home, 'secret-key.json'), 'utf8'), after.secret);
  t.is(readFileSync(join(home, 'identity.json'), 'utf8'), after.card);
  t.is(sql<{ n: number }>(join(home, 'state.db'), 'SELECT count(*) AS n FROM ferry_own_rotations WHERE pending_secret IS NOT NULL')[0]!.n, 0, 'the sealed key is not kept in the state database');
  t.true(files(join(n.drive, 'FERRY', 'keys')).length === 1);
});
