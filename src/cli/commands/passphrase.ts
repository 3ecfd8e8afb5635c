import { defineCommand } from '../command.js';

export default defineCommand({
  command: 'passphrase',
  describe: 'change the passphrase that protects this node’s secret keys (peers notice nothing)',
  builder: (y) =>
    y.epilogue(
      'Asks for the current passphrase, then the new one twice. Without a terminal: FERRY_PASSPHRASE (current) and FERRY_NEW_PASSPHRASE (new), or their _FILE forms.',
    ),
  async run(_a, ctx, out) {
    const { changePassphrase } = await import('../../node/passphrase-change.js');
    const r = await changePassphrase(ctx);
    out.line(r.was_plain ? `sealed the secret keys of ${r.id} with the new passphrase (they were stored unencrypted)` : `changed the passphrase of ${r.id}`);
    out.line(`fingerprint unchanged: ${r.fingerprint}`);
    out.line('unattended scripts that set FERRY_PASSPHRASE need the new one');
    out.result({ ...r });
  },
});
