/**
 * Text from outside ferry (row values, table and column names, node names, file names, reasons)
 * is shown with its control characters made visible: a terminal must never receive a byte from a
 * drive, a bundle, an EMR or an identity card that it would act on (clear the screen, retitle the
 * window, move the cursor, reverse the reading order). Used by the CLI's output and the TUI alike;
 * no terminal or database here.
 */

/**
 * C0 (newline included: a value never breaks a line), DEL, C1 (U+009B is a one-byte CSI for some
 * terminals), the line and paragraph separators, the bidi overrides and isolates (which make
 * text read differently from what it is), and the format characters that show nothing: the
 * bidi marks (U+200E/200F, U+061C), the zero-width space and no-break space (U+200B, U+FEFF),
 * the word joiner and invisible operators (U+2060–2064), the deprecated format controls
 * (U+206A–206F), the Mongolian vowel separator (U+180E), the soft hyphen (U+00AD), the
 * interlinear annotation controls (U+FFF9–FFFB) and the tag characters (U+E0000–E007F, written
 * in UTF-16 as U+DB40 and a low surrogate), with which two names or two values that look the
 * same are not, or text hides inside text. U+200C and U+200D (zero-width non-joiner and joiner)
 * stay: Persian, the Indic scripts and emoji need them to be written at all.
 */
const UNSAFE_CHARS = '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u206a-\\u206f\\ufeff\\ufff9-\\ufffb';
const TAGS = '\\udb40[\\udc00-\\udc7f]';
const UNSAFE = new RegExp(`[${UNSAFE_CHARS}]|${TAGS}`, 'g');

/** The same set minus C0, which JSON.stringify escapes already. */
const UNSAFE_IN_JSON = new RegExp(`[${UNSAFE_CHARS.replace('\\u0000-\\u001f', '')}]|${TAGS}`, 'g');

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (code: number, digits: number) => code.toString(16).padStart(digits, '0');

/** Each UTF-16 unit of `c` as \uXXXX (a tag character is two). */
const unicodeEscapes = (c: string) => Array.from({ length: c.length }, (_, i) => `\\u${hex(c.charCodeAt(i), 4)}`).join('');

/** `text` with each unsafe character written as an escape: ESC as `\x1b`, U+202E as `\u202e`, a newline as `\n` (up to U+00FF as \x, the rest as \u). */
export function visible(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c.charCodeAt(0), 2)}` : unicodeEscapes(c)));
}

/**
 * JSON.stringify, with the characters JSON allows raw in a string (DEL, C1, U+2028/2029, bidi
 * controls, the invisible format characters) written as \u escapes too: the same document for
 * a parser, nothing for a terminal that shows it. Outside strings JSON has only ASCII
 * punctuation, so replacing is safe.
 */
export function visibleJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, unicodeEscapes);
}
