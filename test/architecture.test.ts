/**
 * The house rules of docs/ARCHITECTURE.md, checked: which folder of src/ may import which, and
 * which folders may load a database driver, a terminal library or the zip libraries.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { ROOT } from './helpers/env.js';

/** A folder may import folders of a lower rank only (and its own); equal ranks are siblings that must not import each other. */
export const LAYERS: Record<string, number> = {
  core: 0,
  format: 1,
  keys: 2,
  drive: 2,
  store: 3,
  capture: 3,
  node: 5,
  facility: 6,
  hub: 6,
  courier: 6,
  roles: 7,
  tools: 8,
  tui: 8,
  cli: 9,
};

/**
 * Where SQL may be: the stores, the EMR's change log, and the builders of the tools' throwaway
 * EMRs (the harness, the demo's Synthea EMR). The tools read a hub only through its HubStore, so
 * they work whichever store it uses. A folder ends with '/'; anything else names one file.
 */
const SQL_PLACES = ['store/', 'capture/', 'tools/harness/', 'tools/demo/synthea.ts'];
const inPlaces = (file: string, places: string[]): boolean => {
  const path = relative(SRC, file).split(sep).join('/');
  return places.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
};

/** Where a package may be loaded: folders of src/ (ending in '/') or single files. */
const PACKAGES: Record<string, string[]> = {
  'better-sqlite3': SQL_PLACES,
  ink: ['tui/'],
  react: ['tui/'],
  yargs: ['cli/'],
  archiver: ['format/'],
  unzipper: ['format/', 'tools/fuzz/'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

const SRC = join(ROOT, 'src');
const topFolder = (file: string): string => relative(SRC, file).split(sep)[0]!;
/** Every module a file names: `from` (imports and re-exports), `import(…)`, and side-effect imports, in either quotes. */
const IMPORT_SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)(['"])([^'"\n]+)\1/gm;
const imports = (text: string): string[] => [...text.matchAll(IMPORT_SPEC)].map((m) => m[2]!);

test('the import scan finds every form of import', (t) => {
  const sample = [
    "import { a } from './a.js';",
    'import type { B } from "../b.js";',
    "import './side-effect.js';",
    'import "../side-effect-too.js";',
    "export { c } from './c.js';",
    "const d = await import('./d.js');",
    'type E = import("better-sqlite3").Statement;',
    'import {',
    '  f,',
    "} from './f.js';",
  ].join('\n');
  t.deepEqual(imports(sample), ['./a.js', '../b.js', './side-effect.js', '../side-effect-too.js', './c.js', './d.js', 'better-sqlite3', './f.js']);
});

test('every folder of src/ has a place in the layers', (t) => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  t.deepEqual(folders.filter((f) => !(f in LAYERS)), []);
  t.deepEqual(readdirSync(SRC).filter((n) => !statSync(join(SRC, n)).isDirectory()), [], 'no loose files at the top of src/');
});

test('a folder imports only folders below it, so there are no cycles between folders', (t) => {
  const offenders: string[] = [];
  let edges = 0;
  for (const file of sourceFiles(SRC)) {
    const from = topFolder(file);
    for (const spec of imports(readFileSync(file, 'utf8')).filter((s) => s.startsWith('.'))) {
      const to = topFolder(normalize(join(dirname(file), spec)));
      if (to === from) continue;
      edges++;
      if (!(LAYERS[to]! < LAYERS[from]!)) offenders.push(`${relative(ROOT, file)} imports ${to}/ (${spec})`);
    }
  }
  t.deepEqual(offenders, []);
  t.true(edges > 100, 'the scan finds the imports between folders');
});

test('the tools inside tools/ do not import each other except through tools/harness', (t) => {
  const offenders: string[] = [];
  for (const file of sourceFiles(join(SRC, 'tools'))) {
    const own = relative(join(SRC, 'tools'), file).split(sep)[0]!;
    for (const spec of imports(readFileSync(file, 'utf8')).filter((s) => s.startsWith('.'))) {
      const target = relative(join(SRC, 'tools'), normalize(join(dirname(file), spec)));
      if (target.startsWith('..')) continue;
      const other = target.split(sep)[0]!;
      if (other !== own && other !== 'harness') offenders.push(`${relative(ROOT, file)} imports tools/${other}`);
    }
  }
  t.deepEqual(offenders, []);
});

test('a database driver, the terminal libraries, the CLI parser and the zip libraries load only where they belong', (t) => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of imports(readFileSync(file, 'utf8'))) {
      const allowed = PACKAGES[spec];
      if (allowed && !inPlaces(file, allowed)) offenders.push(`${relative(ROOT, file)} imports ${spec}`);
    }
  }
  t.deepEqual(offenders, []);
});

/** A statement prepared or run on a database handle; RegExp#exec on a regular-expression literal is not one. */
const SQL_CALL = /(?<![/)])\.(prepare|exec|transaction|pragma)\(/;

test("nothing outside store/, capture/ and the tools' EMR builders prepares or runs SQL", (t) => {
  const offenders: string[] = [];
  let scanned = 0;
  for (const file of sourceFiles(SRC)) {
    if (inPlaces(file, SQL_PLACES)) continue;
    scanned++;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (SQL_CALL.test(line)) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  t.deepEqual(offenders, []);
  t.true(scanned > 50, 'the scan reads the use cases, the CLI and the TUI');
  t.true(SQL_CALL.test("db.prepare('SELECT 1')") && SQL_CALL.test('s.state.exec(SCHEMA)') && !SQL_CALL.test('/^a$/.exec(text)'), 'the pattern finds a statement and not a regular expression');
});

test("the database handle's type does not leak into the use cases, the CLI or the TUI", (t) => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    if (!['node', 'facility', 'hub', 'courier', 'roles', 'cli', 'tui'].includes(topFolder(file))) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+(['"])([^'"]+)\2/g)) {
      if (/\b(store|capture)\//.test(m[3]!) && /\bDb\b/.test(m[1]!)) offenders.push(`${relative(ROOT, file)} imports Db from ${m[3]}`);
    }
  }
  t.deepEqual(offenders, []);
});
