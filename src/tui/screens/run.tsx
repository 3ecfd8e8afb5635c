import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import { basename } from 'node:path';
import type { ProgressEvent } from '../../node/context.js';
import type { OperationResult } from '../services.js';
import type { RotationReport } from '../../node/peer-rotations.js';
import type { RestoreFence } from '../../capture/restore-fence.js';
import type { Verdict } from '../../core/verdict.js';
import { bytes, clip, n, ProgressBar } from '../components.js';
import { isFacility } from '../../node/role.js';

export interface RunState {
  op: 'export' | 'import';
  drive: string;
  progress?: ProgressEvent;
  outcome?: OperationResult;
  cancelling?: boolean;
}

export const runKeys = (s: RunState) => (s.outcome ? '[Enter] back to the dashboard' : '[c] or Ctrl-C cancel (nothing half-done is kept)');

/**
 * The end of every run, as the operation judged it: SAFE TO REMOVE only when its verdict says so;
 * otherwise what is true and what to do next, so that nobody pulls a drive one step too early.
 */
function Closing({ v }: { v: Verdict }) {
  // A partial run's refusals are listed above, each with what to do.
  if (v.safe_to_remove) return <Text bold inverse>{' SAFE TO REMOVE THE DRIVE '}</Text>;
  return (
    <>
      <Text bold>{v.why}</Text>
      {v.next ? <Text>{`What to do: ${v.next}`}</Text> : null}
      <Text bold inverse>{' DO NOT REMOVE THE DRIVE YET '}</Text>
    </>
  );
}

function ExportDone({ r }: { r: Extract<OperationResult, { op: 'export' }>['result'] }) {
  if (r.pending === 0) return <Text>Nothing to export: the hub has confirmed every change. The drive was not changed.</Text>;
  return (
    <Box flexDirection="column">
      <FenceWarning fence={r.restore_fence} />
      <ColumnWarnings warnings={r.warnings} />
      {r.written.map((b) => (
        <Text key={b.bundle_id}>{`  written  ${clip(basename(b.file), 44)} ${n(b.changes).padStart(9)} changes  ${bytes(b.bytes)}`}</Text>
      ))}
      {r.already_on_drive.map((b) => (
        <Text key={b.bundle_id}>{`  on drive ${clip(basename(b.file), 44)} ${n(b.changes).padStart(9)} changes  (already there)`}</Text>
      ))}
      <Text> </Text>
      <Text bold>{`OK: every bundle was read back and verified. ${n(r.pending)} change(s) are on the drive for ${r.hub}.`}</Text>
      <Closing v={r.verdict} />
    </Box>
  );
}

/** Columns left out or sent untyped: the first few, in the words `ferry track` uses for all of them. */
function ColumnWarnings({ warnings }: { warnings: string[] }) {
  const shown = warnings.slice(0, 3);
  return (
    <>
      {shown.map((w, i) => (
        <Text key={i} wrap="truncate-end">{`  WARNING  ${w}`}</Text>
      ))}
      {warnings.length > shown.length ? <Text>{`  … and ${warnings.length - shown.length} more: \`ferry track --table T\` lists them`}</Text> : null}
    </>
  );
}

/** The EMR went back in time (a restore): said in a word, the details are in `ferry log`. */
function FenceWarning({ fence }: { fence: RestoreFence | undefined }) {
  if (!fence) return null;
  return (
    <Text wrap="truncate-end">
      {`  WARNING  EMR restored from a backup? ${fence.renumbered ? `${n(fence.renumbered)} change(s) renumbered` : 'counter moved on'}, none lost`}
    </Text>
  );
}

/** A peer's new key is news: said first, in words, with the new fingerprint to compare. */
function Rotations({ rotations }: { rotations: RotationReport[] }) {
  return (
    <>
      {rotations.filter((x) => x.outcome === 'accepted' || x.outcome === 'refused').map((x) => (
        <Text key={x.file} wrap="truncate-end">
          {x.outcome === 'accepted' ? `  NEW KEY  ${x.id} now uses key ${x.new_fingerprint} (notice signed by its old key)` : `  REFUSED  key notice ${clip(basename(x.file), 30)}: ${x.reason?.code ?? ''}`}
        </Text>
      ))}
    </>
  );
}

