/**
 * Built SQL runs one statement at a time: better-sqlite3's prepare() refuses a string holding
 * two, so whatever slipped into a built string could never add a statement of its own. `exec`
 * (which runs every statement in a string) is kept for fixed text: module constants and string
 * literals without interpolation (BEGIN, COMMIT).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/env.js';

const FOLDERS = ['src/capture', 'src/state', 'src/apply', 'src/ops'];

test('capture, node state, the hub store and the use cases exec only fixed text; every built statement goes through prepare', (t) => {
  const offenders: string[] = [];
  let constants = 0;
  for (const folder of FOLDERS) {
    for (const file of readdirSync(join(ROOT, folder)).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(ROOT, folder, file), 'utf8');
      for (const m of text.matchAll(/\.exec\(([^)]*)\)/g)) {
        const arg = m[1]!.trim();
        if (/^'[^'$]*'$/.test(arg)) {
          constants++;
          continue;
        }
        const constant = /^[A-Z][A-Z0-9_]*$/.test(arg) ? new RegExp(`^const ${arg} = (\`[^\`]*\`|'[^']*');`, 'm').exec(text) : null;
        if (!constant || constant[1]!.includes('${')) offenders.push(`${folder}/${file}: .exec(${arg})`);
        else constants++;
      }
    }
  }
  t.deepEqual(offenders, []);
  t.true(constants >= 2, 'the schema constants are still found (the scan works)');
});
