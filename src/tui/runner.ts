/**
 * Child process for the TUI's heavy work (better-sqlite3 blocks its thread): runs one export or
 * import and reports progress and the result over IPC. A 'cancel' message aborts it at the
 * operation's next safe point.
 */
import { asFerryError } from '../errors.js';
import { makeContext } from '../ops/context.js';
import { exportChanges } from '../ops/export.js';
import { importDrive } from '../ops/import.js';

const [op, home, drive] = process.argv.slice(2) as ['export' | 'import', string, string];
const controller = new AbortController();
process.on('message', (m) => {
  if (m === 'cancel') controller.abort();
});
process.on('SIGTERM', () => controller.abort());
let last = 0;
const ctx = makeContext(home, {
  signal: controller.signal,
  progress: (e) => {
    const now = Date.now();
    // A few updates a second are enough for a person and cheap over SSH.
    if (now - last < 150 && !e.item) return;
    last = now;
    process.send?.({ type: 'progress', event: e });
  },
});
try {
  const result = op === 'export' ? await exportChanges(ctx, { to: drive }) : await importDrive(ctx, { from: drive });
  process.send?.({ type: 'done', result });
} catch (err) {
  process.send?.({ type: 'error', error: asFerryError(err).toJSON() });
} finally {
  process.disconnect?.();
}
