/** Secret keys sealed with a passphrase: what a thief gets, what an operator types, what a script sets. */
import test from 'ava';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toB64 } from '../src/format/encoding.js';
import { makeContext } from '../src/node/context.js';
import { fixedPassphrase } from '../src/node/passphrase.js';
import { withSession } from '../src/node/node-session.js';
import { makeNetwork, runCli, sql, tempDir, TEST_PASSPHRASE } from './helpers/env.js';

const NO_PASSPHRASE = { FERRY_PASSPHRASE: '', FERRY_PASSPHRASE_FILE: '' };

async function unlockedSeed(home: string, passphrase = TEST_PASSPHRASE): Promise<string> {
  const keys = await withSession(makeContext(home, { passphrase: fixedPassphrase(passphrase) }), undefined, 'test', (s) => s.nodeKeys());
  return toB64(keys.signingSecretKey.slice(0, 32));
}

/** A facility with a pending change and a hub that trusts it, made through the CLI. */
async function facilityWithChanges(t: Parameters<typeof tempDir>[0]) {
  const n = await makeNetwork(t, { trackAll: true });
  return { n, fac: n.sites[0]!.ctx.home, hub: n.hub.home, drive: n.drive };
}

test('the secret key file holds no key in the clear: scrypt parameters, a nonce and ciphertext, mode 0600', async (t) => {
  const home = join(tempDir(t), 'n');
  const r = runCli(['--home', home, 'init', '--role', 'hub', '--id', 'HUB-1', '--json']);
  t.is(r.code, 0, r.stderr);
  const text = readFileSync(join(home, 'secret-key.json'), 'utf8');
  const file = JSON.parse(text);
  t.is(file.version, 2);
  t.like(file.kdf, { name: 'scrypt', log_n: 10, r: 8, p: 1 });
  t.false('signing_seed' in file);
  const seed = await unlockedSeed(home);
  t.false(text.includes(seed), 'the seed is not in the file');
  t.false(text.includes(Buffer.from(seed, 'base64').toString('hex')), 'nor in hex');
});

test('init without a passphrase and without a terminal is refused and leaves no folder behind', (t) => {
  const home = join(tempDir(t), 'n');
  const r = runCli(['--home', home, 'init', '--role', 'facility', '--id', 'RW-001', '--json'], { env: NO_PASSPHRASE });
  t.is(r.code, 2);
  t.is(r.json.error.code, 'passphrase-needed');
  t.regex(r.json.error.hint, /FERRY_PASSPHRASE/);
  t.false(existsSync(home));
  const short = runCli(['--home', home, 'init', '--role', 'facility', '--id', 'RW-001', '--json'], { env: { FERRY_PASSPHRASE: 'short' } });
  t.is(short.code, 2);
  t.is(short.json.error.code, 'passphrase-too-short');
  t.false(existsSync(home));
});

test('export with a wrong or missing passphrase is a clear error (exit 2) and writes nothing to the drive', async (t) => {
  const { fac, drive } = await facilityWithChanges(t);
  const wrong = runCli(['--home', fac, 'export', '--to', drive, '--json'], { env: { FERRY_PASSPHRASE: 'not the passphrase' } });
  t.is(wrong.code, 2);
  t.is(wrong.json.error.code, 'passphrase-wrong');
  t.regex(wrong.json.error.message, /does not open the secret key of RW-001/);
  const none = runCli(['--home', fac, 'export', '--to', drive], { env: NO_PASSPHRASE });
  t.is(none.code, 2);
  t.regex(none.stderr, /passphrase of RW-001 is needed and there is no terminal/);
  t.regex(none.stderr, /hint: .*FERRY_PASSPHRASE/);
  t.false(existsSync(join(drive, 'FERRY', 'bundles')) && readdirSync(join(drive, 'FERRY', 'bundles')).length > 0);
  t.false(wrong.stderr.includes('not the passphrase'), 'the passphrase is never echoed');
  const ok = runCli(['--home', fac, 'export', '--to', drive, '--json']);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.json.written.length, 1);
});

