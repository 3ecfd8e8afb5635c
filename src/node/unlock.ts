/** Unlocking a node's secret keys, and sealing new ones: the only code that asks for a passphrase. */
import { ErrorCodes, FerryError, usageError } from '../core/errors.js';
import { nodeKeysFrom, type NodeKeys, type PublicIdentity, type SecretKeys } from '../format/identity.js';
import { openSealedSecret, sealSecretKeys, type SealedSecret } from '../keys/sealed-secret.js';
import { HOME_FILES, readSecretKeyFile, type NodeConfig } from '../store/home.js';
import { join } from 'node:path';
import type { OpContext } from './context.js';
import { passphraseNeeded, type PassphrasePurpose } from './passphrase.js';

/** A person at a prompt gets three tries, as with sudo; an environment variable gets one. */
const MAX_ATTEMPTS = 3;

async function ask(ctx: OpContext, purpose: PassphrasePurpose, node: string, attempt: number) {
  const answer = await ctx.passphrase({ purpose, node, attempt });
  if (!answer) throw passphraseNeeded({ purpose, node, attempt });
  return answer;
}

async function openWithRetries(ctx: OpContext, id: string, sealed: SealedSecret, where: string): Promise<SecretKeys> {
  for (let attempt = 1; ; attempt++) {
    const answer = await ask(ctx, 'unlock', id, attempt);
    try {
      return await openSealedSecret(sealed, id, answer.passphrase, where);
    } catch (err) {
      const again = err instanceof FerryError && err.code === ErrorCodes.PASSPHRASE_WRONG && answer.canRetry && attempt < MAX_ATTEMPTS;
      if (!again) throw err;
    }
  }
}

/**
 * Open the node's secret keys and check they belong to the public card everyone trusts. `pending`
 * is the card of a key rotation decided but not finished (a session that only reads does not
 * finish it): the key file may already hold its keys while identity.json does not yet.
 */
export async function unlockNodeKeys(ctx: OpContext, config: NodeConfig, card: PublicIdentity, pending?: PublicIdentity): Promise<NodeKeys> {
  const where = join(ctx.home, HOME_FILES.secret);
  const stored = readSecretKeyFile(ctx.home, config.id);
  // Version 1 was written before keys were sealed; `ferry passphrase` seals it.
  const secret = stored.version === 1 ? stored.keys : await openWithRetries(ctx, config.id, stored.sealed, where);
  const keys = nodeKeysFrom(secret, { id: config.id, name: config.name, role: config.role, created: config.created });
  const matching = [card, pending].find((c) => c?.fingerprint === keys.identity.fingerprint);
  if (!matching) {
    throw usageError(ErrorCodes.SECRET_KEY_UNREADABLE, `${where} holds keys with fingerprint ${keys.identity.fingerprint}, but this node's card says ${card.fingerprint}`, {
      where,
      hint: pending
        ? 'a key rotation was cut short: run any command that changes state (e.g. `ferry import`) to finish the key rotation'
        : 'the key file and identity.json come from different nodes or backups; restore both from the same backup',
    });
  }
  return { ...keys, identity: matching };
}

/** Ask for a new passphrase (twice at a prompt: the source checks the two agree) and seal `secret` with it. */
export async function sealWithNewPassphrase(ctx: OpContext, purpose: 'create' | 'change', id: string, secret: SecretKeys): Promise<SealedSecret> {
  const answer = await ask(ctx, purpose, id, 1);
  return sealSecretKeys(id, secret, answer.passphrase, { logN: ctx.kdfLogN, random: ctx.random });
}
