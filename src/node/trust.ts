/** `ferry trust CARD` and `ferry revoke ID`. */
import { readFileSync } from 'node:fs';
import { ErrorCodes, refusedError, usageError } from '../core/errors.js';
import { parseCard, type PublicIdentity } from '../format/identity.js';
import type { Peer, PeerDirectory } from '../store/peer-directory.js';
import { isHub, peerRoleOf } from './role.js';
import type { OpContext } from './context.js';
import { withLockedSession } from './node-session.js';

export interface TrustOptions {
  card: string;
  /** accept a different key for an id already trusted (a key change, made explicit) */
  replace?: boolean;
  /** trust again a peer that was revoked (a decision made explicit, and audited) */
  reinstate?: boolean;
}

export interface TrustResult {
  /** the card's identity, under the id the peer is trusted as (ids compare in any case) */
  peer: PublicIdentity;
  outcome: 'added' | 'unchanged' | 'replaced' | 're-enrolled';
  previous_fingerprint?: string;
}

export function readCardFile(path: string): PublicIdentity {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // The file is not there or cannot be read: a wrong path or permissions, not a bad card.
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${(err as Error).message})`;
    throw usageError(ErrorCodes.USAGE, `the card file ${path} ${why}`, { where: path, cause: err, hint: 'give the path of an identity card written by `ferry identity --out FILE`' });
  }
  return parseCard(text, path);
}

const sameKey = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Another trusted (or once trusted) peer holding one of the card's keys, now or before a rotation. */
async function keysHeldByOther(peers: PeerDirectory, card: PublicIdentity): Promise<{ peer: Peer; retiredAt?: string } | undefined> {
  const holds = (k: { signingKey: Uint8Array; encryptionKey: Uint8Array }) => sameKey(k.signingKey, card.signingKey) || sameKey(k.encryptionKey, card.encryptionKey);
  for (const peer of await peers.peers()) {
    if (peer.id.toLowerCase() === card.id.toLowerCase()) continue;
    if (holds(peer)) return { peer };
    const retired = (await peers.retiredKeys(peer.id)).find(holds);
    if (retired) return { peer, retiredAt: retired.retiredAt };
  }
  return undefined;
}

/**
 * A key belongs to one peer. Under a new id, a revoked peer's keys would send again without the
 * explicit --reinstate (the card's id is only text anyone can edit), and a trusted peer's keys
 * would make two ids of one signer.
 */
async function refuseKeysOfAnother(peers: PeerDirectory, card: PublicIdentity, where: string): Promise<void> {
  const other = await keysHeldByOther(peers, card);
  if (!other) return;
  const { peer } = other;
  const whose = other.retiredAt ? `keys ${peer.id} used until its key rotation on ${other.retiredAt}` : `keys of ${peer.id}`;
  if (peer.revoked) {
    throw usageError(ErrorCodes.PEER_REVOKED, `the card for ${card.id} carries the ${whose}; ${peer.id} was revoked on ${peer.revoked.at} (${peer.revoked.reason || 'no reason given'}), and a revoked peer cannot come back under another id`, {
      where,
      hint: `if ${peer.id} is to send again, compare the fingerprint aloud with ${peer.id}, then run \`ferry trust CARD --reinstate\` with a card made for the id ${peer.id}`,
    });
  }
  throw usageError(ErrorCodes.CARD_INVALID, `the card for ${card.id} carries the ${whose}, whom this node trusts already: one key cannot be two peers`, {
    where,
    hint: `if ${card.id} is a new node, it needs keys of its own (\`ferry init\` makes them); if it is ${peer.id} renamed, keep trusting it as ${peer.id}`,
  });
}

