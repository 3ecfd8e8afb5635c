import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import type { Conflict } from '../../hub/conflicts.js';
import type { EncodedValue } from '../../format/values.js';
import { clip, when } from '../components.js';

export const conflictsKeys = '[↑/↓] choose  [Enter] compare the two versions  [Esc] back';
/** The keys say whose version each one keeps: the operator decides between two facilities, not two words. */
export const conflictKeys = (c: Conflict) => `[k] keep current (${c.current.origin})  [o] keep other (${c.other.origin})  [Esc] back`;

const show = (v: EncodedValue | undefined): string => (v === undefined || v === null ? '(empty)' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const clockWhen = (clock: string) => new Date(Number(clock.split('.')[0])).toISOString();

// Rows of facility-owned tables are each one facility's and never conflict: every conflict is in a shared table.
export function ConflictList({ conflicts, index }: { conflicts: Conflict[]; index: number }) {
  if (conflicts.length === 0) return <Text>No open conflicts: no row of a shared table was edited at two facilities.</Text>;
  const start = Math.max(0, Math.min(index - 8, conflicts.length - 16));
  return (
    <Box flexDirection="column">
      <Text bold>{`${conflicts.length} open conflict(s) in shared tables: the same row edited at two facilities`}</Text>
      {conflicts.slice(start, start + 16).map((c, i) => (
        <Text key={c.id} inverse={start + i === index} wrap="truncate-end">
          {`${start + i === index ? '>' : ' '} #${String(c.id).padEnd(4)} ${clip(c.table, 14)} ${clip(JSON.stringify(c.key), 26)} ${c.current.origin} vs ${c.other.origin}${c.flag ? ` [${c.flag}]` : ''}`}
        </Text>
      ))}
    </Box>
  );
}

/** As many fields as leave the frame whole at 80×24 with the flag and the two-line legend below them. */
const FIELDS_SHOWN = 11;

/** The two versions side by side, each headed by the facility it came from; differing fields marked with '*' (not by colour alone). */
export function ConflictDetail({ c }: { c: Conflict }) {
  const all = [...new Set([...Object.keys(c.current.row ?? {}), ...Object.keys(c.other.row ?? {})])];
  // The fields that differ first: they are what the operator has to decide on.
  const cols = [...all.filter((x) => c.differing.includes(x)), ...all.filter((x) => !c.differing.includes(x))];
  const rows = cols.length ? cols : ['(row)'];
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">{`#${c.id} shared table ${c.table}, key ${JSON.stringify(c.key)}`}</Text>
      <Text>{`  ${'field'.padEnd(18)} ${clip(`CURRENT: ${c.current.origin}`, 28)} ${clip(`OTHER: ${c.other.origin}`, 28)}`}</Text>
      <Text>{`  ${''.padEnd(18)} ${clip(when(clockWhen(c.current.clock)), 28)} ${clip(when(clockWhen(c.other.clock)), 28)}`}</Text>
      {rows.slice(0, FIELDS_SHOWN).map((col) => {
        const differs = c.differing.includes(col) || (!c.current.row !== !c.other.row);
        const a = c.current.row ? show(c.current.row[col]) : '(deleted)';
        const b = c.other.row ? show(c.other.row[col]) : '(deleted)';
        return <Text key={col} bold={differs}>{`${differs ? '*' : ' '} ${clip(col, 18)} ${clip(a, 28)} ${clip(b, 28)}`}</Text>;
      })}
      {rows.length > FIELDS_SHOWN ? <Text>{`  … ${rows.length - FIELDS_SHOWN} more field(s); ${c.differing.length} differ in all`}</Text> : null}
      {c.flag === 'clock-ahead' ? <Text bold>{'FLAG clock-ahead: a clock was more than a day ahead of the hub\'s; it could not win. Check that facility\'s clock.'}</Text> : null}
      <Text>{`* marks a field that differs. CURRENT is ${c.current.origin}'s version, in the hub table now (the rule's choice); OTHER is ${c.other.origin}'s, kept for review.`}</Text>
    </Box>
  );
}
