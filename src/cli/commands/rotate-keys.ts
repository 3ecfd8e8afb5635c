import { defineCommand } from '../command.js';

export default defineCommand<{ drive?: string }>({
  command: 'rotate-keys',
  describe: 'make new keys and a rotation notice signed with the old ones; peers accept it from a drive',
  builder: (y) =>
    y
      .option('drive', { type: 'string', describe: 'also write the notice to this drive now (it goes on every drive this node writes to anyway)' })
      .epilogue('The new keys are sealed with the current passphrase. From now on everything this node signs uses the new key; peers refuse what the old key signs once they have read the notice.'),
  async run(a, ctx, out) {
    const { rotateKeys } = await import('../../node/rotate.js');
    const r = await rotateKeys(ctx, a.drive ? { drive: a.drive } : {});
    out.line(`rotated the keys of ${r.id}`);
    out.line(`old fingerprint: ${r.old_fingerprint} (retired)`);
    out.line(`new fingerprint: ${r.new_fingerprint}`);
    if (r.written) out.line(`notice written: ${r.written}`);
    out.line('peers learn the new key from the rotation notice on the next drive; nothing else to do. Its new card: `ferry identity --out FILE`');
    out.result({ ...r });
  },
});
