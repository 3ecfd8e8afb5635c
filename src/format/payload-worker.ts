/**
 * Worker thread for readPayloadInWorker: decrypts, decompresses, parses and checks a bundle's
 * payload (readPayloadBatches, every check included) and passes the checked lines to the main
 * thread, which only has to JSON.parse them again. A few batches ahead at most.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { asFerryError, ErrorCodes, refusedError } from '../core/errors.js';
import { openBundle, readPayloadBatches } from './bundle-reader.js';

export interface PayloadWorkerData {
  path: string;
  /** the manifest the main thread verified: the worker reads the same file, and checks it is the same */
  manifestBytes: Uint8Array;
  encryptionSecretKey: Uint8Array;
  encryptionKey: Uint8Array;
}

export type PayloadWorkerMessage =
  /** its modules loaded: from here on, running out of memory is the bundle's doing */
  | { type: 'ready' }
  | { type: 'lines'; text: string }
  | { type: 'end' }
  | { type: 'error'; error: ReturnType<ReturnType<typeof asFerryError>['toJSON']> };

/** Batches in flight before the worker waits for the main thread: bounds memory when SQLite is the slower side. */
const WINDOW = 4;
/** Larger batches were no faster and let the main thread's heap grow by tens of MB. */
const BATCH_CHARS = 64 * 1024;

const port = parentPort!;
const data = workerData as PayloadWorkerData;
let credits = WINDOW;
let wake: (() => void) | undefined;
port.on('message', (m) => {
  if (m === 'more') {
    credits++;
    wake?.();
  }
});
const send = async (m: PayloadWorkerMessage) => {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
  port.postMessage(m);
};

port.postMessage({ type: 'ready' } satisfies PayloadWorkerMessage);
try {
  const b = await openBundle(data.path);
  if (Buffer.compare(Buffer.from(b.manifestBytes), Buffer.from(data.manifestBytes)) !== 0) {
    throw refusedError(ErrorCodes.MANIFEST_INVALID, `${data.path} changed while it was being imported`, { where: data.path, hint: 'import the drive again' });
  }
  let pending: string[] = [];
  let chars = 0;
  for await (const batch of readPayloadBatches(b, data)) {
    for (const line of batch.lines) {
      pending.push(line);
      chars += line.length;
    }
    if (chars >= BATCH_CHARS) {
      await send({ type: 'lines', text: pending.join('\n') });
      pending = [];
      chars = 0;
    }
  }
  if (pending.length) await send({ type: 'lines', text: pending.join('\n') });
  port.postMessage({ type: 'end' } satisfies PayloadWorkerMessage);
} catch (err) {
  port.postMessage({ type: 'error', error: asFerryError(err).toJSON() } satisfies PayloadWorkerMessage);
}
