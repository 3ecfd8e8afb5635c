/**
 * A failure while a good bundle is read is blamed on the bundle only when it is the bundle's
 * fault. A bug in ferry's reader is rethrown as it is (exit 70, nothing quarantined) and a drive
 * that fails under the file is an I/O error (read again next time), never "the sender wrote an
 * inconsistent bundle". The failure is injected where the reader takes the payload's bytes.
 */
import test from 'ava';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { asFerryError, ErrorCodes, FerryError } from '../src/core/errors.js';
import { checkPayloadHash, openBundle, readPayloadRecords, type OpenedBundle } from '../src/format/bundle-reader.js';
import { isZipParseError, readFailure } from '../src/format/read-failure.js';
import { changeRecords, RECIPIENT_KEYS, writeBundle } from './helpers/bundles.js';
import { tempDir } from './helpers/env.js';

const eio = () => Object.assign(new Error('EIO: i/o error, read'), { errno: -5, code: 'EIO', syscall: 'read' });

/** The bundle with its payload failing with `err` after its first bytes. */
function failingPayload(b: OpenedBundle, err: () => Error): OpenedBundle {
  const real = b.payload.stream;
  return {
    ...b,
    payload: {
      ...b.payload,
      stream: () => {
        const src = real();
        let first = true;
        return new Readable({
          read() {
            if (!first) return void this.destroy(err());
            first = false;
            src.once('readable', () => {
              this.push(src.read(1000));
              src.destroy();
            });
          },
        });
      },
    },
  };
}

async function goodBundle(t: Parameters<typeof tempDir>[0]): Promise<OpenedBundle> {
  const path = join(tempDir(t), 'good.ferry-bundle');
  await writeBundle(path, changeRecords(50, { noise: 200 }));
  return openBundle(path);
}

const readAll = async (b: OpenedBundle) => {
  for await (const _ of readPayloadRecords(b, RECIPIENT_KEYS)) void _;
};

test('a bug while the payload is hashed is rethrown as a bug, not refused as a damaged zip', async (t) => {
  const b = failingPayload(await goodBundle(t), () => new TypeError('injected bug'));
  const err = await t.throwsAsync(checkPayloadHash(b));
  t.false(err instanceof FerryError, String(err));
  t.is(asFerryError(err).kind, 'bug');
});

test('a bug while the payload is decrypted and parsed is rethrown as a bug, not refused as payload-invalid', async (t) => {
  const b = failingPayload(await goodBundle(t), () => new TypeError('injected bug'));
  const err = await t.throwsAsync(readAll(b));
  t.false(err instanceof FerryError, String(err));
  t.is(asFerryError(err).kind, 'bug');
});

test('a drive that fails under the payload (EIO) is an I/O error of that file, in both reading passes', async (t) => {
  const b = failingPayload(await goodBundle(t), eio);
  for (const pass of [() => checkPayloadHash(b), () => readAll(b)]) {
    const err = await t.throwsAsync(pass());
    t.true(err instanceof FerryError, String(err));
    t.is((err as FerryError).kind, 'io', err?.message);
    t.is((err as FerryError).code, ErrorCodes.DRIVE_IO);
    t.is((err as FerryError).where, b.path);
  }
});

test('the container: unzipper’s parse errors are refusals, a failed read is I/O, anything else is rethrown', (t) => {
  const refusal = () => new FerryError(ErrorCodes.ZIP_INVALID, 'refused', 'not a zip');
  t.is(readFailure(new Error('FILE_ENDED'), 'f', isZipParseError, refusal).code, ErrorCodes.ZIP_INVALID);
  t.is(readFailure(eio(), 'f', isZipParseError, refusal).kind, 'io');
  const bug = new TypeError('x');
  t.is(t.throws(() => readFailure(bug, 'f', isZipParseError, refusal)), bug);
});
