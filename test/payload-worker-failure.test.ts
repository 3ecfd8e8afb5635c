/**
 * The payload worker failing for reasons of ferry's own is a bug (exit 70, nothing quarantined),
 * not a refusal of the bundle: a refusal would quarantine every good bundle on the drive because
 * of, say, a payload-worker.js missing after a move. Running out of memory stays a refusal (the
 * bundle's doing): test/format-limits.test.ts.
 */
import test from 'ava';
import { join } from 'node:path';
import { ErrorCodes, FerryError } from '../src/core/errors.js';
import { openBundle } from '../src/format/bundle-reader.js';
import { readPayloadInWorker } from '../src/format/parallel-payload.js';
import { changeRecords, RECIPIENT_KEYS, writeBundle } from './helpers/bundles.js';
import { tempDir } from './helpers/env.js';

test('a payload worker whose script is missing is a bug, not a refusal of the bundle', async (t) => {
  const path = join(tempDir(t), 'good.ferry-bundle');
  await writeBundle(path, changeRecords(3));
  const b = await openBundle(path);
  const read = async () => {
    for await (const _ of readPayloadInWorker(b, RECIPIENT_KEYS, { script: 'no-such-payload-worker' })) void _;
  };
  const err = await t.throwsAsync(read());
  t.true(err instanceof FerryError, String(err?.stack));
  t.is((err as FerryError).kind, 'bug', err?.message);
  t.is((err as FerryError).code, ErrorCodes.INTERNAL);
  t.regex(err!.message, /did not start \(Error ERR_MODULE_NOT_FOUND\)/);
  let records = 0;
  for await (const _ of readPayloadInWorker(b, RECIPIENT_KEYS)) records++;
  t.is(records, 4, 'the same bundle reads with the real worker');
});
