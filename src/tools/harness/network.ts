/**
 * A hub and facilities that trust each other, as an operator sets them up (init, identity cards
 * exchanged, each side trusting the other): the one setup behind the tests, the demo, the bench,
 * the convergence simulation and the power-cut harness. What each facility tracks is the caller's.
 */
import { join } from 'node:path';
import { makeContext, type OpContext } from '../../node/context.js';
import { showIdentity } from '../../node/identity.js';
import { initNode } from '../../node/init.js';
import { trustPeer } from '../../node/trust.js';

export interface FacilitySpec {
  id: string;
  name?: string;
  /** its EMR database, which must exist already (init checks it) */
  db: string;
}

export interface NetworkSite {
  id: string;
  ctx: OpContext;
  db: string;
  /** its identity card, beside the homes */
  card: string;
  fingerprint: string;
}

export interface FerryNetwork {
  hub: OpContext;
  hubCard: string;
  hubFingerprint: string;
  sites: NetworkSite[];
}

/**
 * In `root`: the hub's home `hub`, each facility's its id in lower case, and each card as
 * `ID.card.json`. `context` makes a node's context from its home (the demo's passphrase and clock).
 */
export async function setUpNetwork(
  root: string,
  o: { hub: { id: string; name?: string; db?: string }; facilities: FacilitySpec[]; context?: (home: string) => OpContext },
): Promise<FerryNetwork> {
  const context = o.context ?? ((home: string) => makeContext(home));
  const hub = context(join(root, 'hub'));
  await initNode(hub, { role: 'hub', id: o.hub.id, ...(o.hub.name !== undefined ? { name: o.hub.name } : {}), ...(o.hub.db !== undefined ? { db: o.hub.db } : {}) });
  const hubCard = join(root, `${o.hub.id}.card.json`);
  const hubFingerprint = (await showIdentity(hub, { out: hubCard })).identity.fingerprint;
  const sites: NetworkSite[] = [];
  for (const f of o.facilities) {
    const ctx = context(join(root, f.id.toLowerCase()));
    await initNode(ctx, { role: 'facility', id: f.id, db: f.db, ...(f.name !== undefined ? { name: f.name } : {}) });
    const card = join(root, `${f.id}.card.json`);
    const fingerprint = (await showIdentity(ctx, { out: card })).identity.fingerprint;
    await trustPeer(ctx, { card: hubCard });
    await trustPeer(hub, { card });
    sites.push({ id: f.id, ctx, db: f.db, card, fingerprint });
  }
  return { hub, hubCard, hubFingerprint, sites };
}
