/** The node's own state database (HOME/state.db): trust store, audit log, exports, acks. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
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

export function openStateDb(home: string): Db {
  const path = join(home, HOME_FILES.state);
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
