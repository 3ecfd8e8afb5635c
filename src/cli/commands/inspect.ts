import { basename } from 'node:path';
import type { InspectItem } from '../../courier/inspect.js';
import { defineCommand } from '../command.js';
import { ExitCode } from '../exit-codes.js';

const sigText: Record<InspectItem['signature'], string> = {
  trusted: 'signed by a trusted node',
  own: 'signed by this node',
  'unknown-signer': 'signer NOT trusted here',
  revoked: 'signer REVOKED',
  invalid: 'signature INVALID',
  unchecked: 'signature not checked',
};

export default defineCommand<{ path: string }>({
  command: 'inspect <path>',
  describe: 'list the bundles, acks, receipts, record requests and key rotation notices on a drive (or in one file): who, for whom, intact, signed; needs no secret key',
  builder: (y) => y.positional('path', { type: 'string', describe: 'a drive folder, a .ferry-bundle or a .ferry-ack' }),
  async run(a, ctx, out) {
    const { inspect } = await import('../../courier/inspect.js');
    const r = await inspect(ctx, { path: a.path });
    if (r.unchecked_because) out.line(`signatures of other nodes NOT checked: ${r.unchecked_because.message} (${r.unchecked_because.code})`);
    else if (!r.checked_by) out.line('signatures NOT checked: no node in this home (give --home to check them against its trusted peers)');
    if (r.items.length === 0) out.line(`no ferry files in ${r.path}`);
    for (const i of r.items) {
      const range = i.seq ? `changes ${i.seq.first}–${i.seq.last}` : '';
      out.line(`${i.ok ? 'OK     ' : 'PROBLEM'} ${i.kind.padEnd(7)} ${basename(i.file)}`);
      if (i.kind === 'key-rotation') {
        if (i.sender) out.line(`        ${i.sender} replaces key ${i.signer_fingerprint} with ${i.new_fingerprint}  created ${i.created}`);
        out.line(`        ${i.intact ? 'intact' : 'DAMAGED'}, ${i.signature === 'trusted' ? 'signed by a key this node trusts (or trusted) for it' : sigText[i.signature]}`);
        if (i.error) out.line(`        ${i.error.code}: ${i.error.message}`);
        continue;
      }
      const what =
        i.kind === 'bundle'
          ? `${i.changes} changes`
          : i.kind === 'receipt'
            ? `holds ${i.counts?.applied} new, ${i.counts?.already_present} already had`
            : i.kind === 'request'
              ? 'a record request (what it asks for is sealed to the hub)'
              : `applied ${i.counts?.applied}, already had ${i.counts?.already_present}, conflicts ${i.counts?.conflicts}, rejected ${i.counts?.rejected}`;
      if (i.sender) out.line(`        ${i.sender} -> ${i.recipient}  ${range}  ${what}  ${i.bytes} bytes  created ${i.created}`);
      out.line(`        ${i.intact ? 'intact' : 'DAMAGED'}, ${sigText[i.signature]}${i.signer_fingerprint ? ` (${i.signer_fingerprint})` : ''}`);
      if (i.error) out.line(`        ${i.error.code}: ${i.error.message}`);
    }
    for (const p of r.partial) out.line(`PARTIAL ${basename(p)}: an unfinished write (ignored; safe to delete)`);
    out.result({ path: r.path, checked_by: r.checked_by ?? null, ...(r.unchecked_because ? { unchecked_because: r.unchecked_because } : {}), items: r.items, partial: r.partial });
    return r.items.every((i) => i.ok) ? ExitCode.OK : ExitCode.PARTIAL;
  },
});
