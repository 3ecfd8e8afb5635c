/**
 * readPayloadRecords with the decrypting, decompressing and checking done in a worker thread,
 * so that a hub's import keeps both cores busy: the main thread parses the checked lines and
 * writes to SQLite while the worker prepares the next ones. Same records, same refusals.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FerryError } from '../errors.js';
import type { OpenedBundle } from './bundle-reader.js';
import type { PayloadWorkerData, PayloadWorkerMessage } from './payload-worker.js';
import type { PayloadRecord } from './records.js';

function startWorker(workerData: PayloadWorkerData): Worker {
  // A small young generation: the worker's records are garbage at once, and V8's default lets
  // its heap (and the import's RSS) grow by tens of MB before collecting.
  const resourceLimits = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 48 };
  const js = new URL('./payload-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData, resourceLimits });
  // Under the test runner this module is TypeScript: the worker registers tsx, then loads it.
  const tsx = import.meta.resolve('tsx/esm/api');
  const ts = new URL('./payload-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}

export async function* readPayloadInWorker(
  b: OpenedBundle,
  recipient: { encryptionSecretKey: Uint8Array; encryptionKey: Uint8Array },
): AsyncGenerator<PayloadRecord> {
  const worker = startWorker({ path: b.path, manifestBytes: b.manifestBytes, encryptionSecretKey: recipient.encryptionSecretKey, encryptionKey: recipient.encryptionKey });
  const inbox: PayloadWorkerMessage[] = [];
  let failure: Error | undefined;
  let notify: (() => void) | undefined;
  worker.on('message', (m: PayloadWorkerMessage) => {
    inbox.push(m);
    notify?.();
  });
  worker.on('error', (err) => {
    failure = err;
    notify?.();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the payload worker stopped (exit ${code})`);
    notify?.();
  });
  try {
    for (;;) {
      while (inbox.length === 0 && !failure) await new Promise<void>((resolve) => (notify = resolve));
      const m = inbox.shift();
      if (!m) throw failure!;
      if (m.type === 'end') return;
      if (m.type === 'error') throw new FerryError(m.error.code, m.error.kind, m.error.message, { ...(m.error.hint ? { hint: m.error.hint } : {}), ...(m.error.where ? { where: m.error.where } : {}) });
      worker.postMessage('more'); // the worker prepares the next batch while these are applied
      for (const line of m.text.split('\n')) yield JSON.parse(line) as PayloadRecord;
    }
  } finally {
    await worker.terminate();
  }
}
