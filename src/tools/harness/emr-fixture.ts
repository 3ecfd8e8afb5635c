/**
 * The throwaway EMR databases the tools build: created, filled and edited as a facility's own
 * application would, and read back to compare with what the hub holds. A facility's EMR is
 * SQLite whatever store its hub uses, so its SQL may live here (with the demo's Synthea builder);
 * the hub itself is read only through its HubStore (./hub-rows.ts). Table and column names come
 * from the tools themselves, and are quoted all the same.
 */
import Database from 'better-sqlite3';
import { q } from '../../core/sql-identifier.js';
import { encodeValue, type EncodedValue } from '../../format/values.js';

const secondsOf = (fn: () => void): number => {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

/** Only the rows whose `column` is LIKE `like`: a facility editing only rows of its own. */
export interface RowFilter {
  column: string;
  like: string;
}

const filterSql = (f: RowFilter | undefined): [string, string[]] => (f ? [` WHERE ${q(f.column)} LIKE ?`, [f.like]] : ['', []]);

export class EmrFixture {
  private constructor(private readonly db: Database.Database) {}

  /** A new database at `path` holding the tables of `ddl`; `wal` as many EMRs run, and as the bench measures capture. */
  static create(path: string, ddl: string, o: { wal?: boolean } = {}): EmrFixture {
    const db = new Database(path);
    if (o.wal) db.pragma('journal_mode = WAL');
    db.exec(ddl);
    return new EmrFixture(db);
  }

  static open(path: string, o: { readonly?: boolean } = {}): EmrFixture {
    return new EmrFixture(new Database(path, { readonly: o.readonly ?? false }));
  }

  /** Open, run `fn`, close whatever happens. */
  static with<T>(path: string, fn: (emr: EmrFixture) => T, o: { readonly?: boolean } = {}): T {
    const emr = EmrFixture.open(path, o);
    try {
      return fn(emr);
    } finally {
      emr.close();
    }
  }

  /**
   * Insert `rows` (values in `columns` order) in one transaction, or upsert them on `upsertKey`.
   * Returns the seconds the transaction took, opening and preparing excluded: the bench compares
   * inserts into a tracked table with inserts into an untracked one and with a plain upsert.
   */
  insert(table: string, columns: readonly string[], rows: Iterable<readonly unknown[]>, o: { upsertKey?: readonly string[] } = {}): number {
    const rest = columns.filter((c) => !o.upsertKey?.includes(c));
    const upsert = o.upsertKey ? ` ON CONFLICT (${o.upsertKey.map(q).join(', ')}) DO UPDATE SET ${rest.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}` : '';
    const stmt = this.db.prepare(`INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${upsert}`);
    return secondsOf(() =>
      this.db.transaction(() => {
        for (const r of rows) stmt.run(r);
      })(),
    );
  }

  /** Append `text` to `column` in `n` rows picked at random (SQLite's random(), so not seeded): edits at the facility. */
  appendToRandomRows(table: string, column: string, text: string, n: number, o: { where?: RowFilter } = {}): number {
    const [where, params] = filterSql(o.where);
    return this.db.prepare(`UPDATE ${q(table)} SET ${q(column)} = ${q(column)} || ? WHERE rowid IN (SELECT rowid FROM ${q(table)}${where} ORDER BY random() LIMIT ?)`).run(text, ...params, n).changes;
  }

  /** Delete `n` rows picked at random. */
  deleteRandomRows(table: string, n: number, o: { where?: RowFilter } = {}): number {
    const [where, params] = filterSql(o.where);
    return this.db.prepare(`DELETE FROM ${q(table)} WHERE rowid IN (SELECT rowid FROM ${q(table)}${where} ORDER BY random() LIMIT ?)`).run(...params, n).changes;
  }

  /** Every row of `table`, values encoded as bundles carry them (storage class kept), to compare with the hub store's rows. */
  *rows(table: string): Generator<Record<string, EncodedValue>> {
    for (const row of this.db.prepare(`SELECT * FROM ${q(table)}`).safeIntegers(true).iterate() as Iterable<Record<string, unknown>>) {
      yield Object.fromEntries(Object.entries(row).map(([c, v]) => [c, encodeValue(v)]));
    }
  }

  close(): void {
    this.db.close();
  }
}

/** `PRAGMA integrity_check` of any SQLite file a harness left behind (an EMR, a node's state.db, a SQLite hub.db): "ok" when sound. */
export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return String((db.prepare('PRAGMA integrity_check').get() as Record<string, unknown>).integrity_check);
  } finally {
    db.close();
  }
}
