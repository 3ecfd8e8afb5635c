/** Reading ink's test renderer: React 19 renders asynchronously, so tests wait for frames. */
// ink's own measure of a line (it is ink's dependency): the width a terminal gives the text.
import stringWidth from 'string-width';

export const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));

/** Poll the last frame until it shows `text` (or give up after 8 s and return what is there). */
export async function until(ui: { lastFrame: () => string | undefined }, text: string): Promise<string> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const f = ui.lastFrame() ?? '';
    if (f.includes(text) || Date.now() > deadline) return f;
    await tick(15);
  }
}

/**
 * Assert that a frame fits a `columns`×`rows` terminal (80×24 by default): no line wider than the
 * terminal, measured in terminal cells as ink measures them (a wide character takes two, an escape
 * sequence none), and no more lines than it has rows. The test renderer wraps at 100 columns and
 * never clips, so a screen that overflows shows here as a longer frame or a wider line.
 */
export function fitsTerminal(t: { true: (v: boolean, m?: string) => void }, frame: string, size = { columns: 80, rows: 24 }): void {
  const lines = frame.split('\n');
  t.true(lines.length <= size.rows, `${lines.length} lines, taller than ${size.rows}:\n${frame}`);
  for (const line of lines) t.true(stringWidth(line) <= size.columns, `${stringWidth(line)} columns, wider than ${size.columns}: ${JSON.stringify(line)}`);
}