test('status, identity and inspect need no passphrase', async (t) => {
  const { fac, hub, drive } = await facilityWithChanges(t);
  t.is(runCli(['--home', fac, 'export', '--to', drive]).code, 0);
  for (const [home, args] of [
    [fac, ['status']],
    [hub, ['status']],
    [fac, ['identity']],
    [hub, ['inspect', drive]],
  ] as const) {
    const r = runCli(['--home', home, ...args], { env: NO_PASSPHRASE });
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('FERRY_PASSPHRASE_FILE is read for unattended hubs, and refused when others can read it', async (t) => {
  const { fac, hub, drive, n } = await facilityWithChanges(t);
  t.is(runCli(['--home', fac, 'export', '--to', drive]).code, 0);
  const file = join(n.root, 'passphrase');
  writeFileSync(file, `${TEST_PASSPHRASE}\n`, { mode: 0o644 });
  chmodSync(file, 0o644);
  const exposed = runCli(['--home', hub, 'import', '--from', drive, '--json'], { env: { FERRY_PASSPHRASE: '', FERRY_PASSPHRASE_FILE: file } });
  t.is(exposed.code, 3);
  t.is(exposed.json.error.code, 'secret-key-exposed');
  t.regex(exposed.json.error.hint, /chmod 600/);
  chmodSync(file, 0o600);
  const r = runCli(['--home', hub, 'import', '--from', drive, '--json'], { env: { FERRY_PASSPHRASE: '', FERRY_PASSPHRASE_FILE: file } });
  t.is(r.code, 0, r.stderr);
  t.is(r.json.bundles[0].outcome, 'applied');
});

test('a secret key file that others can read is refused even with the right passphrase', async (t) => {
  const { fac, drive } = await facilityWithChanges(t);
  chmodSync(join(fac, 'secret-key.json'), 0o644);
  const r = runCli(['--home', fac, 'export', '--to', drive, '--json']);
  t.is(r.code, 3);
  t.is(r.json.error.code, 'secret-key-exposed');
  t.regex(r.json.error.message, /can be read by other users \(mode 644\)/);
});

test('passphrase change: the old one stops working, the new one works, peers notice nothing', async (t) => {
  const { fac, hub, drive } = await facilityWithChanges(t);
  const seedBefore = await unlockedSeed(fac);
  const fingerprint = runCli(['--home', fac, 'identity', '--json']).json.card.fingerprint;
  const tooShort = runCli(['--home', fac, 'passphrase', '--json'], { env: { FERRY_NEW_PASSPHRASE: 'short' } });
  t.is(tooShort.code, 2);
  t.is(tooShort.json.error.code, 'passphrase-too-short');
  const wrongOld = runCli(['--home', fac, 'passphrase', '--json'], { env: { FERRY_PASSPHRASE: 'not it at all', FERRY_NEW_PASSPHRASE: 'a brand new passphrase' } });
  t.is(wrongOld.code, 2);
  t.is(wrongOld.json.error.code, 'passphrase-wrong');
  const r = runCli(['--home', fac, 'passphrase', '--json'], { env: { FERRY_NEW_PASSPHRASE: 'a brand new passphrase' } });
  t.is(r.code, 0, r.stderr);
  t.is(r.json.fingerprint, fingerprint);
  t.false(r.json.was_plain);
  t.deepEqual(readdirSync(fac).filter((f) => f.startsWith('secret-key')), ['secret-key.json'], 'no temporary key file left');
  t.is(runCli(['--home', fac, 'export', '--to', drive, '--json']).json.error.code, 'passphrase-wrong');
  t.is(await unlockedSeed(fac, 'a brand new passphrase'), seedBefore, 'the same keys, sealed again');
  const exp = runCli(['--home', fac, 'export', '--to', drive], { env: { FERRY_PASSPHRASE: 'a brand new passphrase' } });
  t.is(exp.code, 0, exp.stderr);
  const imp = runCli(['--home', hub, 'import', '--from', drive, '--json']);
  t.is(imp.json.bundles[0].outcome, 'applied', 'the hub accepts bundles signed after the change');
  const log = sql<{ outcome: string; detail: string }>(join(fac, 'state.db'), "SELECT outcome, detail FROM ferry_audit WHERE action = 'passphrase'");
  t.is(log.length, 1);
  t.false(log[0]!.detail.includes('brand new'), 'the audit log never holds a passphrase');
});

test('a key file written before keys were sealed still opens, and `ferry passphrase` seals it', async (t) => {
  const { fac, drive } = await facilityWithChanges(t);
  const seed = await unlockedSeed(fac);
  const id = 'RW-001';
  const keys = await withSession(makeContext(fac), undefined, 'test', (s) => s.nodeKeys());
  const plain = { format: 'ferry-secret-key', version: 1, id, signing_seed: seed, encryption_secret: toB64(keys.encryptionSecretKey) };
  writeFileSync(join(fac, 'secret-key.json'), JSON.stringify(plain), { mode: 0o600 });
  const status = runCli(['--home', fac, 'status', '--json'], { env: NO_PASSPHRASE });
  t.is(status.json.secret_key, 'plain');
  t.is(runCli(['--home', fac, 'export', '--to', drive], { env: NO_PASSPHRASE }).code, 0, 'opens with no passphrase');
  const r = runCli(['--home', fac, 'passphrase', '--json'], { env: { ...NO_PASSPHRASE, FERRY_NEW_PASSPHRASE: 'sealed at last, 2026' } });
  t.is(r.code, 0, r.stderr);
  t.true(r.json.was_plain);
  t.false(readFileSync(join(fac, 'secret-key.json'), 'utf8').includes(seed));
  t.is(runCli(['--home', fac, 'status', '--json'], { env: NO_PASSPHRASE }).json.secret_key, 'sealed');
  t.is(await unlockedSeed(fac, 'sealed at last, 2026'), seed);
});

test('an edited key file is refused with a reason: absurd scrypt cost, another node’s sealed key', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], trackAll: true });
  const [a, b] = [n.sites[0]!.ctx.home, n.sites[1]!.ctx.home];
  const fileA = JSON.parse(readFileSync(join(a, 'secret-key.json'), 'utf8'));
  const fileB = JSON.parse(readFileSync(join(b, 'secret-key.json'), 'utf8'));
  writeFileSync(join(a, 'secret-key.json'), JSON.stringify({ ...fileA, kdf: { ...fileA.kdf, log_n: 30 } }), { mode: 0o600 });
  const costly = runCli(['--home', a, 'export', '--to', n.drive, '--json']);
  t.is(costly.code, 2);
  t.is(costly.json.error.code, 'secret-key-unreadable');
  t.regex(costly.json.error.message, /unsupported scrypt parameters \(log_n 30/);
  // B's sealed key under A's id: opens with the shared test passphrase, but is not A's key.
  writeFileSync(join(a, 'secret-key.json'), JSON.stringify({ ...fileB, id: 'RW-001' }), { mode: 0o600 });
  const swapped = runCli(['--home', a, 'export', '--to', n.drive, '--json']);
  t.is(swapped.code, 2);
  t.is(swapped.json.error.code, 'secret-key-unreadable');
  t.regex(swapped.json.error.message, /not the key of node RW-001/);
});
