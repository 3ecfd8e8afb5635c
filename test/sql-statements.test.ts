/**
 * Built SQL runs one statement at a time: better-sqlite3's prepare() refuses a string holding
 * two, so whatever slipped into a built string could never add a statement of its own. `exec`
 * (which runs every statement in a string) is kept for fixed text: module constants and string
 * literals without interpolation (BEGIN, COMMIT).
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers/env.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

test('nothing in src/ execs built text; every built statement goes through prepare', (t) => {
  const offenders: string[] = [];
  let constants = 0;
  {
    // tools/ builds throwaway EMR fixtures from fixed text; format/ has no database (its .exec is RegExp's)
    for (const path of sourceFiles(join(ROOT, 'src')).filter((p) => !/src\/(tools|format)\//.test(p))) {
      const file = relative(ROOT, path);
      const text = readFileSync(path, 'utf8');
      for (const m of text.matchAll(/\.exec\(([^)]*)\)/g)) {
        const arg = m[1]!.trim();
        if (/^'[^'$]*'$/.test(arg)) {
          constants++;
          continue;
        }
        const constant = /^[A-Z][A-Z0-9_]*$/.test(arg) ? new RegExp(`^const ${arg} = (\`[^\`]*\`|'[^']*');`, 'm').exec(text) : null;
        if (!constant || constant[1]!.includes('${')) offenders.push(`${file}: .exec(${arg})`);
        else constants++;
      }
    }
  }
  t.deepEqual(offenders, []);
  t.true(constants >= 2, 'the schema constants are still found (the scan works)');
});