function ImportDone({ r }: { r: Extract<OperationResult, { op: 'import' }>['result'] }) {
  if (isFacility(r)) {
    const mine = r.acks.filter((a) => a.outcome !== 'not-ours');
    const label = { refused: 'REFUSED ', accepted: 'accepted', 'already-accepted': 'had it  ', 'retired-key': 'not used', 'not-ours': '' } as const;
    return (
      <Box flexDirection="column">
        <Rotations rotations={r.rotations} />
        <FenceWarning fence={r.restore_fence} />
        {mine.length === 0 ? <Text>No acknowledgements for this facility on the drive.</Text> : null}
        {mine.slice(0, 10).map((a) => (
          <Text key={a.file}>{`  ${label[a.outcome]} ${clip(basename(a.file), 42)} ${a.reason ? a.reason.code : `changes ${a.seq?.first}–${a.seq?.last}`}`}</Text>
        ))}
        <Text> </Text>
        <Text bold>{`${n(r.pruned)} delivered change(s) confirmed; ${r.removed_bundles.length} delivered bundle(s) removed from the drive. Pending now: ${n(r.pending)}.`}</Text>
        <Closing v={r.verdict} />
      </Box>
    );
  }
  const label = { applied: 'APPLIED ', 'already-applied': 'HAD IT  ', refused: 'REFUSED ', failed: 'FAILED  ', skipped: 'SKIPPED ' } as const;
  return (
    <Box flexDirection="column">
      <Rotations rotations={r.rotations} />
      <Text bold>{'  outcome  from        changes          applied  had  confl  rej  / reason'}</Text>
      {r.bundles.filter((b) => b.outcome !== 'skipped').slice(0, 10).map((b) => (
        <Text key={b.file} wrap="truncate-end">
          {`  ${label[b.outcome]} ${clip(b.sender ?? '?', 10)}  ${clip(b.seq ? `${b.seq.first}–${b.seq.last}` : '', 15)}  ${b.counts ? `${String(b.counts.applied).padStart(7)} ${String(b.counts.already_present).padStart(4)} ${String(b.counts.conflicts).padStart(6)} ${String(b.counts.rejected).padStart(4)}` : `  ${b.reason?.code ?? ''}`}`}
        </Text>
      ))}
      {r.bundles.filter((b) => b.outcome === 'refused' || b.outcome === 'failed').slice(0, 3).map((b) => (
        <Text key={`${b.file}-why`} wrap="truncate-end">{`  ${b.sender ?? basename(b.file)}: ${b.reason?.message} — ${b.reason?.hint ?? ''}${b.quarantine_error ? ' (NOT kept in quarantine: it is full)' : ''}`}</Text>
      ))}
      <Text> </Text>
      <Text bold>{`${r.acks_written.length} signed ack(s) written to the drive. ${r.bundles.filter((b) => b.outcome === 'skipped').length} bundle(s) for other hubs left alone.`}</Text>
      {r.gaps.slice(0, 2).map((g) => (
        <Text key={`${g.origin}${g.first}`}>{`  gap: changes ${n(g.first)}–${n(g.last)} from ${g.origin} have not arrived`}</Text>
      ))}
      <Closing v={r.verdict} />
    </Box>
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
          <Text bold>{s.outcome.verdict.why}</Text>
          {s.outcome.verdict.next ? <Text>{`What to do: ${s.outcome.verdict.next}`}</Text> : null}
          <Text> </Text>
          {s.outcome.verdict.safe_to_remove ? <Text>Nothing was changed by the failed step; it is safe to remove the drive.</Text> : null}
        </Box>
      )}
    </Box>
  );
}
