/**
 * readPayloadRecords with the decrypting, decompressing and checking done in a worker thread,
 * so that a hub's import keeps both cores busy: the main thread parses the checked lines and
 * writes to SQLite while the worker prepares the next ones. Same records, same refusals.
 */
import type { Worker } from 'node:worker_threads';
import { ErrorCodes, FerryError, refusedError } from '../core/errors.js';
import { siblingWorker } from '../core/sibling-script.js';
import { MAX_RECORD_BYTES } from './constants.js';
import type { OpenedBundle } from './bundle-reader.js';
import type { PayloadWorkerData, PayloadWorkerMessage } from './payload-worker.js';
import type { PayloadRecord } from './records.js';

function startWorker(workerData: PayloadWorkerData, maxOldGenerationSizeMb: number): Worker {
  // A small young generation: the worker's records are garbage at once, and V8's default lets
  // its heap (and the import's RSS) grow by tens of MB before collecting. The old generation
  // must hold the largest record the format allows several times over: its line (two bytes a
  // character when it holds any non-Latin-1 text), the parsed value, and the text sent on.
  const resourceLimits = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb };
  return siblingWorker(import.meta.url, 'payload-worker', { workerData, resourceLimits });
}

const WORKER_OLD_GENERATION_MB = Math.ceil((6 * MAX_RECORD_BYTES) / 2 ** 20) + 64;

/**
 * The worker stopped without reporting (out of memory, or killed): a typed refusal, never a bug
 * report, since what a hostile bundle makes the worker do is not ferry's fault to report as such.
 */
function workerFailure(where: string, err: Error | undefined, exitCode: number | undefined): FerryError {
  if ((err as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return refusedError(ErrorCodes.LIMIT_EXCEEDED, `${where}: reading the payload needed more memory than the reader allows`, {
      where,
      cause: err,
      hint: 'the bundle goes beyond what ferry reads; it was not applied: ask the sender to export again with an up-to-date ferry',
    });
  }
  return refusedError(ErrorCodes.PAYLOAD_INVALID, `${where}: the payload reader stopped (${err ? (err as { code?: string }).code ?? err.message : `exit ${exitCode}`})`, {
    where,
    ...(err ? { cause: err } : {}),
    hint: 'the bundle was not applied; if this repeats with a bundle from an honest sender, report it',
  });
}

export async function* readPayloadInWorker(
  b: OpenedBundle,
  recipient: { encryptionSecretKey: Uint8Array; encryptionKey: Uint8Array },
  /** tests only: a smaller heap, to see a worker that runs out of memory refused as such */
  o: { maxOldGenerationSizeMb?: number } = {},
): AsyncGenerator<PayloadRecord> {
  const data = { path: b.path, manifestBytes: b.manifestBytes, encryptionSecretKey: recipient.encryptionSecretKey, encryptionKey: recipient.encryptionKey };
  const worker = startWorker(data, o.maxOldGenerationSizeMb ?? WORKER_OLD_GENERATION_MB);
  const inbox: PayloadWorkerMessage[] = [];
  let failure: FerryError | undefined;
  const where = `${b.path}:payload.bin`;
  let notify: (() => void) | undefined;
  worker.on('message', (m: PayloadWorkerMessage) => {
    inbox.push(m);
    notify?.();
  });
  worker.on('error', (err) => {
    failure ??= workerFailure(where, err, undefined);
    notify?.();
  });
  worker.on('exit', (code) => {
    failure ??= workerFailure(where, undefined, code);
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
