/** An opened node: its config, state database and (on demand) secret keys. */
import { join } from 'node:path';
import { ErrorCodes, FerryError, usageError } from '../core/errors.js';
import type { NodeKeys, PublicIdentity, Role } from '../format/identity.js';
import { HOME_FILES, parseOwnCard, readConfig, readOwnCard, type NodeConfig } from '../store/home.js';
import { NodeState } from '../store/node-state.js';
import type { HubStore } from '../store/hub-store.js';
import { openHubStore } from '../store/open-hub-store.js';
import type { AuditEvent, Peer, PeerDirectory } from '../store/peer-directory.js';
import { unlockNodeKeys } from './unlock.js';
import { rememberingUnlock } from './passphrase.js';
import type { OpContext } from './context.js';
import { acquireLock, type HeldLock } from './lock.js';
import { isHub } from './role.js';

function configFor(ctx: OpContext, role: Role | undefined, command: string): NodeConfig {
  const config = readConfig(ctx.home);
  if (role && config.role !== role) {
    throw usageError(ErrorCodes.WRONG_ROLE, `\`ferry ${command}\` is for a ${role}; ${config.id} in ${ctx.home} is a ${config.role}`.replace('  ', ' '), {
      hint: `run it with --home pointing at a ${role} node`,
    });
  }
  return config;
}

/**
 * Finish a key rotation cut short after its deciding commit. Only under the node's lock, and the
 * rotation code is loaded only when one is pending (rarely: not on every command).
 */
async function finishPendingRotation(home: string, state: NodeState): Promise<void> {
  if (!state.pendingRotation()) return;
  const { finishRotation } = await import('./own-rotations.js');
  finishRotation(home, state);
}

export class NodeSession {
  private keys: Promise<NodeKeys> | undefined;
  private store: HubStore | undefined;
  private card: PublicIdentity | undefined;
  private constructor(
    readonly ctx: OpContext,
    readonly config: NodeConfig,
    readonly state: NodeState,
    /** opened only to read: nothing in the home folder or the databases is written */
    readonly readOnly: boolean,
  ) {}

  /**
   * A session that only reads (status, the log, identity, inspect, the TUI's refreshes): it takes
   * no lock and writes nothing, not even a migration or the end of a cut-short key rotation.
   */
  static openForReading(ctx: OpContext, role?: Role, command = ''): NodeSession {
    const config = configFor(ctx, role, command);
    return new NodeSession(ctx, config, NodeState.openForReading(ctx.home), true);
  }

  /** A session that changes state: the caller holds the node's lock (withLockedSession). */
  static async openToChange(ctx: OpContext, role: Role | undefined, command: string): Promise<NodeSession> {
    const config = configFor(ctx, role, command);
    const state = NodeState.open(ctx.home);
    try {
      await finishPendingRotation(ctx.home, state);
    } catch (err) {
      state.close();
      throw err;
    }
    return new NodeSession(ctx, config, state, false);
  }

  get id(): string {
    return this.config.id;
  }

  /**
   * The node's public identity: needs no passphrase. A rotation decided but not yet written to
   * identity.json (a read-only session does not finish it) is already the node's identity.
   */
  identity(): PublicIdentity {
    this.card ??= this.pendingCard() ?? readOwnCard(this.ctx.home, this.config);
    return this.card;
  }

  private pendingCard(): PublicIdentity | undefined {
    const pending = this.readOnly ? this.state.pendingRotation() : undefined;
    return pending ? pendingCardOf(this.ctx, this.config, pending.card) : undefined;
  }

  /**
   * The secret keys, unlocked once per session (asks for the passphrase), checked against the card
   * beside them, or in a read-only session against the pending rotation's card too (a rotation cut
   * short between replacing the key file and the card).
   */
  nodeKeys(): Promise<NodeKeys> {
    this.keys ??= this.readOnly ? unlockNodeKeys(this.ctx, this.config, readOwnCard(this.ctx.home, this.config), this.pendingCard()) : unlockNodeKeys(this.ctx, this.config, this.identity());
    return this.keys;
  }

  /**
   * The node's trusted peers, revocations and audit log, for both roles: a hub's are its hub
   * store's (which may keep them in the hub's own database), a facility's are in its state
   * database. Every peer and audit read or write goes through here, never around it.
   */
  directory(): PeerDirectory {
    return isHub(this.config) ? this.hubStore() : this.state.directory(() => ({ at: this.ctx.now().toISOString(), node: this.id }));
  }

