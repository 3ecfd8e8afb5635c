import test from 'ava';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { fingerprintOf } from '../src/format/identity.js';
import { getPeer, listPeers } from '../src/store/trust-store.js';
import { openStateDb } from '../src/store/state-db.js';
import { runCli, tempDir } from './helpers/env.js';

function nodes(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const hub = join(dir, 'hub');
  const fac = join(dir, 'fac');
  runCli(['--home', hub, 'init', '--role', 'hub', '--id', 'HUB-1', '--name', 'Kigali hub']);
  runCli(['--home', fac, 'init', '--role', 'facility', '--id', 'RW-017']);
  runCli(['--home', hub, 'identity', '--out', join(dir, 'hub.card')]);
  runCli(['--home', fac, 'identity', '--out', join(dir, 'fac.card')]);
  return { dir, hub, fac, hubCard: join(dir, 'hub.card'), facCard: join(dir, 'fac.card') };
}

test('init creates keys readable by the owner only, and prints the fingerprint', (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'n');
  const r = runCli(['--home', home, 'init', '--role', 'facility', '--id', 'RW-017', '--json']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.json.fingerprint, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  t.is(statSync(join(home, 'secret-key.json')).mode & 0o777, 0o600);
  const card = JSON.parse(readFileSync(join(home, 'identity.json'), 'utf8'));
  t.is(card.fingerprint, r.json.fingerprint);
  t.deepEqual(Object.keys(card).sort(), ['created', 'encryption_key', 'fingerprint', 'format', 'id', 'name', 'role', 'signing_key', 'version'], 'the card holds public keys only');
});

test('init refuses to overwrite a node, and refuses a bad id, with exit code 2', (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'n');
  t.is(runCli(['--home', home, 'init', '--role', 'hub', '--id', 'HUB-1']).code, 0);
  const before = readFileSync(join(home, 'secret-key.json'), 'utf8');
  const again = runCli(['--home', home, 'init', '--role', 'hub', '--id', 'HUB-2']);
  t.is(again.code, 2);
  t.regex(again.stderr, /already holds a ferry node/);
  t.regex(again.stderr, /hint:/);
  t.is(readFileSync(join(home, 'secret-key.json'), 'utf8'), before);
  for (const bad of ['RW:017', '../x', 'a b', '', 'x.']) {
    const r = runCli(['--home', join(dir, `bad${bad.length}`), 'init', '--role', 'hub', '--id', bad, '--json']);
    t.is(r.code, 2, bad);
    t.false(r.json.ok);
    t.true(['node-id-invalid', 'usage'].includes(r.json.error.code), bad);
  }
});

test('trust prints the fingerprint to compare aloud; trusting twice changes nothing', (t) => {
  const n = nodes(t);
  const r = runCli(['--home', n.fac, 'trust', n.hubCard]);
  t.is(r.code, 0, r.stderr);
  const hubFp = JSON.parse(readFileSync(n.hubCard, 'utf8')).fingerprint;
  t.true(r.stdout.includes(hubFp));
  t.regex(r.stdout, /aloud/);
  const again = runCli(['--home', n.fac, 'trust', n.hubCard, '--json']);
  t.is(again.json.outcome, 'unchanged');
});

test('trust refuses a card of the wrong role, a malformed card, and an altered fingerprint', (t) => {
  const n = nodes(t);
  const wrongRole = runCli(['--home', n.hub, 'trust', n.hubCard, '--json']);
  t.is(wrongRole.code, 3);
  t.is(wrongRole.json.error.code, 'card-wrong-role');
  const bad = join(n.dir, 'bad.card');
  writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(n.facCard, 'utf8')), signing_key: 'short' }));
  const malformed = runCli(['--home', n.hub, 'trust', bad, '--json']);
  t.is(malformed.json.error.code, 'card-invalid');
  t.regex(malformed.json.error.message, /signing_key/, 'the failing field is named');
  const card = JSON.parse(readFileSync(n.facCard, 'utf8'));
  writeFileSync(bad, JSON.stringify({ ...card, fingerprint: 'AAAA-AAAA-AAAA-AAAA' }));
  t.is(runCli(['--home', n.hub, 'trust', bad, '--json']).json.error.code, 'card-invalid');
  writeFileSync(bad, 'not json');
  const notJson = runCli(['--home', n.hub, 'trust', bad]);
  t.is(notJson.code, 3);
  t.notRegex(notJson.stderr, /at .*\.js:\d+/, 'no stack trace');
});

