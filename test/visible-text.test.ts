/** visible() and visibleJson(): what the CLI and the TUI do to every piece of data they show. */
import test from 'ava';
import { visible, visibleJson } from '../src/visible-text.js';
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
