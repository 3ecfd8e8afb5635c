import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import { basename } from 'node:path';
import type { QuarantineEntry } from '../../hub/quarantine.js';
import type { AuditEntry } from '../../store/peer-directory.js';
import { clip, when } from '../components.js';

export const listKeys = '[↑/↓] scroll  [Esc] back';

export function Quarantine({ entries, offset }: { entries: QuarantineEntry[]; offset: number }) {
  if (entries.length === 0) return <Text>No refused bundles. (Refused bundles are copied here with the reason; the drive is never changed.)</Text>;
  return (
    <Box flexDirection="column">
      <Text bold>{`${entries.length} refused bundle(s), newest last`}</Text>
      {entries.slice(offset, offset + 8).map((q) => (
        <Box key={q.file} flexDirection="column">
          <Text wrap="truncate-end">{`${when(q.at)}  ${q.reason.code}  ${basename(q.original)}`}</Text>
          <Text wrap="truncate-end">{`    ${q.reason.message}`}</Text>
        </Box>
      ))}
    </Box>
  );
}

export function Log({ entries, offset }: { entries: AuditEntry[]; offset: number }) {
  if (entries.length === 0) return <Text>The audit log is empty.</Text>;
  return (
    <Box flexDirection="column">
      <Text bold>{`Audit log: ${entries.length} entries, newest last`}</Text>
      {entries.slice(offset, offset + 16).map((e, i) => (
        <Text key={`${offset + i}`} wrap="truncate-end">{`${when(e.at)}  ${clip(e.action, 15)} ${clip(e.outcome, 15)} ${e.peer ?? ''}${e.bundle_id ? ` ${e.bundle_id.slice(0, 12)}` : ''}`}</Text>
      ))}
    </Box>
  );
}
