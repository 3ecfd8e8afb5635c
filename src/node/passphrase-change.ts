/** `ferry passphrase`: seal the node's secret keys under a new passphrase; peers notice nothing. */
import { readSecretKeyFile, replaceSecretKeys } from '../store/home.js';
import type { OpContext } from './context.js';
import { withLockedSession } from './node-session.js';
import { sealWithNewPassphrase } from './unlock.js';

export interface PassphraseChangeResult {
  id: string;
  fingerprint: string;
  /** the key file was plain (written before ferry sealed keys) and is now sealed */
  was_plain: boolean;
}

export function changePassphrase(ctx: OpContext): Promise<PassphraseChangeResult> {
  return withLockedSession(ctx, undefined, 'passphrase', async (s) => {
    const wasPlain = readSecretKeyFile(ctx.home, s.id).version === 1;
    const keys = await s.nodeKeys(); // the current passphrase: only its holder may change it
    // tweetnacl's 64-byte signing secret key is the 32-byte seed followed by the public key.
    const sealed = await sealWithNewPassphrase(ctx, 'change', s.id, { signingSeed: keys.signingSecretKey.slice(0, 32), encryptionSecret: keys.encryptionSecretKey });
    replaceSecretKeys(ctx.home, s.id, sealed);
    await s.audit({ action: 'passphrase', outcome: 'changed', detail: { was_plain: wasPlain, scrypt_log_n: sealed.kdf.log_n } });
    return { id: s.id, fingerprint: keys.identity.fingerprint, was_plain: wasPlain };
  });
}
