/**
 * The verdict of each drive operation, from its result alone (pure: no I/O, no clock), so that
 * the CLI, the TUI and watch cannot judge the same result differently.
 */
import { basename } from 'node:path';
import type { FerryError } from '../core/errors.js';
import { count } from '../core/format-numbers.js';
import type { Verdict } from '../core/verdict.js';
import type { RestoreFence } from '../capture/restore-fence.js';
import type { ExportResult } from '../facility/export.js';
import type { FacilityImportResult } from '../facility/read-acks.js';
import type { HubImportResult } from '../hub/import-bundles.js';
import type { HubExportResult } from '../hub/export-to-facilities.js';
import type { RotationReport } from '../node/peer-rotations.js';

type ErrorDoc = ReturnType<FerryError['toJSON']>;

/** "2 applied, 1 refused": the parts that are not zero, in the order given. */
function tally(parts: Array<[number, string]>): string {
  return parts.filter(([k]) => k > 0).map(([k, what]) => `${count(k)} ${what}`).join(', ');
}

/**
 * A peer's new key is news even when all went well. A refused notice is not: it is an item
 * refused like a bundle, which each face lists with its reason and the verdict counts.
 */
function rotationNotices(rotations: RotationReport[]): string[] {
  return rotations.flatMap((x) =>
    x.outcome === 'accepted' ? [`key rotation: ${x.id} now uses the key with fingerprint ${x.new_fingerprint} (was ${x.old_fingerprint}); its notice was signed by the old key`] : [],
  );
}

/** The EMR went back in time: the one wording of it, which every face shows as it is. */
function fenceNotice(f: RestoreFence | undefined): string[] {
  if (!f) return [];
  const what = `WARNING: the EMR database went back in time (restored from a backup?): its change counter was at ${f.counter_was}, but changes up to ${f.highest_sent} had already been sent`;
  return [
    f.renumbered
      ? `${what}. ${count(f.renumbered)} change(s) made since reused those numbers; they were renumbered from ${f.renumbered_from} so that the hub does not take them for ones it has`
      : `${what}. New changes are numbered from ${f.highest_sent + 1}`,
  ];
}

/** One refusal's hint, or, for several, where each one's is. */
function whatToDo(hints: Array<string | undefined>): string | undefined {
  const distinct = [...new Set(hints.filter((h): h is string => Boolean(h)))];
  if (distinct.length === 0) return undefined;
  return distinct.length === 1 ? distinct[0] : 'each refusal says what to do (ferry log keeps them)';
}

