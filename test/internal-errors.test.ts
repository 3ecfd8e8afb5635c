/** An unexpected error becomes `internal` without its own message: that message may quote the data that tripped it. */
import test from 'ava';
import { asFerryError, ErrorCodes } from '../src/core/errors.js';

const MARKER = 'ZZPATIENTMARKERZZ';

test('a bug keeps its class and code, never the text of the value that tripped it', (t) => {
  let parseError: unknown;
  try {
    JSON.parse(`{"name":"${MARKER}`);
  } catch (err) {
    parseError = err;
  }
  const sqlite = Object.assign(new Error(`near "${MARKER}": syntax error`), { name: 'SqliteError', code: 'SQLITE_ERROR' });
  const odd = Object.assign(new Error('x'), { code: `${MARKER} \x1b[2J` });
  for (const [err, shown] of [
    [new TypeError(`not an encoded SQLite value: {"blob":"${MARKER}"}`), 'internal error: TypeError'],
    [parseError, 'internal error: SyntaxError'],
    [sqlite, 'internal error: SqliteError SQLITE_ERROR'],
    [odd, 'internal error: Error'],
    [MARKER, 'internal error: string'],
  ] as const) {
    const e = asFerryError(err);
    t.is(e.code, ErrorCodes.INTERNAL);
    t.is(e.kind, 'bug');
    t.is(e.message, shown);
    t.false(JSON.stringify(e.toJSON()).includes(MARKER));
    t.is(e.cause, err, 'the whole error stays attached for FERRY_DEBUG');
  }
});
