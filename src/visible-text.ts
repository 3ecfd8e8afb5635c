/**
 * Text from outside ferry (row values, table and column names, node names, file names, reasons)
 * is shown with its control characters made visible: a terminal must never receive a byte from a
 * drive, a bundle, an EMR or an identity card that it would act on (clear the screen, retitle the
 * window, move the cursor, reverse the reading order). Used by the CLI's output and the TUI alike;
 * no terminal or database here.
 */

/**
 * C0 (newline included: a value never breaks a line), DEL, C1 (U+009B is a one-byte CSI for some
 * terminals), the line and paragraph separators, and the bidi overrides and isolates (which make
 * text read differently from what it is).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The same set minus C0, which JSON.stringify escapes already. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (c: string, digits: number) => c.charCodeAt(0).toString(16).padStart(digits, '0');

/** `text` with each unsafe character written as an escape: ESC as `\x1b`, U+202E as `\u202e`, a newline as `\n`. */
export function visible(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * JSON.stringify, with the characters JSON allows raw in a string (DEL, C1, U+2028/2029, bidi
 * controls) written as \u escapes too: the same document for a parser, nothing for a terminal
 * that shows it. Outside strings JSON has only ASCII punctuation, so replacing is safe.
 */
export function visibleJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}