  /** The one hub a facility sends to. */
  async hub(): Promise<Peer> {
    const hubs = (await this.directory().peers()).filter(isHub);
    if (hubs.length === 0) {
      throw usageError(ErrorCodes.NO_HUB, `${this.id} trusts no hub yet`, { hint: "get the hub's identity card and run `ferry trust CARD`" });
    }
    return hubs[0]!;
  }

  audit(e: AuditEvent): Promise<void> {
    return this.directory().audit(e);
  }

  /**
   * A hub's store (its database, and the peers and audit log the hub code reaches through it),
   * opened on first use (read-only in a read-only session) and closed with the session.
   */
  hubStore(): HubStore {
    if (!isHub(this.config)) throw new Error(`hubStore() asked of ${this.config.role} ${this.id}`);
    if (!this.store) {
      const store = openHubStore({ db: this.config.db!, passwordFile: this.config.db_password_file, state: this.state, stamp: () => ({ at: this.ctx.now().toISOString(), node: this.id }), readOnly: this.readOnly });
      this.store = this.ctx.wrapHubStore ? this.ctx.wrapHubStore(store) : store;
    }
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

/** Run `fn` with a session that only reads (no lock: it may run beside a command that writes), closing it afterwards. */
export async function withSession<T>(ctx: OpContext, role: Role | undefined, command: string, fn: (s: NodeSession) => Promise<T> | T): Promise<T> {
  const s = NodeSession.openForReading(ctx, role, command);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/**
 * Run `fn` with a session that changes state, under the node's lock (one ferry at a time per
 * node, waiting up to ctx.lockWaitMs), taken before anything is written: even finishing a
 * cut-short key rotation happens under it. `auditLockAfter`: `ferry migrate`, whose hub's audit
 * log (reached through the hub store) opens only once the hub database is converted.
 */
export async function withLockedSession<T>(ctx: OpContext, role: Role | undefined, command: string, fn: (s: NodeSession) => Promise<T> | T, o: { auditLockAfter?: boolean } = {}): Promise<T> {
  configFor(ctx, role, command); // a wrong home or role is said before waiting for a lock
  const lock: HeldLock = await acquireLock(ctx.home, command, ctx.lockWaitMs ?? 0);
  try {
    const s = await NodeSession.openToChange(ctx, role, command);
    try {
      const auditLock = () => (lock.clearedStale ? s.audit({ action: 'lock', outcome: 'stale-cleared', detail: { ...lock.clearedStale } }) : undefined);
      if (!o.auditLockAfter) await auditLock();
      const result = await fn(s);
      if (o.auditLockAfter) await auditLock();
      return result;
    } finally {
      await s.close();
    }
  } finally {
    lock.release();
  }
}

/**
 * Unlock the node's keys once, asking as the context does (three tries at a terminal), and
 * return the passphrase that opened them (undefined for a key file written before sealing).
 */
export async function unlockOnce(ctx: OpContext): Promise<string | undefined> {
  // Only node.json, the two key files and a pending rotation: not a session, whose state.db must be
  // current. The TUI unlocks here before its dashboard, which must open on an outdated or missing
  // state.db to say so (and, when outdated, to run the import that migrates it).
  const config = readConfig(ctx.home);
  const pending = pendingOwnCard(ctx, config, { stateMayBeMissing: true });
  const remembered = rememberingUnlock(ctx.passphrase);
  await unlockNodeKeys({ ...ctx, passphrase: remembered.source }, config, readOwnCard(ctx.home, config), pending);
  return remembered.unlockedWith();
}

function pendingCardOf(ctx: OpContext, config: NodeConfig, text: string): PublicIdentity {
  return parseOwnCard(text, join(ctx.home, HOME_FILES.card), config);
}

/**
 * The card of this node's decided but unfinished key rotation, read from a state.db of any age
 * (no session: unlocking and `ferry identity` need nothing else from it).
 */
export function pendingOwnCard(ctx: OpContext, config: NodeConfig, o: { stateMayBeMissing?: boolean } = {}): PublicIdentity | undefined {
  let pending;
  try {
    pending = NodeState.pendingRotationOf(ctx.home);
  } catch (err) {
    // Without a state.db no rotation can be pending; what is wrong with it is said where it is needed.
    if (o.stateMayBeMissing && err instanceof FerryError && err.code === ErrorCodes.DB_MISSING) return undefined;
    throw err;
  }
  return pending ? pendingCardOf(ctx, config, pending.card) : undefined;
}
