import type { HubTableStatus } from '../roles/status.js';
import { count } from '../core/format-numbers.js';
import { visible } from '../core/visible-text.js';
import { scopeWithKey } from '../format/records.js';

const rowsWord = (n: number) => `${count(n)} ${n === 1 ? 'row' : 'rows'}`;

/**
 * One table of `ferry status` at a hub, within `width` columns: a facility-owned table's rows per
 * facility on its own line when they fit there, else wrapped under it (a hub with many
 * facilities stays readable at 80 columns); a shared table's rows are everyone's, so one count.
 */
export function tableRowLines(t: HubTableStatus, width = 80): string[] {
  const head = `  ${visible(t.table)} (${scopeWithKey(t.scope, t.key)})`;
  if (t.rows_by_facility === null) return [`${head}: ${rowsWord(t.rows)}`];
  if (t.rows_by_facility.length === 0) return [`${head}: no rows yet`];
  const parts = t.rows_by_facility.map((f) => `${visible(f.facility)} ${rowsWord(f.rows)}`);
  const inline = `${head}: ${parts.join(' · ')}`;
  if (inline.length <= width) return [inline];
  const indent = '      ';
  const lines = [`${head}: ${rowsWord(t.rows)} from ${count(parts.length)} facilities`];
  let line = '';
  for (const p of parts) {
    const next = line ? `${line} · ${p}` : p;
    if (line && indent.length + next.length > width) {
      lines.push(`${indent}${line} ·`);
      line = p;
    } else line = next;
  }
  lines.push(`${indent}${line}`);
  return lines;
}
