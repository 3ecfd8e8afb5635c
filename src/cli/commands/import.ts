import { basename } from 'node:path';
import { defineCommand } from '../command.js';
import { exitCodeForOutcome } from '../exit-codes.js';
import type { Output } from '../output.js';
import type { Verdict } from '../../core/verdict.js';
import type { RotationReport } from '../../node/peer-rotations.js';
import { describeFence } from '../fence-text.js';
import { isHub } from '../../node/role.js';

export default defineCommand<{ from: string }>({
  command: 'import',
  describe: 'hub: verify, apply and acknowledge the bundles on a drive; facility: read the hub\'s acks',
  builder: (y) => y.option('from', { type: 'string', demandOption: true, describe: 'the drive (its root folder)' }),
  async run(a, ctx, out) {
    const { importDrive } = await import('../../roles/import.js');
    const r = await importDrive(ctx, { from: a.from });
    printRotations(r.rotations, out);
    if (isHub(r)) {
      const mine = r.bundles.filter((b) => b.outcome !== 'skipped');
      if (mine.length === 0) out.line(`no bundles for this hub on ${r.drive}`);
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
        if (b.ack) out.line(`         ack written: ${basename(b.ack)}`);
        if (b.ack_error) out.line(`         ACK NOT WRITTEN: ${b.ack_error.message} (import the drive again to write it)`);
      }
      for (const g of r.gaps) out.line(`gap: changes ${g.first}–${g.last} from ${g.origin} have not arrived`);
      for (const k of r.keys_written) out.line(`wrote this hub's key rotation notice ${basename(k)} for the facilities`);
      if (r.keys_error) out.line(`KEY ROTATION NOTICE NOT WRITTEN: ${r.keys_error.message} (it goes on the next drive)`);
      printNext(r.verdict, out);
      out.result({ ...r });
      return exitCodeForOutcome(r.verdict.outcome);
    }
    const mine = r.acks.filter((k) => k.outcome !== 'not-ours');
    if (mine.length === 0) out.line(`no acknowledgements for this facility on ${r.drive}`);
    for (const k of mine) {
      const name = basename(k.file);
      if (k.outcome === 'refused') out.line(`REFUSED  ${name}: ${k.reason?.message}`);
      else if (k.outcome === 'retired-key') out.line(`not used ${name}: ${k.reason?.message}`);
      else out.line(`${k.outcome === 'accepted' ? 'accepted' : 'had it  '} ${name}: ${k.hub} confirms changes ${k.seq?.first}–${k.seq?.last}`);
    }
    if (r.restore_fence) out.line(`WARNING: ${describeFence(r.restore_fence)}`);
    if (r.pruned) out.line(`${r.pruned} delivered change(s) removed from the change log`);
    if (r.removed_bundles.length) out.line(`${r.removed_bundles.length} delivered bundle(s) removed from the drive`);
    out.line(`pending: ${r.pending} change(s) not yet acknowledged`);
    printNext(r.verdict, out);
    out.result({ ...r });
    return exitCodeForOutcome(r.verdict.outcome);
  },
});

/** The drive must stay for one more step: say which (ack to write again, changes to export). */
function printNext(v: Verdict, out: Output): void {
  if (!v.safe_to_remove && v.next) out.line(`next: ${v.next}`);
}

/** Accepted and refused key rotations first: a new fingerprint is news the operator must see. */
function printRotations(rotations: RotationReport[], out: Output): void {
  for (const x of rotations) {
    if (x.outcome === 'accepted') out.line(`key rotation: ${x.id} now uses the key with fingerprint ${x.new_fingerprint} (was ${x.old_fingerprint}); its notice was signed by the old key`);
    else if (x.outcome === 'refused') {
      out.line(`REFUSED  key rotation notice ${basename(x.file)}: ${x.reason?.message}`);
      if (x.reason?.hint) out.line(`         what to do: ${x.reason.hint}`);
    }
  }
}