test('a different key under a trusted id is refused unless --replace is given', (t) => {
  const n = nodes(t);
  t.is(runCli(['--home', n.hub, 'trust', n.facCard]).code, 0);
  const other = join(n.dir, 'fac2');
  runCli(['--home', other, 'init', '--role', 'facility', '--id', 'rw-017']);
  const card2 = join(n.dir, 'fac2.card');
  runCli(['--home', other, 'identity', '--out', card2]);
  const r = runCli(['--home', n.hub, 'trust', card2, '--json']);
  t.is(r.code, 3);
  t.is(r.json.error.code, 'peer-key-changed', 'ids that differ only by case are the same peer');
  const replaced = runCli(['--home', n.hub, 'trust', card2, '--replace', '--json']);
  t.is(replaced.code, 0);
  t.is(replaced.json.outcome, 'replaced');
  t.truthy(replaced.json.previous_fingerprint);
  t.is(replaced.json.peer.id, 'RW-017', 'the peer keeps the id it was trusted as');
  const state = openStateDb(n.hub);
  t.teardown(() => state.close());
  t.is(getPeer(state, 'rw-017')?.id, 'RW-017', "a lookup in any case gives the trusted peer's exact id");
  t.deepEqual(listPeers(state).map((p) => p.id), ['RW-017']);
});

test('a revoked facility\'s card is refused with peer-revoked, and re-enrolled only with --reinstate, which the log records', (t) => {
  const n = nodes(t);
  runCli(['--home', n.hub, 'trust', n.facCard]);
  runCli(['--home', n.hub, 'revoke', 'RW-017', '--reason', 'laptop stolen']);
  const again = runCli(['--home', n.hub, 'trust', n.facCard]);
  t.is(again.code, 2);
  t.regex(again.stderr, /error: RW-017 was revoked on .* \(laptop stolen\)/);
  t.regex(again.stderr, /hint: .*--reinstate/);
  // A new key, under the id in another case: the same revoked peer.
  const other = join(n.dir, 'fac2');
  runCli(['--home', other, 'init', '--role', 'facility', '--id', 'rw-017']);
  const card2 = join(n.dir, 'fac2.card');
  runCli(['--home', other, 'identity', '--out', card2]);
  const newKey = runCli(['--home', n.hub, 'trust', card2, '--json']);
  t.is(newKey.code, 2);
  t.is(newKey.json.error.code, 'peer-revoked');
  t.is(runCli(['--home', n.hub, 'trust', card2, '--replace', '--json']).json.error.code, 'peer-revoked', '--replace is not --reinstate');
  const reinstated = runCli(['--home', n.hub, 'trust', card2, '--reinstate', '--json']);
  t.is(reinstated.code, 0, reinstated.stderr);
  t.is(reinstated.json.outcome, 're-enrolled');
  t.is(reinstated.json.peer.id, 'RW-017');
  const fp2 = JSON.parse(readFileSync(card2, 'utf8')).fingerprint;
  t.is(reinstated.json.peer.fingerprint, fp2);
  const log = runCli(['--home', n.hub, 'log', '--json']);
  const entry = log.json.entries.find((e: { action: string }) => e.action === 'reinstate');
  t.truthy(entry, 'the reinstatement is in the log');
  t.is(entry.peer, 'RW-017');
  t.is(entry.detail.fingerprint, fp2);
  t.is(runCli(['--home', n.hub, 'revoke', 'RW-017', '--json']).json.outcome, 'revoked', 'trusted again, so it can be revoked again');
});

/** `card` under another id, and optionally with a new encryption key (fingerprint recomputed: a valid card). */
function editedCard(dir: string, card: string, id: string, newEncryptionKey = false): string {
  const c = JSON.parse(readFileSync(card, 'utf8'));
  c.id = id;
  if (newEncryptionKey) {
    c.encryption_key = Buffer.from(nacl.box.keyPair().publicKey).toString('base64');
    c.fingerprint = fingerprintOf(Buffer.from(c.signing_key, 'base64'), Buffer.from(c.encryption_key, 'base64'));
  }
  const out = join(dir, `${id}-${newEncryptionKey ? 'half' : 'same'}.card`);
  writeFileSync(out, JSON.stringify(c));
  return out;
}

