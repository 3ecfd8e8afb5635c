/** Runs the `walkthrough` command blocks of docs/OPERATIONS.md, in order, as a shell script. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSyntheaDb } from '../src/tools/demo/synthea.js';
import { ROOT, runCli, tempDir } from './helpers/env.js';

export function walkthroughBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

test('every walkthrough command in docs/OPERATIONS.md works as written', (t) => {
  const blocks = walkthroughBlocks(readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8'));
  t.true(blocks.length >= 10, `found ${blocks.length} blocks`);
  const work = tempDir(t);
  const drive = join(work, 'media', 'usb');
  mkdirSync(drive, { recursive: true });
  const emr = join(work, 'emr.db');
  buildSyntheaDb(emr);
  const bin = join(work, 'bin');
  mkdirSync(bin);
  spawnSync('ln', ['-s', join(ROOT, 'bin', 'ferry'), join(bin, 'ferry')]);
  const script = `set -euo pipefail\n${blocks.map((b, i) => `echo "### block ${i + 1}"\n${b}`).join('\n')}`;
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      WORK: work,
      HUB_HOME: join(work, 'hub'),
      FAC_HOME: join(work, 'facility'),
      EMR_DB: emr,
      DRIVE: drive,
      MEDIA: join(work, 'media'),
      FERRY_HOME: '',
      // the document says how the passphrase is given; unlocking at the lowest scrypt cost keeps it fast
      FERRY_PASSPHRASE: '',
      FERRY_SCRYPT_LOG_N: '10',
    },
  });
  t.is(r.status, 0, `every command exits 0 as the walkthrough runs it:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);

  // What each step prints, as the document says, found by the command that starts its block.
  const outputs = r.stdout.split(/^### block \d+\n/m).slice(1);
  t.is(outputs.length, blocks.length);
  const out = (command: string): string => {
    const i = blocks.findIndex((b) => b.includes(command));
    if (i < 0) throw new Error(`no walkthrough block runs \`${command}\``);
    return outputs[i]!;
  };
  const fingerprint = (text: string, before: string) => new RegExp(`${before}\\s*([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})`).exec(text)?.[1];

  const hubInit = out('init --role hub');
  t.regex(hubInit, /^created hub HUB-KIGALI in /m);
  t.true(existsSync(join(work, 'HUB-KIGALI.card.json')), 'the hub card to copy onto a drive');
  const hubPrint = fingerprint(hubInit, 'fingerprint:');
  t.truthy(hubPrint);

  const facInit = out('init --role facility');
  t.regex(facInit, /^created facility RW-017 in /m);
  t.regex(facInit, /^hub HUB-KIGALI \(Kigali district hub\): now trusted$/m);
  t.is(fingerprint(facInit, 'now trusted\\n\\s*fingerprint:'), hubPrint, '`trust` prints the hub\'s fingerprint, to be read aloud');
  const facPrint = fingerprint(facInit, 'facility RW-017 \\(Kicukiro Health Centre\\)\\n\\s*fingerprint:');
  t.truthy(facPrint);

  const tracked = out('track --db');
  for (const [table, rows] of [['patients', 27], ['encounters', 604], ['organizations', 63], ['observations', 990], ['conditions', 438]] as const) {
    t.regex(tracked, new RegExp(`^${table} \\(key [^)]+\\): now tracked; ${rows} existing rows queued$`, 'm'), 'the rows that exist already are queued too');
  }
  t.regex(tracked, /^pending: 2122 change\(s\) not yet acknowledged by the hub$/m);

  const enrolled = out(`trust "$WORK/RW-017.card.json"`);
  t.regex(enrolled, /^facility RW-017 \(Kicukiro Health Centre\): now trusted$/m);
  t.is(fingerprint(enrolled, 'now trusted\\n\\s*fingerprint:'), facPrint);
  t.regex(enrolled, /^ {2}RW-017 +\S+ +0 bundle\(s\)/m);

  const exported = out('export --to "$DRIVE"\n');
  t.regex(exported, /^wrote RW-017\.1-2122\.[0-9a-f]+\.ferry-bundle: changes 1–2122, 2122 changes, \d+ bytes, read back and verified$/m);
  t.regex(exported, /^next: export to this drive now, then remove it\nDo not remove the drive yet\.$/m, 'import, with changes pending, says to export first');
  t.regex(exported, /Safe to remove the drive\.$/m);

  const inspected = out('inspect "$DRIVE"');
  t.regex(inspected, /^OK +bundle +RW-017\.1-2122\./m);
  t.regex(inspected, /RW-017 -> HUB-KIGALI +changes 1–2122/);
  t.notRegex(inspected, /PROBLEM/);

  const imported = out('import --from "$DRIVE"\nferry --home "$HUB_HOME" status');
  t.regex(imported, /^applied +RW-017\.1-2122\.[0-9a-f]+\.ferry-bundle: from RW-017, changes 1–2122: 2122 applied, 0 already had, 0 conflicts, 0 rejected$/m);
  t.regex(imported, /^ +ack written: RW-017\.1-2122\.[0-9a-f]+\.ferry-ack$/m);
  t.regex(imported, /^ {2}RW-017 +\S+ +1 bundle\(s\), up to change 2122/m);
  t.regex(imported, /^open conflicts: 0$/m);
  t.notRegex(imported, /have not arrived/, 'no gaps');

  // cron's line: one JSON line per drive, the bundle recognised as already applied.
  const watched = readFileSync(join(work, 'ferry-imports.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.is(watched.length, 1);
  t.is(watched[0].outcome, 'imported');
  t.deepEqual(watched[0].result.bundles.map((b: { outcome: string }) => b.outcome), ['already-applied']);
  const scripted = JSON.parse(readFileSync(join(work, 'import.json'), 'utf8'));
  t.true(scripted.ok);
  t.deepEqual(scripted.bundles.map((b: { outcome: string }) => b.outcome), ['already-applied']);

  t.regex(out('conflicts'), /^no open conflicts$/m);

  const rotated = out('rotate-keys');
  t.regex(rotated, /^rotated the keys of RW-017$/m);
  const newPrint = fingerprint(rotated, 'new fingerprint:');
  t.truthy(newPrint);
  t.not(newPrint, facPrint);
  t.regex(rotated, /^wrote this node's key rotation notice RW-017\.\S+\.ferry-rotation for HUB-KIGALI$/m);
  t.true(rotated.includes(`key rotation: RW-017 now uses the key with fingerprint ${newPrint} (was ${facPrint})`), rotated);
  t.regex(rotated, /^accepted RW-017\.\S+\.ferry-ack: HUB-KIGALI confirms changes 1–2122$/m, 'the hub signed its ack with its key; the facility checked it');
  t.regex(rotated, /^acks: 2 accepted; 2,122 change\(s\) confirmed; nothing pending: the hub has confirmed every change$/m, 'everything delivered');

  const changed = out('FERRY_NEW_PASSPHRASE');
  t.regex(changed, /^changed the passphrase of HUB-KIGALI$/m);
  t.is(fingerprint(changed, 'fingerprint unchanged:'), hubPrint, 'the same keys');
  const opens = (passphrase: string) => runCli(['--home', join(work, 'hub'), 'passphrase', '--json'], { env: { FERRY_PASSPHRASE: passphrase, FERRY_NEW_PASSPHRASE: passphrase, FERRY_SCRYPT_LOG_N: '10' } });
  t.is(opens('kigali hub, blue door').json.error.code, 'passphrase-wrong', 'the old passphrase no longer opens the keys');
  t.is(opens('kigali hub, green door').code, 0, 'the new one does');

  t.is(out('PRAGMA integrity_check').trim(), 'ok', 'the backup is a sound database');

  const log = out('" log').trim().split('\n');
  for (const entry of [/ init +ok +role=hub$/, / trust +added +RW-017 fingerprint=/, / import +applied +RW-017 \w+ applied=2122 already_present=0 conflicts=0 rejected=0$/, / key-rotation +accepted +RW-017 /, / passphrase +changed /]) {
    t.true(log.some((l) => entry.test(l)), `the audit log records ${entry}`);
  }
});
