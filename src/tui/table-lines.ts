/**
 * The hub's tables as lines of the tables screen: each table with how its rows are kept and how
 * many it holds, then, for a facility-owned table, each facility's rows, three facilities to a
 * line, so that a hub with many facilities scrolls instead of overflowing the 80-column frame.
 */
import type { HubStatus, HubTableStatus } from '../roles/status.js';
import { rejectedChangesLine } from '../roles/rejection-text.js';
import { visible } from '../core/visible-text.js';
import { count } from '../core/format-numbers.js';
import { scopeWithKey } from '../format/records.js';
import { clip as cell } from './components.js';

export interface TableLine {
  text: string;
  /** a table's own line (bold), not one of its facilities' */
  table: boolean;
}

const FACILITIES_PER_LINE = 3;

/** Lines of tables and facilities shown at once: with the three lines above and the one below, the frame stays whole at 80×24. */
export const TABLES_PAGE = 14;

/** The heading over tableLines' columns. */
export const TABLE_HEADING = `${'table'.padEnd(22)} ${'whose rows'.padEnd(30)} ${'rows'.padStart(11)}`;

/** Width a reason is wrapped to: inside the 80-column frame, indented. */
const REASON_WIDTH = 74;

export function tableLines(tables: HubTableStatus[], rejections: HubStatus['rejections'] = []): TableLine[] {
  const out: TableLine[] = [];
  for (const t of tables) {
    const scope = scopeWithKey(t.scope, t.key);
    out.push({ table: true, text: `${cell(t.table, 22)} ${cell(scope, 30)} ${count(t.rows).padStart(11)}` });
    const byFacility = t.rows_by_facility ?? [];
    for (let i = 0; i < byFacility.length; i += FACILITIES_PER_LINE) {
      const cells = byFacility.slice(i, i + FACILITIES_PER_LINE).map((f) => `${cell(f.facility, 12)} ${count(f.rows).padStart(9)}`);
      out.push({ table: false, text: `    ${cells.join('    ')}` });
    }
  }
  // Below the tables, in full (wrapped, never cut): why changes wait, and what to do about it.
  if (rejections.length > 0) {
    out.push({ table: true, text: 'Rejected changes: they wait at their facility until the cause is fixed' });
    for (const r of rejections) {
      wrapWords(visible(rejectedChangesLine(r)), REASON_WIDTH).forEach((text, i) => out.push({ table: false, text: `${i === 0 ? '  ' : '    '}${text}` }));
    }
  }
  return out;
}

/** Lines of at most `width` characters, broken between words (a word longer than a line is split). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ')) {
    while (word.length > width) {
      if (line) lines.push(line);
      line = '';
      lines.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