test("a revoked facility's keys under another id are refused with peer-revoked, even with --reinstate; the hint names the revoked id", (t) => {
  const n = nodes(t);
  runCli(['--home', n.hub, 'trust', n.facCard]);
  runCli(['--home', n.hub, 'revoke', 'RW-017', '--reason', 'laptop stolen']);
  const renamed = editedCard(n.dir, n.facCard, 'RW-017.');
  const r = runCli(['--home', n.hub, 'trust', renamed]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /error: the card for RW-017\. carries the keys of RW-017; RW-017 was revoked on .* \(laptop stolen\)/);
  t.regex(r.stderr, /hint: .*RW-017.*--reinstate.*RW-017/);
  t.is(runCli(['--home', n.hub, 'trust', renamed, '--json']).json.error.code, 'peer-revoked');
  t.is(runCli(['--home', n.hub, 'trust', renamed, '--reinstate', '--json']).json.error.code, 'peer-revoked', 'reinstating is for the revoked id, not a new one');
  // Its signing key alone, beside a new encryption key: still the revoked signer.
  const half = runCli(['--home', n.hub, 'trust', editedCard(n.dir, n.facCard, 'RW-900', true), '--json']);
  t.is(half.json.error.code, 'peer-revoked');
  const state = openStateDb(n.hub);
  t.teardown(() => state.close());
  t.deepEqual(listPeers(state).map((p) => [p.id, Boolean(p.revoked)]), [['RW-017', true]], 'nothing enrolled');
});

test('keys already trusted under another id, now or before a rotation, are refused: one key is one peer', (t) => {
  const n = nodes(t);
  runCli(['--home', n.hub, 'trust', n.facCard]);
  const twin = runCli(['--home', n.hub, 'trust', editedCard(n.dir, n.facCard, 'RW-018'), '--json']);
  t.is(twin.code, 2);
  t.is(twin.json.error.code, 'card-invalid');
  t.regex(twin.json.error.message, /the card for RW-018 carries the keys of RW-017, whom this node trusts already/);
  t.regex(twin.json.error.hint, /keys of its own/);
  // The facility rotates; the hub reads the notice. Its old keys under a new id are refused too.
  const drive = join(n.dir, 'drive');
  mkdirSync(drive);
  t.is(runCli(['--home', n.fac, 'rotate-keys', '--drive', drive]).code, 0);
  runCli(['--home', n.fac, 'trust', n.hubCard]);
  const imp = runCli(['--home', n.hub, 'import', '--from', drive, '--json']);
  t.is(imp.json.rotations[0].outcome, 'accepted', imp.stdout);
  const old = runCli(['--home', n.hub, 'trust', editedCard(n.dir, n.facCard, 'RW-019'), '--json']);
  t.is(old.json.error.code, 'card-invalid');
  t.regex(old.json.error.message, /keys RW-017 used until its key rotation on /);
  const state = openStateDb(n.hub);
  t.teardown(() => state.close());
  t.deepEqual(listPeers(state).map((p) => p.id), ['RW-017']);
});

test('revoke marks a facility revoked and is recorded in the log', (t) => {
  const n = nodes(t);
  runCli(['--home', n.hub, 'trust', n.facCard]);
  const r = runCli(['--home', n.hub, 'revoke', 'RW-017', '--reason', 'laptop stolen', '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(r.json.outcome, 'revoked');
  t.is(runCli(['--home', n.hub, 'revoke', 'RW-017', '--json']).json.outcome, 'already-revoked');
  t.is(runCli(['--home', n.hub, 'revoke', 'RW-999', '--json']).json.error.code, 'peer-unknown');
  t.is(runCli(['--home', n.fac, 'revoke', 'HUB-1', '--json']).json.error.code, 'wrong-role');
  const log = runCli(['--home', n.hub, 'log', '--json']);
  t.true(log.json.entries.some((e: { action: string; outcome: string }) => e.action === 'revoke' && e.outcome === 'revoked'));
});

test('usage errors exit 2 with a hint; --json failures are JSON', (t) => {
  const r = runCli(['frobnicate']);
  t.is(r.code, 2);
  t.regex(r.stderr, /ferry: error:/);
  t.regex(r.stderr, /ferry: hint:/);
  const j = runCli(['status', '--home', '/nonexistent/ferry', '--json']);
  t.is(j.code, 2);
  t.is(j.json.ok, false);
  t.is(j.json.error.code, 'home-missing');
  t.truthy(j.json.error.hint);
});
