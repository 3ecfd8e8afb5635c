/**
 * Asking a person for a passphrase on the terminal: nothing echoed, Ctrl-C cancels, a new
 * passphrase is typed twice. Used only when stdin is a terminal; scripts use FERRY_PASSPHRASE.
 */
import { ErrorCodes, FerryError, usageError } from '../core/errors.js';
import { MIN_PASSPHRASE_CHARS } from '../keys/sealed-secret.js';
import type { PassphraseSource } from '../node/passphrase.js';

const cancelled = () => new FerryError(ErrorCodes.CANCELLED, 'cancelled', 'cancelled at the passphrase prompt; nothing was changed', { hint: 'run it again when you have the passphrase' });

/** Read one line without echo. Backspace edits, Ctrl-U clears, Ctrl-C (or Ctrl-D on an empty line) cancels. */
export function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    let typed: string[] = [];
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed.join(''));
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\x03' || (ch === '\x04' && typed.length === 0)) return finish(cancelled());
        if (ch === '\x7f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch === '\x15') typed = [];
        else if (ch >= ' ') typed.push(ch);
      }
    };
    input.on('data', onData);
  });
}

/** A PassphraseSource that asks on the terminal; answers nothing when stdin is not one. */
export function terminalPassphrase(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): PassphraseSource {
  return async ({ purpose, node, attempt }) => {
    if (!input.isTTY) return undefined;
    if (purpose === 'unlock') {
      if (attempt > 1) output.write('that passphrase does not open the key; try again\n');
      return { passphrase: await readHidden(`passphrase for ${node}: `, input, output), canRetry: true };
    }
    const what = purpose === 'create' ? `new passphrase to protect the keys of ${node}` : `new passphrase for ${node}`;
    for (let round = 1; round <= 3; round++) {
      const first = await readHidden(`${what} (at least ${MIN_PASSPHRASE_CHARS} characters): `, input, output);
      if ([...first.normalize('NFC')].length < MIN_PASSPHRASE_CHARS) {
        output.write(`too short: use at least ${MIN_PASSPHRASE_CHARS} characters, e.g. a few unrelated words\n`);
        continue;
      }
      const second = await readHidden('type it again: ', input, output);
      if (first === second) return { passphrase: first, canRetry: false };
      output.write('the two did not match; again\n');
    }
    throw usageError(ErrorCodes.PASSPHRASE_MISMATCH, `no passphrase was set: three tries did not give two matching entries of at least ${MIN_PASSPHRASE_CHARS} characters`, {
      hint: 'run the command again',
    });
  };
}
