/** visible() and visibleJson(): what the CLI and the TUI do to every piece of data they show. */
import test from 'ava';
import { visible, visibleJson } from '../src/core/visible-text.js';
import { RAW_CONTROL } from './helpers/hostile.js';

const UNSAFE = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  0x7f,
  ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i),
  0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
].map((c) => String.fromCharCode(c));

test('C0, DEL, C1, line separators and bidi controls become escapes a person can read', (t) => {
  for (const c of UNSAFE) {
    const shown = visible(`a${c}b`);
    t.false(RAW_CONTROL.test(shown), `U+${c.charCodeAt(0).toString(16)} is shown raw`);
    t.false(shown.includes('\n'));
  }
  t.is(visible('Mallory\x1b[2J\x1b[H\x1b]0;PWNED\x07'), 'Mallory\\x1b[2J\\x1b[H\\x1b]0;PWNED\\x07');
  t.is(visible('line one\nline two\r\tend'), 'line one\\nline two\\r\\tend');
  t.is(visible('\x7f\x9b\u202e\u2028\u2066'), '\\x7f\\x9b\\u202e\\u2028\\u2066');
});

test('ordinary text in any script is left as it is, and showing twice changes nothing more', (t) => {
  for (const s of ['Kicukiro Health Centre', 'Ñandú ü ß — “quotes” …', 'مستشفى', '病院', 'emoji 🩺', 'C:\\path\\x1b literally', '']) {
    t.is(visible(s), s);
  }
  const once = visible('x\x1b\u202ey');
  t.is(visible(once), once);
});

test('visibleJson is the same document for a parser, with nothing a terminal would act on', (t) => {
  const doc = { name: 'Mallory\x1b]0;PWNED\x07', csi: '\x9b2J', rtl: '\u202eevil', sep: 'a\u2028b', del: '\x7f', plain: 'ünï ✓', n: [1, null, true] };
  for (const indent of [undefined, 2]) {
    const text = visibleJson(doc, indent);
    t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(text), text);
    t.deepEqual(JSON.parse(text), doc);
  }
  t.is(visibleJson({ a: 1 }, 2), JSON.stringify({ a: 1 }, null, 2));
});

/** Format characters that show nothing: two strings that look the same are not, or text hides in text. */
const INVISIBLE: Array<[string, string]> = [
  ['\u00ad', '\\xad'],
  ['\u061c', '\\u061c'],
  ['\u180e', '\\u180e'],
  ['\u200b', '\\u200b'],
  ['\u200e', '\\u200e'],
  ['\u200f', '\\u200f'],
  ...[0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x206a, 0x206b, 0x206c, 0x206d, 0x206e, 0x206f, 0xfeff, 0xfff9, 0xfffa, 0xfffb].map(
    (c) => [String.fromCharCode(c), `\\u${c.toString(16)}`] as [string, string],
  ),
  // Tag characters (U+E0000–E007F): "PWN" hidden after a name, and the range's two ends.
  ['\u{e0050}', '\\udb40\\udc50'],
  ['\u{e0000}', '\\udb40\\udc00'],
  ['\u{e007f}', '\\udb40\\udc7f'],
];

test('invisible format characters (bidi marks, zero-width space, BOM, word joiner, soft hyphen, tags…) become escapes too', (t) => {
  for (const [c, shown] of INVISIBLE) {
    t.is(visible(`RW${c}-001`), `RW${shown}-001`, `U+${c.codePointAt(0)!.toString(16)}`);
    const json = visibleJson({ id: `RW${c}-001` });
    t.is(json, `{"id":"RW${shown.replace('\\xad', '\\u00ad')}-001"}`, `U+${c.codePointAt(0)!.toString(16)} in JSON`);
    t.deepEqual(JSON.parse(json), { id: `RW${c}-001` }, 'the same document for a parser');
  }
  t.is(visible('Alice\u{e0050}\u{e0057}\u{e004e}'), 'Alice\\udb40\\udc50\\udb40\\udc57\\udb40\\udc4e');
  // Joiners that scripts need stay, and so does every other astral character.
  for (const s of ['می\u200cخواهم', 'क्\u200dष', '👩\u200d⚕️', '🏥', '𝒜']) {
    t.is(visible(s), s);
    t.is(visibleJson(s), JSON.stringify(s));
  }
});
