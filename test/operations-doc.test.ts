/** Runs the `walkthrough` command blocks of docs/OPERATIONS.md, in order, as a shell script. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSyntheaDb } from '../src/tools/demo/synthea.js';
import { ROOT, tempDir } from './helpers/env.js';

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
  t.is(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  t.regex(r.stdout, /Safe to remove the drive/);
  t.regex(r.stdout, /key rotation: RW-017 now uses the key with fingerprint/);
  t.regex(r.stdout, /applied/);
  const imports = readFileSync(join(work, 'ferry-imports.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.true(imports.length >= 1);
  t.regex(r.stdout, /ok/);
});
