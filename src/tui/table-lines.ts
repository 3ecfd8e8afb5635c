/**
 * The hub's tables as lines of the tables screen: each table with how its rows are kept and how
 * many it holds, then, for a facility-owned table, each facility's rows, three facilities to a
 * line, so that a hub with many facilities scrolls instead of overflowing the 80-column frame.
 */
import type { HubTableStatus } from '../roles/status.js';
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

export function tableLines(tables: HubTableStatus[]): TableLine[] {
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
  return out;
}
