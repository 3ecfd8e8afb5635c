/** `ferry identity`: show this node's public identity and optionally write its card. */
import { writeFileSync } from 'node:fs';
import { toCard, type IdentityCard, type PublicIdentity } from '../format/identity.js';
import type { OpContext } from './context.js';
import { readConfig, readOwnCard } from '../store/home.js';
import { pendingOwnCard } from './node-session.js';

export interface IdentityResult {
  identity: PublicIdentity;
  card: IdentityCard;
  written?: string;
}

/**
 * Needs only the card (or a decided rotation's), not a session: it works on a state.db an older
 * ferry made, so a card can be handed over before the upgrade's first import migrates it.
 */
export async function showIdentity(ctx: OpContext, o: { out?: string }): Promise<IdentityResult> {
  const config = readConfig(ctx.home);
  const identity = pendingOwnCard(ctx, config) ?? readOwnCard(ctx.home, config);
  const card = toCard(identity);
  if (o.out) writeFileSync(o.out, `${JSON.stringify(card, null, 2)}\n`);
  return { identity, card, ...(o.out ? { written: o.out } : {}) };
}