export function hubImportVerdict(r: HubImportResult): Verdict {
  const mine = r.bundles.filter((b) => b.outcome !== 'skipped');
  const of = (o: string) => mine.filter((b) => b.outcome === o);
  const refused = of('refused');
  const failed = of('failed');
  const unacked = mine.filter((b) => b.ack_error);
  const rotationsRefused = r.rotations.filter((x) => x.outcome === 'refused');
  const notices = [
    ...rotationNotices(r.rotations),
    ...r.keys_written.map((k) => `wrote this hub's key rotation notice ${basename(k)} for the facilities`),
    ...(r.keys_error ? [`KEY ROTATION NOTICE NOT WRITTEN: ${r.keys_error.message} (it goes on the next drive)`] : []),
    ...r.gaps.map((g) => `gap: changes ${g.first}–${g.last} from ${g.origin} have not arrived`),
    ...requestNotices(r.requests),
  ];
  const done = tally([
    [of('applied').length, 'applied'],
    [of('already-applied').length, 'already had'],
    [refused.length, 'refused'],
    [failed.length, 'failed'],
  ]);
  const receiptsHere = r.receipts.filter((x) => x.outcome !== 'not-ours');
  const receiptsRefused = receiptsHere.filter((x) => x.outcome === 'refused' || x.outcome === 'failed');
  const receiptsRead = receiptsHere.length
    ? `; receipts from facilities: ${tally([
        [receiptsHere.filter((x) => x.outcome === 'accepted').length, 'accepted'],
        [receiptsRefused.length, 'refused'],
      ])}`
    : '';
  const summary = (mine.length === 0 ? 'no bundles for this hub on the drive' : `bundles: ${done}; ${count(r.acks_written.length)} signed ack(s) written`) + receiptsRead;
  if (unacked.length > 0) {
    // Applied, yet the facility never learns it and sends the same changes again: retry here.
    return {
      outcome: 'partial',
      safe_to_remove: false,
      why: `ACK NOT WRITTEN for ${count(unacked.length)} bundle(s): ${unacked[0]!.ack_error!.message}; ${summary}`,
      next: 'keep the drive: make it writable (write-protect switch, free space), then import it again to write the ack(s)',
      notices,
    };
  }
  if (failed.length > 0) {
    return { outcome: 'partial', safe_to_remove: false, why: `the drive failed during the import; ${summary}`, next: failed[0]!.reason?.hint ?? 'plug the drive in again and import it again', notices };
  }
  const partial = refused.length > 0 || rotationsRefused.length > 0 || receiptsRefused.length > 0;
  const next = partial ? whatToDo([...refused.map((b) => b.reason?.hint), ...rotationsRefused.map((x) => x.reason?.hint), ...receiptsRefused.map((x) => x.reason?.hint)]) : undefined;
  return {
    outcome: partial ? 'partial' : 'ok',
    safe_to_remove: true,
    why: rotationsRefused.length > 0 ? `${count(rotationsRefused.length)} key rotation notice(s) refused; ${summary}` : summary,
    ...(next ? { next } : {}),
    notices,
  };
}

/** Facilities' record requests read: what became of them, and what the operator must do. */
function requestNotices(requests: HubImportResult['requests']): string[] {
  const n = (o: string) => requests.filter((x) => x.outcome === o).length;
  const out: string[] = [];
  if (n('held')) out.push(`${count(n('held'))} record request(s) held for an operator: \`ferry requests\` lists them, \`ferry requests approve N\` answers one`);
  if (n('answered')) out.push(`${count(n('answered'))} record request(s) answered: the records go on the next \`ferry export\``);
  if (n('approved')) out.push(`${count(n('approved'))} record request(s) approved, to be answered once the hub holds the record`);
  if (n('denied')) out.push(`${count(n('denied'))} record request(s) denied (\`ferry requests --all\` says why)`);
  const refused = requests.filter((x) => x.outcome === 'refused' || x.outcome === 'failed').length;
  if (refused) out.push(`${count(refused)} record request(s) refused: ${requests.find((x) => x.reason)?.reason?.message ?? ''}`);
  return out;
}

/** Changes the hub received and could not apply: pending for a reason only the hub can show. */
function rejectedNotice(acks: FacilityImportResult['acks']): string[] {
  const n = acks.reduce((sum, a) => sum + (a.rejected ?? 0), 0);
  if (n === 0) return [];
  return [`the hub could not apply ${count(n)} change(s) it received: they stay pending and are sent again with every export until it can; \`ferry status\` at the hub says why (e.g. a table tracked with another scope there)`];
}

/** The hub's bundles for this facility: what came in, in one clause (empty when none were on the drive). */
function receivedClause(received: FacilityImportResult['received']): string {
  if (received.length === 0) return '';
  const rows = received.reduce((n, x) => n + (x.applied ?? 0), 0);
  return `; records from the hub: ${tally([
    [received.filter((x) => x.outcome === 'applied').length, 'bundle(s) applied'],
    [received.filter((x) => x.outcome === 'already-applied').length, 'already had'],
    [received.filter((x) => x.outcome === 'refused').length, 'refused'],
    [received.filter((x) => x.outcome === 'failed').length, 'could not be read'],
  ])} (${count(rows)} row(s) into the received database)`;
}