export function trustPeer(ctx: OpContext, o: TrustOptions): Promise<TrustResult> {
  return withLockedSession(ctx, undefined, 'trust', async (s) => {
    const card = readCardFile(o.card);
    const wanted = peerRoleOf(s.config.role);
    const atFacility = !isHub(s.config);
    if (card.role !== wanted) {
      throw refusedError(ErrorCodes.CARD_WRONG_ROLE, `${card.id} is a ${card.role}; a ${s.config.role} trusts ${atFacility ? 'its hub' : 'facilities'} only`, {
        where: o.card,
        hint: atFacility ? "use the hub's identity card" : "use the facility's identity card",
      });
    }
    if (card.id.toLowerCase() === s.id.toLowerCase()) {
      throw refusedError(ErrorCodes.CARD_INVALID, `${card.id} is this node's own id`, { where: o.card });
    }
    const peers = s.directory();
    await refuseKeysOfAnother(peers, card, o.card);
    const existing = await peers.peer(card.id);
    if (atFacility) {
      const other = (await peers.peers()).find((p) => isHub(p) && p.id.toLowerCase() !== card.id.toLowerCase());
      if (other) {
        throw refusedError(ErrorCodes.KEY_CHANGED, `${s.id} already sends to hub ${other.id}; a facility has one hub`, {
          hint: 'make a new facility node for a second hub',
        });
      }
    }
    if (existing?.revoked && !o.reinstate) {
      throw usageError(ErrorCodes.PEER_REVOKED, `${existing.id} was revoked on ${existing.revoked.at} (${existing.revoked.reason || 'no reason given'}); trusting its card again would let it send again`, {
        where: o.card,
        hint: `if it is to send again, compare the fingerprint ${card.fingerprint} aloud with ${existing.id}, then run \`ferry trust CARD --reinstate\``,
      });
    }
    const keyChanged = existing !== undefined && existing.fingerprint !== card.fingerprint;
    // A revoked peer's old key is distrusted already: --reinstate is the explicit decision for a new one.
    if (existing && keyChanged && !existing.revoked && !o.replace) {
      throw refusedError(ErrorCodes.KEY_CHANGED, `${existing.id} is already trusted with fingerprint ${existing.fingerprint}; this card has ${card.fingerprint}`, {
        where: o.card,
        hint: 'a key change must be explicit: confirm the new fingerprint aloud with the peer, then run `ferry trust CARD --replace`',
      });
    }
    // The peer keeps the id it was first trusted as: its origins and audit entries are filed under it.
    const peer: PublicIdentity = { ...card, id: existing?.id ?? card.id };
    const previous = keyChanged ? { previous_fingerprint: existing!.fingerprint } : {};
    if (existing && !existing.revoked && !keyChanged && existing.name === card.name) return { peer, outcome: 'unchanged' as const };
    await peers.putPeer(peer, ctx.now().toISOString());
    if (existing?.revoked) {
      await peers.audit({
        action: 'reinstate',
        peer: peer.id,
        outcome: 're-enrolled',
        detail: { fingerprint: card.fingerprint, role: card.role, revoked_at: existing.revoked.at, revoked_reason: existing.revoked.reason, ...previous },
      });
      return { peer, outcome: 're-enrolled' as const, ...(keyChanged ? { previous_fingerprint: existing.fingerprint } : {}) };
    }
    const outcome = !existing ? 'added' : keyChanged ? 'replaced' : 'unchanged';
    await peers.audit({ action: 'trust', peer: peer.id, outcome, detail: { fingerprint: card.fingerprint, role: card.role, ...previous } });
    return { peer, outcome, ...(keyChanged ? { previous_fingerprint: existing!.fingerprint } : {}) };
  });
}

export interface RevokeResult {
  peer: Peer;
  outcome: 'revoked' | 'already-revoked';
}

export function revoke(ctx: OpContext, o: { id: string; reason?: string }): Promise<RevokeResult> {
  return withLockedSession(ctx, 'hub', 'revoke', async (s) => {
    const peers = s.directory();
    const peer = await peers.peer(o.id);
    if (!peer || isHub(peer)) {
      throw usageError(ErrorCodes.PEER_UNKNOWN, `no enrolled facility ${o.id}`, { hint: 'see the enrolled facilities with `ferry status`' });
    }
    if (peer.revoked) return { peer, outcome: 'already-revoked' as const };
    const at = ctx.now().toISOString();
    const reason = o.reason ?? 'revoked by the hub operator';
    await peers.revokePeer(peer.id, at, reason);
    await peers.audit({ action: 'revoke', peer: peer.id, outcome: 'revoked', detail: { reason, fingerprint: peer.fingerprint } });
    return { peer: { ...peer, revoked: { at, reason } }, outcome: 'revoked' as const };
  });
}
