import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import type { HubStatus, HubTableStatus } from '../../roles/status.js';
import { TABLE_HEADING, tableLines, TABLES_PAGE } from '../table-lines.js';

/** The hub's tables and whose their rows are (per facility for facility-owned tables, merged for shared ones), then the changes it rejected and why. */
export function Tables({ tables, rejections, offset }: { tables: HubTableStatus[]; rejections: HubStatus['rejections']; offset: number }) {
  if (tables.length === 0 && rejections.length === 0) return <Text>The hub holds no table yet: the first import from a facility creates them.</Text>;
  const lines = tableLines(tables, rejections);
  const shown = lines.slice(offset, offset + TABLES_PAGE);
  const below = lines.length - offset - shown.length;
  return (
    <Box flexDirection="column">
      <Text>{`${tables.length} table(s). A facility-owned table keeps each facility's rows apart (ferry_origin); a shared one merges every facility's rows by its key.`}</Text>
      <Text bold>{TABLE_HEADING}</Text>
      {shown.map((l, i) => (
        <Text key={offset + i} bold={l.table} wrap="truncate-end">
          {l.text}
        </Text>
      ))}
      {below > 0 ? <Text>{`  … ${below} more line(s) below ([↓])`}</Text> : null}
    </Box>
  );
}
