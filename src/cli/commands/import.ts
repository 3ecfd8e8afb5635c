import { basename } from 'node:path';
import { count } from '../../core/format-numbers.js';
import { defineCommand } from '../command.js';
import { exitCodeForOutcome } from '../exit-codes.js';
import type { Output } from '../output.js';
import type { FacilityImportResult } from '../../facility/read-acks.js';
import type { HubImportResult } from '../../hub/import-bundles.js';
import type { RotationReport } from '../../node/peer-rotations.js';
import { printVerdict } from '../verdict-lines.js';
import { rejectionLine } from '../../roles/rejection-text.js';
import { isHub } from '../../node/role.js';

export default defineCommand<{ from: string }>({
  command: 'import',
  describe: 'hub: verify, apply and acknowledge the bundles on a drive; facility: read the hub\'s acks',
  builder: (y) => y.option('from', { type: 'string', demandOption: true, describe: 'the drive (its root folder)' }),
  async run(a, ctx, out) {
    const { importDrive } = await import('../../roles/import.js');
    const r = await importDrive(ctx, { from: a.from });
    printRefusedRotations(r.rotations, out);
    if (isHub(r)) printBundles(r, out);
    else printAcks(r, out);
    printVerdict(r.verdict, out);
    out.result({ ...r });
    return exitCodeForOutcome(r.verdict.outcome);
  },
});

/** A refused key rotation notice is an item refused, listed like a bundle; an accepted one is the verdict's news. */
function printRefusedRotations(rotations: RotationReport[], out: Output): void {
  for (const x of rotations.filter((r) => r.outcome === 'refused')) {
    out.line(`REFUSED  key rotation notice ${basename(x.file)}: ${x.reason?.message}`);
    if (x.reason?.hint) out.line(`         what to do: ${x.reason.hint}`);
  }
}

function printBundles(r: HubImportResult, out: Output): void {
  for (const b of r.bundles) {
    const name = basename(b.file);
    const c = b.counts;
    if (b.outcome === 'applied') out.line(`applied  ${name}: from ${b.sender}, changes ${b.seq?.first}–${b.seq?.last}: ${c?.applied} applied, ${c?.already_present} already had, ${c?.conflicts} conflicts, ${c?.rejected} rejected`);
    else if (b.outcome === 'already-applied') out.line(`had it   ${name}: from ${b.sender}, applied before; nothing changed`);
    else if (b.outcome === 'skipped') out.line(`skipped  ${name}: ${b.reason?.message}`);
    else if (b.outcome === 'failed') out.line(`FAILED   ${name}: ${b.reason?.message}; ${b.reason?.hint ?? ''}`);
    else {
      out.line(`REFUSED  ${name}: ${b.reason?.message}`);
      if (b.reason?.hint) out.line(`         what to do: ${b.reason.hint}`);
      if (b.quarantined) out.line(`         a copy is in quarantine: ${b.quarantined}; the drive was not changed`);
      if (b.quarantine_error) out.line(`         NOT COPIED to quarantine: ${b.quarantine_error.message}; ${b.quarantine_error.hint ?? ''}`);
    }
    // Each reason once: it says what to do, and the changes wait at the facility meanwhile.
    for (const r of b.rejections ?? []) out.line(`         ${rejectionLine(r)}`);
    if (b.ack) out.line(`         ack written: ${basename(b.ack)}`);
    // What to do about it is the verdict's `next`.
    if (b.ack_error) out.line(`         ACK NOT WRITTEN: ${b.ack_error.message}`);
  }
  for (const x of r.requests.filter((k) => k.outcome !== 'not-ours')) {
    const name = basename(x.file);
    if (x.outcome === 'refused' || x.outcome === 'failed') out.line(`${x.outcome === 'failed' ? 'FAILED ' : 'REFUSED'}  request ${name}: ${x.reason?.message}`);
    else out.line(`request  #${x.id} from ${x.facility}: ${x.outcome === 'held' ? 'held for an operator (`ferry requests`)' : x.outcome === 'approved' ? 'approved; answered once the hub holds the record' : x.outcome === 'already-had' ? 'had it already' : x.outcome}`);
  }
  for (const x of r.receipts.filter((k) => k.outcome !== 'not-ours')) {
    const name = basename(x.file);
    if (x.outcome === 'accepted') out.line(`receipt  ${name}: ${x.facility} holds ${x.rows} more row(s) sent to it`);
    else out.line(`${x.outcome === 'failed' ? 'FAILED ' : 'REFUSED'}  receipt ${name}: ${x.reason?.message}`);
  }
}

function printAcks(r: FacilityImportResult, out: Output): void {
  for (const k of r.acks.filter((x) => x.outcome !== 'not-ours')) {
    const name = basename(k.file);
    if (k.outcome === 'refused') out.line(`REFUSED  ${name}: ${k.reason?.message}`);
    else if (k.outcome === 'retired-key') out.line(`not used ${name}: ${k.reason?.message}`);
    else out.line(`${k.outcome === 'accepted' ? 'accepted' : 'had it  '} ${name}: ${k.hub} confirms changes ${k.seq?.first}–${k.seq?.last}${k.rejected ? `, except ${count(k.rejected)} it could not apply` : ''}`);
  }
  for (const x of r.received) {
    const name = basename(x.file);
    if (x.outcome === 'applied') out.line(`received ${name}: ${count(x.applied ?? 0)} row(s) from the hub into the received database`);
    else if (x.outcome === 'already-applied') out.line(`had it   ${name}: received before; nothing changed`);
    else {
      out.line(`${x.outcome === 'failed' ? 'FAILED  ' : 'REFUSED '} ${name}: ${x.reason?.message}; nothing from it was applied`);
      if (x.reason?.hint) out.line(`         what to do: ${x.reason.hint}`);
    }
    if (x.receipt) out.line(`         receipt written: ${basename(x.receipt)}`);
    if (x.receipt_error) out.line(`         RECEIPT NOT WRITTEN: ${x.receipt_error.message}`);
  }
}
