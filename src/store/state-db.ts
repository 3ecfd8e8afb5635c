/** The node's own state database (HOME/state.db): trust store, audit log, exports, acks. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ErrorCodes, FerryError, ioError, usageError } from '../core/errors.js';
import { createPrivateFile, HOME_FILES, keepPrivate } from './home.js';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_peers (
  id TEXT PRIMARY KEY COLLATE NOCASE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  signing_key BLOB NOT NULL,
  encryption_key BLOB NOT NULL,
  fingerprint TEXT NOT NULL,
  trusted_at TEXT NOT NULL,
  revoked_at TEXT,
  revoked_reason TEXT
);
CREATE TABLE IF NOT EXISTS ferry_audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  node TEXT NOT NULL,
  action TEXT NOT NULL,
  peer TEXT,
  bundle_id TEXT,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE TABLE IF NOT EXISTS ferry_exports (
  bundle_id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  at TEXT NOT NULL,
  drive TEXT NOT NULL,
  file TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  changes INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ferry_acks_received (
  bundle_id TEXT PRIMARY KEY,
  ack_id TEXT NOT NULL,
  at TEXT NOT NULL,
  hub TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  counts TEXT NOT NULL
);
-- Own bundles still on a drive, unacknowledged, when this facility read that drive's acks: the
-- hub did not take them (refused, or the drive never reached it). The next export sends their
-- changes again under a new id and removes them, so a refused bundle never blocks a facility.
CREATE TABLE IF NOT EXISTS ferry_unanswered (
  bundle_id TEXT PRIMARY KEY,
  seen_at TEXT NOT NULL
);
-- Peers' keys replaced by a rotation notice: kept to explain refusals of what they still sign.
CREATE TABLE IF NOT EXISTS ferry_retired_keys (
  peer TEXT NOT NULL COLLATE NOCASE,
  fingerprint TEXT NOT NULL,
  signing_key BLOB NOT NULL,
  encryption_key BLOB NOT NULL,
  retired_at TEXT NOT NULL,
  replaced_by TEXT NOT NULL,
  PRIMARY KEY (peer, fingerprint)
);
-- This node's own rotations. pending_secret/pending_card are set in the one transaction that
-- decides a rotation, and cleared once secret-key.json and identity.json hold them.
CREATE TABLE IF NOT EXISTS ferry_own_rotations (
  id INTEGER PRIMARY KEY,
  created TEXT NOT NULL,
  old_fingerprint TEXT NOT NULL,
  new_fingerprint TEXT NOT NULL,
  old_signing_key BLOB NOT NULL,
  notice BLOB NOT NULL,
  pending_secret TEXT,
  pending_card TEXT
);
`;

/**
 * Open the node's state database to change it, migrating one an older ferry made. Only `ferry
 * init` creates it (`create`): later a missing state.db is a lost trust store and audit log,
 * never silently replaced by an empty one.
 */
export function openStateDb(home: string, o: { create?: boolean } = {}): Db {
  const path = join(home, HOME_FILES.state);
  if (!o.create) mustExist(home, path);
  // Private from its first byte, whatever the umask and the home's mode; a state.db made by an
  // older ferry (0644 less the umask) is tightened, with any -wal and -shm left beside it.
  if (!createPrivateFile(path)) for (const f of [path, `${path}-wal`, `${path}-shm`]) keepPrivate(f);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  // The EMR's clock when a bundle was made (restore fence); absent from state made before it.
  const exportColumns = (db.prepare("SELECT name FROM pragma_table_info('ferry_exports')").all() as Array<{ name: string }>).map((c) => c.name);
  if (!exportColumns.includes('clock_wall')) {
    db.transaction(() => {
      db.prepare('ALTER TABLE ferry_exports ADD COLUMN clock_wall INTEGER').run();
      db.prepare('ALTER TABLE ferry_exports ADD COLUMN clock_counter INTEGER').run();
    })();
  }
  // The seqs a bundle carried (JSON ranges): absent from state made before it.
  if (!exportColumns.includes('carried')) db.prepare('ALTER TABLE ferry_exports ADD COLUMN carried TEXT').run();
  return db;
}

/** What a state database needs before a read can trust it: the tables and the columns migrations add. */
const CURRENT_TABLES = ['ferry_peers', 'ferry_audit', 'ferry_exports', 'ferry_acks_received', 'ferry_unanswered', 'ferry_retired_keys', 'ferry_own_rotations'];
const CURRENT_EXPORT_COLUMNS = ['clock_wall', 'clock_counter', 'carried'];

/**
 * Open the node's state database without writing anything (status, inspect, the log): no
 * schema, no migration, no journal-mode change. One an older ferry made is refused, not migrated.
 */
