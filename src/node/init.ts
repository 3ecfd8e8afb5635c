/** `ferry init`: create a node (keys, config, state) in an empty home. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCodes, usageError } from '../core/errors.js';
import { checkNodeId, generateKeys, nodeKeysFrom, toCard, type PublicIdentity, type Role } from '../format/identity.js';
import { ensureDir, HOME_FILES, writeConfig, writeFileDurably, writeSecretKeys, type NodeConfig } from '../store/home.js';
import { NodeState } from '../store/node-state.js';
import { createHubDatabase, openHubStore } from '../store/open-hub-store.js';
import { hubLocation, isPostgresUrl } from '../store/hub-location.js';
import type { OpContext } from './context.js';
import { sealWithNewPassphrase } from './unlock.js';
import { isHub } from './role.js';

export interface InitOptions {
  role: Role;
  id: string;
  name?: string;
  /** hub: the hub database (default HOME/hub.db); facility: the EMR database (optional, else set by `track`) */
  db?: string;
  /** hub on PostgreSQL: a 0600 file holding the database password (kept by path in node.json) */
  dbPasswordFile?: string;
}

export interface InitResult {
  home: string;
  identity: PublicIdentity;
  db?: string;
}

/**
 * A hub's database: a SQLite file (default HOME/hub.db) or a PostgreSQL URL, checked before the
 * passphrase is asked (a URL holding a password is refused: it would be in argv and node.json).
 */
function hubDatabase(home: string, o: InitOptions): string {
  if (o.dbPasswordFile && !(o.db && isPostgresUrl(o.db))) {
    throw usageError(ErrorCodes.USAGE, '--db-password-file is for a hub whose --db is a PostgreSQL URL', { hint: 'drop it, or give --db postgresql://USER@HOST/DATABASE' });
  }
  const where = hubLocation(o.db ?? join(home, 'hub.db'), { passwordFile: o.dbPasswordFile });
  return where.kind === 'postgres' ? where.url : where.path;
}

export async function initNode(ctx: OpContext, o: InitOptions): Promise<InitResult> {
  checkNodeId(o.id);
  if (existsSync(join(ctx.home, HOME_FILES.config)) || existsSync(join(ctx.home, HOME_FILES.secret))) {
    throw usageError(ErrorCodes.HOME_EXISTS, `${ctx.home} already holds a ferry node; init never overwrites one`, {
      where: ctx.home,
      hint: 'use another --home, or move the old node away if you really mean to replace it (its peers must re-enrol the new one)',
    });
  }
  if (existsSync(ctx.home) && readdirSync(ctx.home).some((f) => f !== 'lost+found')) {
    throw usageError(ErrorCodes.HOME_EXISTS, `${ctx.home} is not empty`, { where: ctx.home, hint: 'choose an empty or new folder for --home' });
  }
  const created = ctx.now().toISOString();
  const secret = generateKeys(ctx.random);
  const keys = nodeKeysFrom(secret, { id: o.id, name: o.name ?? o.id, role: o.role, created });
  const hub = isHub(o);
  const db = hub ? hubDatabase(ctx.home, o) : o.db ? resolve(o.db) : undefined;
  const passwordFile = o.dbPasswordFile ? resolve(o.dbPasswordFile) : undefined;
  // The passphrase and the hub database first: a refusal leaves nothing behind.
  const sealed = await sealWithNewPassphrase(ctx, 'create', o.id, secret);
  ensureDir(ctx.home);
  if (hub) await createHubDatabase(db!, { passwordFile });
  writeSecretKeys(ctx.home, o.id, sealed);
  const config: NodeConfig = { format: 'ferry-node', version: 1, id: o.id, name: o.name ?? o.id, role: o.role, created, ...(db ? { db } : {}), ...(passwordFile ? { db_password_file: passwordFile } : {}) };
  writeFileDurably(join(ctx.home, HOME_FILES.card), `${JSON.stringify(toCard(keys.identity), null, 2)}\n`);
  writeConfig(ctx.home, config);
  const state = NodeState.create(ctx.home);
  try {
    // A hub's audit log is its store's, as every later entry is (NodeSession.directory()).
    const stamp = () => ({ at: created, node: o.id });
    const store = hub ? openHubStore({ db: db!, passwordFile, state, stamp }) : undefined;
    try {
      await (store ?? state.directory(stamp)).audit({ action: 'init', outcome: 'ok', detail: { role: o.role } });
    } finally {
      await store?.close();
    }
  } finally {
    state.close();
  }
  return { home: ctx.home, identity: keys.identity, ...(db ? { db } : {}) };
}

