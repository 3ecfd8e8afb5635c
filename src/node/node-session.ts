/** An opened node: its config, state database and (on demand) secret keys. */
import { ErrorCodes, usageError } from '../core/errors.js';
import type { NodeKeys, PublicIdentity, Role } from '../format/identity.js';
import { readConfig, readOwnCard, type NodeConfig } from '../store/home.js';
import { NodeState } from '../store/node-state.js';
import type { HubStore } from '../store/hub-store.js';
import { openHubStore } from '../store/open-hub-store.js';
import type { AuditEvent, Peer, PeerDirectory } from '../store/peer-directory.js';
import { unlockNodeKeys } from './unlock.js';
import { finishRotation } from './own-rotations.js';
import { rememberingUnlock } from './passphrase.js';
import type { OpContext } from './context.js';
import { acquireLock, type HeldLock } from './lock.js';
import { isHub } from './role.js';

export class NodeSession {
  private keys: Promise<NodeKeys> | undefined;
  private store: HubStore | undefined;
  private card: PublicIdentity | undefined;
  private constructor(
    readonly ctx: OpContext,
    readonly config: NodeConfig,
    readonly state: NodeState,
  ) {}

  static open(ctx: OpContext, role?: Role, command?: string): NodeSession {
    const config = readConfig(ctx.home);
    if (role && config.role !== role) {
      throw usageError(ErrorCodes.WRONG_ROLE, `\`ferry ${command ?? ''}\` is for a ${role}; ${config.id} in ${ctx.home} is a ${config.role}`.replace('  ', ' '), {
        hint: `run it with --home pointing at a ${role} node`,
      });
    }
    const state = NodeState.open(ctx.home);
    try {
      finishRotation(ctx.home, state); // a key rotation cut short after its deciding commit
    } catch (err) {
      state.close();
      throw err;
    }
    return new NodeSession(ctx, config, state);
  }

  get id(): string {
    return this.config.id;
  }

  /** The node's public identity (identity.json): needs no passphrase. */
  identity(): PublicIdentity {
    this.card ??= readOwnCard(this.ctx.home, this.config);
    return this.card;
  }

  /** The secret keys, unlocked once per session (asks for the passphrase). */
  nodeKeys(): Promise<NodeKeys> {
    this.keys ??= unlockNodeKeys(this.ctx, this.config, this.identity());
    return this.keys;
  }

  peer(id: string): Peer | undefined {
    return this.state.peer(id);
  }

  peers(): Peer[] {
    return this.state.peers();
  }

  /**
   * The node's peers and audit log as the use cases share them: a hub's are its store's (which
   * may keep them in the hub's own database), a facility's are in its state database.
   */
  peerDirectory(): PeerDirectory {
    return isHub(this.config) ? this.hubStore() : this.state.directory(() => ({ at: this.ctx.now().toISOString(), node: this.id }));
  }

  /** The one hub a facility sends to. */
  hub(): Peer {
    const hubs = this.peers().filter(isHub);
    if (hubs.length === 0) {
      throw usageError(ErrorCodes.NO_HUB, `${this.id} trusts no hub yet`, { hint: "get the hub's identity card and run `ferry trust CARD`" });
    }
    return hubs[0]!;
  }

  audit(e: AuditEvent): void {
    this.state.audit({ at: this.ctx.now().toISOString(), node: this.id, ...e });
  }

  /**
   * A hub's store (its database, and the peers and audit log the hub code reaches through it),
   * opened on first use and closed with the session.
   */
  hubStore(): HubStore {
    if (!isHub(this.config)) throw new Error(`hubStore() asked of ${this.config.role} ${this.id}`);
    this.store ??= openHubStore({ db: this.config.db!, state: this.state, stamp: () => ({ at: this.ctx.now().toISOString(), node: this.id }) });
    return this.store;
  }

  async close(): Promise<void> {
    try {
      await this.store?.close();
    } finally {
      this.state.close();
    }
  }
}

/**
 * Run `fn` with an opened session, closing it afterwards whatever happens. Commands that change
 * state take the node's lock first (one ferry at a time per node), waiting up to ctx.lockWaitMs.
 */
export async function withSession<T>(
  ctx: OpContext,
  role: Role | undefined,
  command: string,
  fn: (s: NodeSession) => Promise<T> | T,
  o: { lock?: boolean } = {},
): Promise<T> {
  const s = NodeSession.open(ctx, role, command);
  let lock: HeldLock | undefined;
  try {
    if (o.lock) {
      lock = await acquireLock(ctx.home, command, ctx.lockWaitMs ?? 0);
      if (lock.clearedStale) s.audit({ action: 'lock', outcome: 'stale-cleared', detail: { ...lock.clearedStale } });
    }
    return await fn(s);
  } finally {
    lock?.release();
    await s.close();
  }
}

/**
 * Unlock the node's keys once, asking as the context does (three tries at a terminal), and
 * return the passphrase that opened them (undefined for a key file written before sealing).
 */
export async function unlockOnce(ctx: OpContext): Promise<string | undefined> {
  const remembered = rememberingUnlock(ctx.passphrase);
  await withSession({ ...ctx, passphrase: remembered.source }, undefined, 'unlock', (s) => s.nodeKeys());
  return remembered.unlockedWith();
}

/** withSession for commands that change the node's state: they hold the node's lock. */
export const withLockedSession = <T>(ctx: OpContext, role: Role | undefined, command: string, fn: (s: NodeSession) => Promise<T> | T): Promise<T> =>
  withSession(ctx, role, command, fn, { lock: true });