export function openStateDbForReading(home: string): Db {
  const db = openReadOnly(home);
  if (!isCurrent(db)) {
    db.close();
    const path = join(home, HOME_FILES.state);
    throw usageError(ErrorCodes.DB_OUTDATED, `the node's state database ${path} was made by an older ferry and is not migrated yet`, {
      where: path,
      hint: 'a command that changes state migrates it: run `ferry import` or `ferry export` with a drive (a facility), `ferry import` or `ferry trust` (a hub); this command only reads and changes nothing',
    });
  }
  return db;
}

function openReadOnly(home: string): Db {
  const path = join(home, HOME_FILES.state);
  mustExist(home, path);
  // A change of mode, not of content: even a read takes others' access away.
  for (const f of [path, `${path}-wal`, `${path}-shm`]) keepPrivate(f);
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (err) {
    db?.close();
    throw openFailure(err, path, "the node's state database", 'check the folder permissions, or restore the node folder from its backup');
  }
}

function isCurrent(db: Db): boolean {
  const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
  const exportColumns = new Set((db.prepare("SELECT name FROM pragma_table_info('ferry_exports')").all() as Array<{ name: string }>).map((c) => c.name));
  return CURRENT_TABLES.every((t) => tables.has(t)) && CURRENT_EXPORT_COLUMNS.every((c) => exportColumns.has(c));
}

/**
 * The card and sealed key file of this node's decided but unfinished key rotation, read without
 * the schema check: unlocking and `ferry identity` need only this, and must work on a state.db
 * an older ferry made (the TUI is where an IT officer runs the import that migrates it). A
 * state.db from before own rotations existed has none pending.
 */
export function readPendingRotationUnchecked(home: string): { id: number; secretKeyFile: string; card: string } | undefined {
  const db = openReadOnly(home);
  try {
    const has = (db.prepare("SELECT name FROM pragma_table_info('ferry_own_rotations')").all() as Array<{ name: string }>).some((c) => c.name === 'pending_card');
    if (!has) return undefined;
    return selectPendingRotation(db);
  } finally {
    db.close();
  }
}

export function selectPendingRotation(db: Db): { id: number; secretKeyFile: string; card: string } | undefined {
  const row = db.prepare('SELECT id, pending_secret, pending_card FROM ferry_own_rotations WHERE pending_secret IS NOT NULL ORDER BY id').get() as
    | { id: number; pending_secret: string; pending_card: string }
    | undefined;
  return row ? { id: row.id, secretKeyFile: row.pending_secret, card: row.pending_card } : undefined;
}

/**
 * A database that could not be opened: "missing" only when the file is not there (or SQLite
 * cannot open it at all); anything else (busy, permissions, a bad file) names the file and the cause.
 */
export function openFailure(err: unknown, path: string, what: string, hint: string): FerryError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT' || (code === 'SQLITE_CANTOPEN' && !existsSync(path))) {
    return usageError(ErrorCodes.DB_MISSING, `cannot open ${what} ${path}: it does not exist`, { where: path, cause: err, hint });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new FerryError(ErrorCodes.LOCKED, 'busy', `${what} ${path} is busy (${(err as Error).message})`, { where: path, cause: err, hint: 'another program is writing to it; try again when it is done' });
  }
  return ioError(ErrorCodes.DB_UNREADABLE, `cannot open ${what} ${path} (${(err as Error).message})`, { where: path, cause: err, hint });
}

function mustExist(home: string, path: string): void {
  if (existsSync(path)) return;
  throw usageError(ErrorCodes.DB_MISSING, `the node's state database ${path} does not exist`, {
    where: path,
    hint: `it holds this node's trusted peers and audit log: restore the node folder ${home} from its backup; ferry will not start an empty one (every peer would have to be trusted again)`,
  });
}

export interface AuditEntry {
  at: string;
  node: string;
  action: string;
  peer?: string | null;
  bundle_id?: string | null;
  outcome: string;
  detail?: Record<string, unknown> | null;
}

export function audit(db: Db, e: AuditEntry): void {
  db.prepare('INSERT INTO ferry_audit (at, node, action, peer, bundle_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    e.at,
    e.node,
    e.action,
    e.peer ?? null,
    e.bundle_id ?? null,
    e.outcome,
    e.detail ? JSON.stringify(e.detail) : null,
  );
}

export function readAudit(db: Db, limit = 1000): AuditEntry[] {
  const rows = db.prepare('SELECT at, node, action, peer, bundle_id, outcome, detail FROM ferry_audit ORDER BY id DESC LIMIT ?').all(limit) as Array<
    Omit<AuditEntry, 'detail'> & { detail: string | null }
  >;
  return rows.reverse().map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
}
