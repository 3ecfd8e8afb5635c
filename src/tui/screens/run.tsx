import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import { basename } from 'node:path';
import type { ProgressEvent } from '../../node/context.js';
import type { OperationResult } from '../services.js';
import type { RotationReport } from '../../node/peer-rotations.js';
import type { Verdict } from '../../core/verdict.js';
import type { BundleReport } from '../../hub/import-bundles.js';
import { bytes, clip, n, ProgressBar } from '../components.js';
import { isFacility } from '../../node/role.js';
import { rejectionLine } from '../../roles/rejection-text.js';

export interface RunState {
  op: 'export' | 'import';
  drive: string;
  progress?: ProgressEvent;
  outcome?: OperationResult;
  cancelling?: boolean;
}

export const runKeys = (s: RunState) => (s.outcome ? '[Enter] back to the dashboard' : '[c] or Ctrl-C cancel (nothing half-done is kept)');

/** At most this many of the verdict's notices fit under a full result table (each may take two lines). */
const NOTICES_SHOWN = 4;

/**
 * The end of every run, as the operation judged it and in its words, the same the CLI prints:
 * the news, what is true, what to do next, and SAFE TO REMOVE only when the verdict says so;
 * nothing more (a failure's closing lines claim nothing the verdict does not).
 */
function Closing({ v }: { v: Verdict }) {
  const shown = v.notices.slice(0, NOTICES_SHOWN);
  return (
    <>
      {shown.map((x, i) => (
        <Text key={i}>{`  ${x}`}</Text>
      ))}
      {v.notices.length > shown.length ? <Text>{`  … and ${v.notices.length - shown.length} more`}</Text> : null}
      <Text> </Text>
      <Text bold>{v.why}</Text>
      {v.next ? <Text>{`What to do: ${v.next}`}</Text> : null}
      {/* After a failure a banner would read as success: the same words, plainly. */}
      {v.outcome === 'failed' && v.safe_to_remove ? (
        <Text>Safe to remove the drive.</Text>
      ) : (
        <Text bold inverse>{v.safe_to_remove ? ' SAFE TO REMOVE THE DRIVE ' : ' DO NOT REMOVE THE DRIVE YET '}</Text>
      )}
    </>
  );
}

