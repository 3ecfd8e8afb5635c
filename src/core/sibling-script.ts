/**
 * Starting a script that sits next to the module that starts it, in a worker thread or a child
 * process. ferry runs built (dist/, the script is .js) and under the test runner (src/, the
 * script is .ts and needs tsx's loader, a development dependency that is never loaded when the
 * .js is there). One place decides which, for every worker and child ferry starts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export interface SiblingScript {
  /** the script's file */
  file: string;
  /** node's flags to run it in a child process: tsx's loader for TypeScript */
  execArgv: string[];
}

/** `name` (without extension) next to the module whose `import.meta.url` is `base`. */
export function siblingScript(base: string, name: string): SiblingScript {
  const js = fileURLToPath(new URL(`./${name}.js`, base));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: fileURLToPath(new URL(`./${name}.ts`, base)), execArgv: ['--import', 'tsx'] };
}

/** Run the sibling script `name` in a worker thread. */
export function siblingWorker(base: string, name: string, options: WorkerOptions): Worker {
  const script = siblingScript(base, name);
  if (script.execArgv.length === 0) return new Worker(script.file, options);
  // A worker takes no --import: it registers tsx itself, then loads the script.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(new URL(`./${name}.ts`, base).href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