export function facilityImportVerdict(r: FacilityImportResult): Verdict {
  const mine = r.acks.filter((a) => a.outcome !== 'not-ours');
  const receivedRefused = r.received.filter((x) => x.outcome === 'refused');
  const refused = [...mine.filter((a) => a.outcome === 'refused'), ...receivedRefused];
  const failed = [...mine.filter((a) => a.outcome === 'failed'), ...r.received.filter((x) => x.outcome === 'failed')];
  const noReceipt = r.received.filter((x) => x.receipt_error);
  const rotationsRefused = r.rotations.filter((x) => x.outcome === 'refused');
  const partial = refused.length > 0 || rotationsRefused.length > 0;
  const notices = [
    ...rotationNotices(r.rotations),
    ...fenceNotice(r.restore_fence),
    ...(r.removed_bundles.length ? [`${count(r.removed_bundles.length)} delivered bundle(s) removed from the drive`] : []),
    ...rejectedNotice(mine),
    ...r.requests_answered.map((x) => `record request ${x.request_id.slice(0, 8)} answered: the record is in the received database (table ${x.table})`),
  ];
  const read =
    mine.length === 0
      ? 'no acknowledgements for this facility on the drive'
      : `acks: ${tally([
          [mine.filter((a) => a.outcome === 'accepted').length, 'accepted'],
          [mine.filter((a) => a.outcome === 'already-accepted').length, 'already had'],
          [mine.filter((a) => a.outcome === 'refused').length, 'refused'],
          [mine.filter((a) => a.outcome === 'failed').length, 'could not be read'],
          [mine.filter((a) => a.outcome === 'retired-key').length, 'signed with a retired key (not used)'],
        ])}; ${count(r.pruned)} change(s) confirmed`;
  const readAll = read + receivedClause(r.received);
  const refusedWhy = partial ? `${tally([[refused.length - receivedRefused.length, 'ack(s)'], [receivedRefused.length, "hub bundle(s)"], [rotationsRefused.length, 'key rotation notice(s)']])} refused; ` : '';
  if (noReceipt.length > 0) {
    // Applied, yet the hub never learns it and sends the same rows again: write it here.
    return {
      outcome: 'partial',
      safe_to_remove: false,
      why: `RECEIPT NOT WRITTEN for ${count(noReceipt.length)} hub bundle(s): ${noReceipt[0]!.receipt_error!.message}; ${refusedWhy}${readAll}`,
      next: 'keep the drive: make it writable (write-protect switch, free space), then import it again to write the receipt(s)',
      notices,
    };
  }
  if (failed.length > 0) {
    // The drive failed under an ack: what it confirms is unknown until it is read again.
    return { outcome: 'partial', safe_to_remove: false, why: `the drive failed while its acks were read; ${refusedWhy}${readAll}`, next: failed[0]!.reason?.hint ?? 'plug the drive in again and import it again', notices };
  }
  if (r.pending > 0) {
    // Reading acks is half of a visit: the drive leaves without what is still pending unless exported now.
    return {
      outcome: partial ? 'partial' : 'ok',
      safe_to_remove: false,
      why: `${refusedWhy}${readAll}; changes still pending: export now (${count(r.pending)} not yet confirmed by the hub)`,
      next: 'export to this drive now, then remove it',
      notices,
    };
  }
  const next = partial ? whatToDo([...refused.map((a) => a.reason?.hint), ...rotationsRefused.map((x) => x.reason?.hint)]) : undefined;
  return {
    outcome: partial ? 'partial' : 'ok',
    safe_to_remove: true,
    why: `${refusedWhy}${readAll}; nothing pending: the hub has confirmed every change`,
    ...(next ? { next } : {}),
    notices,
  };
}

