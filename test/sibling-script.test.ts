/** Workers and child processes start from the built .js, or from the .ts through tsx under the test runner. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { siblingScript, siblingWorker } from '../src/core/sibling-script.js';
import { ROOT, tempDir } from './helpers/env.js';

test('built, the .js next to the module, run by plain node; in src, the .ts with tsx loaded', (t) => {
  const built = pathToFileURL(join(ROOT, 'dist', 'format', 'parallel-payload.js')).href;
  t.true(existsSync(join(ROOT, 'dist', 'format', 'payload-worker.js')), 'run `npm run build` first');
  t.deepEqual(siblingScript(built, 'payload-worker'), { file: join(ROOT, 'dist', 'format', 'payload-worker.js'), execArgv: [] });
  const source = pathToFileURL(join(ROOT, 'src', 'format', 'parallel-payload.ts')).href;
  t.deepEqual(siblingScript(source, 'payload-worker'), { file: join(ROOT, 'src', 'format', 'payload-worker.ts'), execArgv: ['--import', 'tsx'] });
});

test('a TypeScript sibling runs as a child process and as a worker thread', async (t) => {
  const dir = tempDir(t);
  // TypeScript only tsx can run (a type annotation), in an ES module package as ferry's is.
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'hello.ts'), "import { parentPort, workerData } from 'node:worker_threads';\nconst who: string = workerData ?? process.argv[2];\nif (parentPort) parentPort.postMessage(`hello ${who}`); else process.stdout.write(`hello ${who}`);\n");
  const base = pathToFileURL(join(dir, 'starter.ts')).href;
  const child = siblingScript(base, 'hello');
  t.is(execFileSync(process.execPath, [...child.execArgv, child.file, 'child'], { encoding: 'utf8', cwd: ROOT }), 'hello child');
  const worker = siblingWorker(base, 'hello', { workerData: 'worker' });
  t.is(await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)), 'hello worker');
  await worker.terminate();
});