function ExportDone({ r }: { r: Extract<OperationResult, { op: 'export' }>['result'] }) {
  // A hub's export: what it wrote for each facility (records sent back out).
  if ('facilities' in r) {
    return (
      <Box flexDirection="column">
        {r.facilities.slice(0, 10).map((f) => (
          <Text key={f.facility} wrap="truncate-end">{`  for ${clip(f.facility, 14)} ${n(f.changes).padStart(9)} row(s) in ${f.written.length} bundle(s)  ${bytes(f.written.reduce((x, b) => x + b.bytes, 0))}`}</Text>
        ))}
        <Closing v={r.verdict} />
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      {/* The first few in full; the verdict counts them all. */}
      {r.warnings.slice(0, 3).map((w, i) => (
        <Text key={i} wrap="truncate-end">{`  WARNING  ${w}`}</Text>
      ))}
      {r.written.map((b) => (
        <Text key={b.bundle_id}>{`  written  ${clip(basename(b.file), 44)} ${n(b.changes).padStart(9)} changes  ${bytes(b.bytes)}`}</Text>
      ))}
      {r.already_on_drive.map((b) => (
        <Text key={b.bundle_id}>{`  on drive ${clip(basename(b.file), 44)} ${n(b.changes).padStart(9)} changes  (already there)`}</Text>
      ))}
      <Closing v={r.verdict} />
    </Box>
  );
}

/** A refused key rotation notice is an item refused, listed like a bundle; an accepted one is the verdict's news. */
function RefusedRotations({ rotations }: { rotations: RotationReport[] }) {
  return (
    <>
      {rotations.filter((x) => x.outcome === 'refused').map((x) => (
        <Text key={x.file} wrap="truncate-end">{`  REFUSED  key notice ${clip(basename(x.file), 30)}: ${x.reason?.code ?? ''}`}</Text>
      ))}
    </>
  );
}

function ImportDone({ r }: { r: Extract<OperationResult, { op: 'import' }>['result'] }) {
  if (isFacility(r)) {
    const label = { refused: 'REFUSED ', failed: 'FAILED  ', accepted: 'accepted', 'already-accepted': 'had it  ', 'retired-key': 'not used', 'not-ours': '' } as const;
    return (
      <Box flexDirection="column">
        <RefusedRotations rotations={r.rotations} />
        {r.acks.filter((a) => a.outcome !== 'not-ours').slice(0, 10).map((a) => (
          <Text key={a.file}>{`  ${label[a.outcome]} ${clip(basename(a.file), 42)} ${a.reason ? a.reason.code : `changes ${a.seq?.first}–${a.seq?.last}`}`}</Text>
        ))}
        <Closing v={r.verdict} />
      </Box>
    );
  }
  const label = { applied: 'APPLIED ', 'already-applied': 'HAD IT  ', refused: 'REFUSED ', failed: 'FAILED  ', skipped: 'SKIPPED ' } as const;
  const mine = r.bundles.filter((b) => b.outcome !== 'skipped');
  const others = r.bundles.length - mine.length;
  return (
    <Box flexDirection="column">
      <RefusedRotations rotations={r.rotations} />
      {mine.length ? <Text bold>{'  outcome  from        changes          applied  had  confl  rej  / reason'}</Text> : null}
      {mine.slice(0, 10).map((b) => (
        <Text key={b.file} wrap="truncate-end">
          {`  ${label[b.outcome]} ${clip(b.sender ?? '?', 10)}  ${clip(b.seq ? `${b.seq.first}–${b.seq.last}` : '', 15)}  ${b.counts ? `${String(b.counts.applied).padStart(7)} ${String(b.counts.already_present).padStart(4)} ${String(b.counts.conflicts).padStart(6)} ${String(b.counts.rejected).padStart(4)}` : `  ${b.reason?.code ?? ''}`}`}
        </Text>
      ))}
      {mine.filter((b) => b.outcome === 'refused' || b.outcome === 'failed').slice(0, 3).map((b) => (
        <Text key={`${b.file}-why`} wrap="truncate-end">{`  ${b.sender ?? basename(b.file)}: ${b.reason?.message} — ${b.reason?.hint ?? ''}${b.quarantine_error ? ' (NOT kept in quarantine: it is full)' : ''}`}</Text>
      ))}
      <Rejected bundles={mine} />
      {others ? <Text>{`  ${n(others)} bundle(s) for other hubs left alone.`}</Text> : null}
      <Closing v={r.verdict} />
    </Box>
  );
}

/** At most this many reasons under the result table; `ferry status` and [t] list them all. */
const REJECTIONS_SHOWN = 3;

/** Why changes were rejected, each reason once and in full (wrapped, never cut): it says what to do. */
function Rejected({ bundles }: { bundles: BundleReport[] }) {
  const all = bundles.flatMap((b) => (b.rejections ?? []).map((r) => ({ b, r })));
  const shown = all.slice(0, REJECTIONS_SHOWN);
  return (
    <>
      {shown.map(({ b, r }, i) => (
        <Text key={`rej-${i}`}>{`  ${b.sender ?? basename(b.file)}: ${rejectionLine(r)}`}</Text>
      ))}
      {all.length > shown.length ? <Text>{`  … and ${all.length - shown.length} more reason(s) for rejected changes: ferry status, or [t] on the dashboard`}</Text> : null}
    </>
  );
}

export function Run({ s }: { s: RunState }) {
  const p = s.progress;
  const verb = s.op === 'export' ? 'Exporting to' : 'Importing from';
  return (
    <Box flexDirection="column">
      <Text bold>{`${verb} ${s.drive}`}</Text>
      <Text> </Text>
      {!s.outcome ? (
        <Box flexDirection="column">
          <ProgressBar done={p?.changesDone ?? 0} total={p?.changesTotal ?? 0} />
          <Text>{p ? `${p.phase}${p.item ? ` ${basename(p.item)}` : ''}: ${n(p.changesDone ?? 0)}${p.changesTotal ? ` of ${n(p.changesTotal)}` : ''} changes${p.bytesDone ? `, ${bytes(p.bytesDone)}` : ''}` : 'starting…'}</Text>
          <Text> </Text>
          <Text>{s.cancelling ? 'Cancelling… (waiting for a safe point)' : 'Do not remove the drive.'}</Text>
        </Box>
      ) : s.outcome.ok ? (
        s.outcome.op === 'export' ? <ExportDone r={s.outcome.result} /> : <ImportDone r={s.outcome.result} />
      ) : (
        <Box flexDirection="column">
          <Closing v={s.outcome.verdict} />
        </Box>
      )}
    </Box>
  );
}
