import test from 'ava';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { exportChanges } from '../src/facility/export.js';
import { makeNetwork, runCli, tempDir } from './helpers/env.js';

test('ferry demo runs the whole loop and says what happened in plain words', (t) => {
  const dir = tempDir(t);
  const r = runCli(['demo', '--dir', join(dir, 'demo'), '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.json.pending_after, { 'RW-017': 0, 'RW-042': 0 });
  t.is(r.json.conflicts, 1, 'the transferred patient edited at both facilities');
  t.is(r.json.hub_rows.patients, 27);
  t.is(r.json.hub_rows.encounters, 603, 'one encounter deleted in round 2');
  const human = runCli(['demo', '--dir', join(dir, 'demo2')]);
  t.is(human.code, 0);
  for (const phrase of [/Round 1/, /read back and verified/, /Importing the same drive again changes nothing/, /conflict #1 on patients/, /Look around:/]) t.regex(human.stdout, phrase);
  t.notRegex(human.stdout, /"[A-Z]+":/, 'no row data printed');
});

test('inspect shows a courier what a drive holds, for whom, intact or not, with no node and no keys', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], trackAll: true });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const courierHome = join(tempDir(t), 'courier');
  mkdirSync(courierHome);
  const r = runCli(['--home', courierHome, 'inspect', n.drive, '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(r.json.items.length, 2);
  for (const i of r.json.items) {
    t.is(i.kind, 'bundle');
    t.is(i.recipient, 'HUB-1');
    t.true(i.intact);
    t.is(i.signature, 'unchecked');
    t.true(i.changes > 0);
    t.regex(i.created, /^\d{4}-/);
  }
  const hubView = runCli(['--home', n.hub.home, 'inspect', n.drive, '--json']);
  t.true(hubView.json.items.every((i: { signature: string }) => i.signature === 'trusted'));
  const human = runCli(['--home', courierHome, 'inspect', n.drive]);
  t.regex(human.stdout, /RW-001 -> HUB-1/);
  t.regex(human.stdout, /intact/);
  t.notRegex(human.stdout, /Maynard|Mosciski/, 'no patient data on the courier\'s screen');
});
