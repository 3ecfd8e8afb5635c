/** `ferry identity`: show this node's public identity and optionally write its card. */
import { writeFileSync } from 'node:fs';
import { toCard, type IdentityCard, type PublicIdentity } from '../format/identity.js';
import type { OpContext } from './context.js';
import { withSession } from './node-session.js';

export interface IdentityResult {
  identity: PublicIdentity;
  card: IdentityCard;
  written?: string;
}

export function showIdentity(ctx: OpContext, o: { out?: string }): Promise<IdentityResult> {
  return withSession(ctx, undefined, 'identity', (s) => {
    const identity = s.identity();
    const card = toCard(identity);
    if (o.out) writeFileSync(o.out, `${JSON.stringify(card, null, 2)}\n`);
    return { identity, card, ...(o.out ? { written: o.out } : {}) };
  });
}
