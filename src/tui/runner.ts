/**
 * Child process for the TUI's heavy work (better-sqlite3 blocks its thread): runs one export or
 * import and reports progress and the result over IPC. A 'cancel' message aborts it at the
 * operation's next safe point.
 */
import { asFerryError } from '../core/errors.js';
import { makeContext } from '../node/context.js';
import { exportDrive } from '../roles/export.js';
import { importDrive } from '../roles/import.js';
import { envPassphrase, fixedPassphrase } from '../node/passphrase.js';

const [op, home, drive] = process.argv.slice(2) as ['export' | 'import', string, string];
const controller = new AbortController();
// The TUI asked for the passphrase once, before its screen opened; it comes over IPC, never argv or env.
let startWith: (m: { passphrase?: string }) => void;
const started = new Promise<{ passphrase?: string }>((resolve) => (startWith = resolve));
process.on('message', (m: unknown) => {
  if (m === 'cancel') controller.abort();
  else if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'start') startWith(m as { passphrase?: string });
});
const { passphrase } = await started;
process.on('SIGTERM', () => controller.abort());
let last = 0;
const ctx = makeContext(home, {
  signal: controller.signal,
  passphrase: passphrase === undefined ? envPassphrase() : fixedPassphrase(passphrase),
  progress: (e) => {
    const now = Date.now();
    // A few updates a second are enough for a person and cheap over SSH.
    if (now - last < 150 && !e.item) return;
    last = now;
    process.send?.({ type: 'progress', event: e });
  },
});
try {
  const result = op === 'export' ? await exportDrive(ctx, { to: drive }) : await importDrive(ctx, { from: drive });
  process.send?.({ type: 'done', result });
} catch (err) {
  process.send?.({ type: 'error', error: asFerryError(err).toJSON() });
} finally {
  process.disconnect?.();
}
