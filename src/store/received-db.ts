/**
 * A facility's received database (HOME/received.db by default): the rows its hub sent it, never
 * written into the EMR's own tables (ferry does not write into a live EMR it does not own, and the
 * capture triggers would send the rows straight back). The EMR or a report attaches it
 * (`ATTACH 'received.db' AS received`) to read a transferred patient's history.
 *
 * Each table has the hub's name and columns, with `ferry_origin` first: the facility the row came
 * from. A facility-owned table is keyed by (ferry_origin, key…), as at the hub, so two facilities'
 * patient 5 are two rows; a shared table by its key alone (ferry_origin: whose version it is).
 * Columns have no type, so every value keeps the storage class it travelled in.
 *
 *   ferry_received_tables   each table as the hub described it (columns, key, scope)
 *   ferry_received_rows     per row: the hub's outgoing seq that wrote it (an older one arriving late is not written)
 *   ferry_received_bundles  every hub bundle applied: a re-import is a no-op
 *   ferry_received_seqs     the ranges of the hub's outgoing seqs held: what a receipt confirms
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, refusedError } from '../core/errors.js';
import { q } from '../core/sql-identifier.js';
import { keyIndexes, changeKey, type ChangeRecord, type ColumnSpec, type PayloadRecord, type TableRecord, type TableScope } from '../format/records.js';
import { isReservedName, nameKey, nameProblem } from '../format/names.js';
import { decodeValue, keyText, type SqlValue } from '../format/values.js';
import { createPrivateFile, keepPrivate } from './home.js';
import { openFailure } from './state-db.js';
import { RangeSet, type Range } from './ranges.js';

type Db = Database.Database;

export const RECEIVED_ORIGIN_COLUMN = 'ferry_origin';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_received_tables (
  name TEXT PRIMARY KEY COLLATE NOCASE, key_columns TEXT NOT NULL, columns TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('facility', 'shared'))
);
CREATE TABLE IF NOT EXISTS ferry_received_rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, deleted INTEGER NOT NULL, received_at TEXT NOT NULL,
  PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_received_bundles (
  hub TEXT NOT NULL, bundle_id TEXT NOT NULL PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  changes INTEGER NOT NULL, applied INTEGER NOT NULL, already_present INTEGER NOT NULL, created TEXT NOT NULL, applied_at TEXT NOT NULL, file TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ferry_received_seqs (hub TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY (hub, first_seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferry_requests (
  request_id TEXT PRIMARY KEY, tbl TEXT NOT NULL, col TEXT NOT NULL, value TEXT NOT NULL, reason TEXT,
  created TEXT NOT NULL, answered_at TEXT, cancelled_at TEXT
);
`;

/** A record this facility asked its hub for: written to every drive it exports to until rows come that answer it. */
export interface OwnRequest {
  request_id: string;
  table: string;
  column: string;
  value: string;
  reason: string | null;
  created: string;
  answered_at: string | null;
  cancelled_at: string | null;
}

export interface ReceivedBundle {
  hub: string;
  bundle_id: string;
  first_seq: number;
  last_seq: number;
  changes: number;
  applied: number;
  already_present: number;
  created: string;
  applied_at: string;
  file: string;
}

export interface ReceivedApply {
  applied: number;
  already_present: number;
  /** every range of the hub's outgoing seqs held after this bundle: what the receipt confirms */
  held: Range[];
  /** the ledger row when this bundle was applied before (nothing was applied now) */
  before?: ReceivedBundle;
}

/** Rows received per origin facility and table (status, the TUI's "records received"). */
export interface ReceivedSummary {
  /** the facility the rows came from (a shared table: whose version the hub holds) */
  origin: string;
  table: string;
  scope: TableScope;
  rows: number;
  last_received: string;
}

export class ReceivedDb {
  private constructor(private readonly db: Db) {}

