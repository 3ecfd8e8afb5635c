/**
 * readPayloadRecords with the decrypting, decompressing and checking done in a worker thread,
 * so that a hub's import keeps both cores busy: the main thread parses the checked lines and
 * writes to SQLite while the worker prepares the next ones. Same records, same refusals.
 */
import type { Worker } from 'node:worker_threads';
import { asFerryError, ErrorCodes, FerryError, refusedError } from '../core/errors.js';
import { siblingWorker } from '../core/sibling-script.js';
import { MAX_RECORD_BYTES } from './constants.js';
import type { OpenedBundle } from './bundle-reader.js';
import type { PayloadWorkerData, PayloadWorkerMessage } from './payload-worker.js';
import type { PayloadRecord } from './records.js';
import { VERSION_1_SCOPE } from './record-checks.js';

function startWorker(workerData: PayloadWorkerData, maxOldGenerationSizeMb: number, script: string): Worker {
  // A small young generation: the worker's records are garbage at once, and V8's default lets
  // its heap (and the import's RSS) grow by tens of MB before collecting. The old generation
  // must hold the largest record the format allows several times over: its line (two bytes a
  // character when it holds any non-Latin-1 text), the parsed value, and the text sent on.
  const resourceLimits = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb };
  return siblingWorker(import.meta.url, script, { workerData, resourceLimits });
}

const WORKER_OLD_GENERATION_MB = Math.ceil((6 * MAX_RECORD_BYTES) / 2 ** 20) + 64;

/**
 * The worker stopped without reporting a result. Running out of memory is what a hostile bundle
 * can make it do, so that is the bundle's fault: a limit-exceeded refusal. Anything else is
 * ferry's: a worker that never started (a script missing after a move, an install that broke)
 * or one that failed outside the reader, which reports every refusal itself. Treating those as
 * refusals would quarantine every good bundle on the drive; a bug stops the import instead.
 */
function workerFailure(where: string, started: boolean, err: Error | undefined, exitCode: number | undefined): FerryError {
  if (started && (err as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return refusedError(ErrorCodes.LIMIT_EXCEEDED, `${where}: reading the payload needed more memory than the reader allows`, {
      where,
      cause: err,
      hint: 'the bundle goes beyond what ferry reads; it was not applied: ask the sender to export again with an up-to-date ferry',
    });
  }
  // Named by class and code only, as asFerryError names a bug: an error's message may quote data.
  const what = err ? asFerryError(err).message.replace(/^internal error: /, '') : `exit ${exitCode}`;
  return new FerryError(ErrorCodes.INTERNAL, 'bug', `internal error: the payload reader ${started ? 'stopped without a result' : 'did not start'} (${what})`, {
    where,
    ...(err ? { cause: err } : {}),
    hint: started
      ? 'this is a bug in ferry, not a fault of the bundle: nothing was applied or quarantined; please report it (FERRY_DEBUG=1 shows the details)'
      : 'ferry could not start its payload reader: its installation is incomplete or broken; nothing was applied or quarantined; reinstall ferry (FERRY_DEBUG=1 shows the details)',
  });
}

export async function* readPayloadInWorker(
  b: OpenedBundle,
  recipient: { encryptionSecretKey: Uint8Array; encryptionKey: Uint8Array },
  o: {
    /** tests only: a smaller heap, to see a worker that runs out of memory refused as such */
    maxOldGenerationSizeMb?: number;
    /** tests only: another sibling script (one that is missing, to see a worker that cannot start) */
    script?: string;
  } = {},
): AsyncGenerator<PayloadRecord> {
  const data = { path: b.path, manifestBytes: b.manifestBytes, encryptionSecretKey: recipient.encryptionSecretKey, encryptionKey: recipient.encryptionKey };
  const where = `${b.path}:payload.bin`;
  const version1 = b.manifest.version === 1;
  let worker: Worker;
  try {
    worker = startWorker(data, o.maxOldGenerationSizeMb ?? WORKER_OLD_GENERATION_MB, o.script ?? 'payload-worker');
  } catch (err) {
    throw workerFailure(where, false, err as Error, undefined);
  }
  const inbox: Array<Exclude<PayloadWorkerMessage, { type: 'ready' }>> = [];
  let started = false;
  let failure: FerryError | undefined;
  let notify: (() => void) | undefined;
  worker.on('message', (m: PayloadWorkerMessage) => {
    if (m.type === 'ready') started = true;
    else inbox.push(m);
    notify?.();
  });
  worker.on('error', (err) => {
    failure ??= workerFailure(where, started, err, undefined);
    notify?.();
  });
  worker.on('exit', (code) => {
    failure ??= workerFailure(where, started, undefined, code);
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
      for (const line of m.text.split('\n')) {
        const r = JSON.parse(line) as PayloadRecord;
        // The worker checked the line and read a version 1 table as facility-owned, but only the line travels.
        if (version1 && r.kind === 'table') r.scope = VERSION_1_SCOPE;
        yield r;
      }
    }
  } finally {
    await worker.terminate();
  }
}