export function hubExportVerdict(r: HubExportResult): Verdict {
  const bundles = r.facilities.reduce((n, f) => n + f.written.length, 0);
  const rows = r.facilities.reduce((n, f) => n + f.changes, 0);
  const skipped = r.facilities.flatMap((f) => f.skipped.map((e) => `NOT SENT to ${f.facility}: ${e.message}`));
  const next = r.facilities.flatMap((f) => f.skipped).find((e) => e.hint)?.hint;
  if (bundles === 0) return { outcome: skipped.length ? 'partial' : 'ok', safe_to_remove: true, why: 'nothing outgoing: every enrolled facility has acknowledged what it should hold; no bundle written', ...(next ? { next } : {}), notices: skipped };
  return {
    outcome: skipped.length ? 'partial' : 'ok',
    ...(next ? { next } : {}),
    safe_to_remove: true,
    why: `every bundle read back and verified: the drive carries ${count(rows)} row(s) for ${r.facilities.filter((f) => f.written.length).map((f) => f.facility).join(', ')} (${count(bundles)} bundle(s))`,
    notices: skipped,
  };
}

export function exportVerdict(r: ExportResult): Verdict {
  const notices = [
    ...fenceNotice(r.restore_fence),
    ...r.columns_updated.map((t) => `table ${t}: its columns changed; all its rows were queued again`),
    ...r.keys_written.map((k) => `wrote this node's key rotation notice ${basename(k)} for ${r.hub}`),
    ...(r.removed_superseded.length ? [`removed ${count(r.removed_superseded.length)} older bundle(s) of this node made with keys since replaced; their changes are in the bundles written now`] : []),
    ...(r.warnings.length ? [`${count(r.warnings.length)} column warning(s): \`ferry track --table T\` lists them`] : []),
    ...(r.requests_written.length ? [`${count(r.requests_written.length)} record request(s) for ${r.hub} on the drive, waiting for an answer`] : []),
  ];
  // No bundle, yet the drive may have changed: a key rotation notice goes on it even so.
  if (r.pending === 0) return { outcome: 'ok', safe_to_remove: true, why: 'nothing pending: every captured change has been acknowledged by the hub; no bundle written', notices };
  return { outcome: 'ok', safe_to_remove: true, why: `every bundle read back and verified: the drive carries all ${count(r.pending)} change(s) pending for ${r.hub}`, notices };
}

/**
 * An operation that stopped with an error. A refusal, a usage error or a held lock stops it before
 * it starts; a cancel, an I/O error or a bug can stop an import between bundles, after some were
 * applied and acknowledged. So this says what stopped it and never that nothing changed. The drive
 * may go: the operation is over and every write to the drive is atomic.
 */
export function stoppedVerdict(op: 'export' | 'import', e: ErrorDoc): Verdict {
  const what = op === 'export' ? 'Export' : 'Import';
  if (e.kind === 'bug') {
    return {
      outcome: 'failed',
      safe_to_remove: true,
      why: `${what} FAILED, a bug in ferry: ${e.message}`,
      next: e.hint ?? 'this is a bug in ferry; please report it with what you were doing (`ferry log` shows what was done)',
      notices: [],
    };
  }
  return {
    outcome: 'failed',
    safe_to_remove: true,
    why: `${what} ${e.kind === 'cancelled' ? 'cancelled' : 'FAILED'}: ${e.message}`,
    ...(e.hint ? { next: e.hint } : {}),
    notices: [],
  };
}

/**
 * A watch run over many drives, for its exit code: partial when any drive was not ok, even one
 * that failed outright, since the watch went on with the others. `events` are the run's drives.
 */
export function watchRunVerdict(events: ReadonlyArray<{ verdict: Verdict }>): Verdict {
  const of = (o: Verdict['outcome']) => events.filter((e) => e.verdict.outcome === o).length;
  const ok = of('ok') === events.length;
  return {
    outcome: ok ? 'ok' : 'partial',
    safe_to_remove: events.every((e) => e.verdict.safe_to_remove),
    why: events.length === 0 ? 'no drive with a FERRY folder was found' : `${count(events.length)} drive(s): ${tally([[of('ok'), 'imported'], [of('partial'), 'partial'], [of('failed'), 'failed']])}`,
    ...(ok ? {} : { next: "each drive's line says what to do" }),
    notices: [],
  };
}