  /** Open (creating it, private to its owner) to apply what the hub sent. */
  static open(path: string): ReceivedDb {
    let db: Db | undefined;
    try {
      // A folder named in node.json that does not exist yet: made, readable by its owner only.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      createPrivateFile(path);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) keepPrivate(file);
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 10000');
      db.exec(SCHEMA);
    } catch (err) {
      db?.close();
      throw openFailure(err, path, 'the received database', 'check the path ("received_db" in node.json) and the permissions of the file and its folder');
    }
    return new ReceivedDb(db);
  }

  /** For status: nothing is created or written; undefined when nothing was ever received. */
  static openToRead(path: string): ReceivedDb | undefined {
    if (!existsSync(path)) return undefined;
    try {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'ferry_received_bundles'").get()) {
        db.close();
        return undefined;
      }
      return new ReceivedDb(db);
    } catch (err) {
      throw openFailure(err, path, 'the received database', 'check the permissions of the file and its folder');
    }
  }

  close(): void {
    this.db.close();
  }

  addRequest(r: Omit<OwnRequest, 'answered_at' | 'cancelled_at'>): void {
    this.db.prepare('INSERT INTO ferry_requests (request_id, tbl, col, value, reason, created) VALUES (?, ?, ?, ?, ?, ?)').run(r.request_id, r.table, r.column, r.value, r.reason, r.created);
  }

  requests(o: { open?: boolean } = {}): OwnRequest[] {
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'ferry_requests'").get()) return [];
    const rows = this.db.prepare(`SELECT request_id, tbl AS "table", col AS "column", value, reason, created, answered_at, cancelled_at FROM ferry_requests ${o.open ? 'WHERE answered_at IS NULL AND cancelled_at IS NULL' : ''} ORDER BY created`).all();
    return rows as OwnRequest[];
  }

  /**
   * Open requests that the rows received now answer: the table holds a row whose column has the
   * value asked for (as text, or as the integer it spells), from any facility. Marked answered.
   */
  markAnswered(at: string): OwnRequest[] {
    const answered: OwnRequest[] = [];
    for (const r of this.requests({ open: true })) {
      const t = this.db.prepare('SELECT name, columns FROM ferry_received_tables WHERE name = ? COLLATE NOCASE').get(r.table) as { name: string; columns: string } | undefined;
      const column = t ? (JSON.parse(t.columns) as ColumnSpec[]).find((c) => nameKey(c.name) === nameKey(r.column)) : undefined;
      if (!t || !column) continue;
      const values: unknown[] = [r.value, ...(/^-?(0|[1-9][0-9]{0,15})$/.test(r.value) ? [Number(r.value)] : [])];
      const hit = values.some((v) => this.db.prepare(`SELECT 1 FROM ${q(t.name)} WHERE ${q(column.name)} = ? LIMIT 1`).get(v) !== undefined);
      if (!hit) continue;
      this.db.prepare('UPDATE ferry_requests SET answered_at = ? WHERE request_id = ?').run(at, r.request_id);
      answered.push({ ...r, answered_at: at });
    }
    return answered;
  }

  bundle(bundleId: string): ReceivedBundle | undefined {
    return this.db.prepare('SELECT * FROM ferry_received_bundles WHERE bundle_id = ?').get(bundleId) as ReceivedBundle | undefined;
  }

  held(hub: string): RangeSet {
    return new RangeSet(this.db.prepare('SELECT first_seq, last_seq FROM ferry_received_seqs WHERE hub = ? ORDER BY first_seq').raw(true).all(hub) as Range[]);
  }

  bundles(limit = 20): ReceivedBundle[] {
    return this.db.prepare('SELECT * FROM ferry_received_bundles ORDER BY applied_at DESC, rowid DESC LIMIT ?').all(limit) as ReceivedBundle[];
  }

  summary(): ReceivedSummary[] {
    return (
      this.db
        .prepare('SELECT r.origin, r.tbl AS "table", t.scope, count(*) AS rows, max(r.received_at) AS last_received FROM ferry_received_rows r JOIN ferry_received_tables t ON t.name = r.tbl WHERE r.deleted = 0 GROUP BY r.origin, r.tbl ORDER BY t.scope, r.origin, r.tbl')
        .all() as ReceivedSummary[]
    ).map((r) => ({ ...r, rows: Number(r.rows) }));
  }

  /**
   * Apply a verified hub bundle's records, its ledger row and the seqs it carried, in one
   * transaction: all of it or none (a power cut leaves the bundle to import again).
   */
  async apply(b: { hub: string; bundle_id: string; first: number; last: number; changes: number; created: string; file: string }, records: AsyncIterable<PayloadRecord>, at: string): Promise<ReceivedApply> {
    const db = this.db;
    const before = this.bundle(b.bundle_id);
    if (before) return { applied: 0, already_present: 0, held: this.held(b.hub).toArray(), before };
    db.exec('BEGIN IMMEDIATE');
    try {
      const held = this.held(b.hub);
      const tables = new Map<string, ReceivedTable>();
      const statements = new ReceivedStatements(db);
      const counts = { applied: 0, already_present: 0 };
      const version = db.prepare('SELECT seq FROM ferry_received_rows WHERE tbl = ? AND key = ?');
      const putVersion = db.prepare(
        'INSERT INTO ferry_received_rows (tbl, key, origin, seq, deleted, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted, received_at = excluded.received_at',
      );
      for await (const r of records) {
        if (r.kind === 'table') {
          tables.set(r.table, ensureReceivedTable(db, r));
          continue;
        }
        const t = tables.get(r.table)!;
        if (held.has(r.seq)) {
          counts.already_present++;
          continue;
        }
        held.add(r.seq, r.seq);
        const keyValues = changeKey(r, t.keyIdx);
        const key = keyText(t.record.scope === 'facility' ? [r.origin, ...keyValues] : keyValues);
        const had = version.get(t.name, key) as { seq: number } | undefined;
        counts.applied++;
        // An older version arriving late (its bundle was on another drive): the newer one stays.
        if (had && had.seq > r.seq) continue;
        writeReceived(statements, t, r, keyValues);
        putVersion.run(t.name, key, r.origin, r.seq, r.op === 'delete' ? 1 : 0, at);
      }
      db.prepare('DELETE FROM ferry_received_seqs WHERE hub = ?').run(b.hub);
      const ins = db.prepare('INSERT INTO ferry_received_seqs (hub, first_seq, last_seq) VALUES (?, ?, ?)');
      for (const [x, y] of held.toArray()) ins.run(b.hub, x, y);
      db.prepare('INSERT INTO ferry_received_bundles (hub, bundle_id, first_seq, last_seq, changes, applied, already_present, created, applied_at, file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        b.hub,
        b.bundle_id,
        b.first,
        b.last,
        b.changes,
        counts.applied,
        counts.already_present,
        b.created,
        at,
        b.file,
      );
      db.exec('COMMIT');
      return { ...counts, held: held.toArray() };
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
}

interface ReceivedTable {
  name: string;
  record: TableRecord;
  keyIdx: number[];
  /** the record's columns as this database spells them */
  columns: string[];
  key: string[];
}

/**
 * Make the table match the hub's description: create it, or add the columns it lacks. Names come
 * from a verified bundle, and were checked by the record checker; they reach SQL only quoted.
 * A table the hub now keys or scopes otherwise cannot take its rows: the bundle is refused whole.
 */
function ensureReceivedTable(db: Db, t: TableRecord): ReceivedTable {
  if (isReservedName(t.table) || [t.table, ...t.columns.map((c) => c.name)].some((n) => nameProblem(n) !== undefined)) {
    throw refusedError(ErrorCodes.PAYLOAD_INVALID, `the hub's bundle describes a table whose name cannot be used here (${t.table})`);
  }
  const keyIdx = keyIndexes(t);
  const known = db.prepare('SELECT name, key_columns, columns, scope FROM ferry_received_tables WHERE name = ? COLLATE NOCASE').get(t.table) as { name: string; key_columns: string; columns: string; scope: TableScope } | undefined;
  if (!known) {
    const origin = `${q(RECEIVED_ORIGIN_COLUMN)} TEXT NOT NULL`;
    const pk = (t.scope === 'facility' ? [RECEIVED_ORIGIN_COLUMN, ...t.key] : t.key).map(q).join(', ');
    db.prepare(`CREATE TABLE IF NOT EXISTS ${q(t.table)} (${[origin, ...t.columns.map((c) => q(c.name))].join(', ')}, PRIMARY KEY (${pk}))`).run();
    db.prepare('INSERT INTO ferry_received_tables (name, key_columns, columns, scope) VALUES (?, ?, ?, ?)').run(t.table, JSON.stringify(t.key), JSON.stringify(t.columns), t.scope);
    return { name: t.table, record: t, keyIdx, columns: t.columns.map((c) => c.name), key: t.key };
  }
  const key = JSON.parse(known.key_columns) as string[];
  if (known.scope !== t.scope || key.map(nameKey).join('\u0000') !== t.key.map(nameKey).join('\u0000')) {
    throw refusedError(ErrorCodes.PAYLOAD_INVALID, `table ${known.name} is ${known.scope === 'shared' ? 'shared' : 'facility-owned'}, keyed by ${key.join(', ')}, in the received database, but the hub now sends it otherwise`, {
      hint: 'move received.db aside (the hub sends everything again once its receipts stop); ask the hub operator whether the table was rescoped',
    });
  }
  const columns = JSON.parse(known.columns) as ColumnSpec[];
  const have = new Map(columns.map((c) => [nameKey(c.name), c.name]));
  const added = t.columns.filter((c) => !have.has(nameKey(c.name)));
  for (const c of added) db.prepare(`ALTER TABLE ${q(known.name)} ADD COLUMN ${q(c.name)}`).run();
  if (added.length) db.prepare('UPDATE ferry_received_tables SET columns = ? WHERE name = ?').run(JSON.stringify([...columns, ...added]), known.name);
  const spell = (n: string) => have.get(nameKey(n)) ?? n;
  return { name: known.name, record: t, keyIdx, columns: t.columns.map((c) => spell(c.name)), key: key };
}

/** The statements that write a table's rows, prepared once per table record of a bundle. */
class ReceivedStatements {
  private readonly byRecord = new Map<ReceivedTable, { upsert: Database.Statement; delete: Database.Statement }>();

  constructor(private readonly db: Db) {}

  of(t: ReceivedTable): { upsert: Database.Statement; delete: Database.Statement } {
    let s = this.byRecord.get(t);
    if (!s) {
      const keyCols = t.record.scope === 'facility' ? [RECEIVED_ORIGIN_COLUMN, ...t.key] : t.key;
      const cols = [RECEIVED_ORIGIN_COLUMN, ...t.columns];
      const rest = cols.filter((c) => !keyCols.some((k) => nameKey(k) === nameKey(c)));
      const action = rest.length ? `DO UPDATE SET ${rest.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}` : 'DO NOTHING';
      s = {
        upsert: this.db.prepare(`INSERT INTO ${q(t.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')}) ON CONFLICT (${keyCols.map(q).join(', ')}) ${action}`),
        delete: this.db.prepare(`DELETE FROM ${q(t.name)} WHERE ${keyCols.map((c) => `${q(c)} = ?`).join(' AND ')}`),
      };
      this.byRecord.set(t, s);
    }
    return s;
  }
}

function writeReceived(st: ReceivedStatements, t: ReceivedTable, r: ChangeRecord, keyValues: ReturnType<typeof changeKey>): void {
  const s = st.of(t);
  if (r.op === 'delete') {
    s.delete.run(...([...(t.record.scope === 'facility' ? [r.origin] : []), ...keyValues.map(decodeValue)] as SqlValue[]));
    return;
  }
  s.upsert.run(r.origin, ...(r.row!.map((v) => decodeValue(v)) as SqlValue[]));
}
