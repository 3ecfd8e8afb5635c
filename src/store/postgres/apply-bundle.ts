/**
 * Applies one verified bundle to a PostgreSQL hub in one transaction with its ledger row and
 * applied ranges, by the rules of src/store/apply-rules.ts (the SQLite applier's too).
 *
 * Several stations share the database:
 * - the facility's lock (an advisory lock on its id, held to commit, released by the server if the
 *   station dies) makes one facility's bundles apply one at a time, whichever station; different
 *   facilities' bundles apply in parallel;
 * - under that lock the ledger is read again: a bundle another station applied meanwhile (a
 *   courier's second copy of a drive) is not applied twice (appliedBefore);
 * - the hub-wide lock (tables.ts HUB_LOCK) is taken before a bundle changes the schema or a shared
 *   table, whose rows every facility may write: such bundles apply one after the other.
 *
 * Facility-owned changes, nearly all of a bundle, go in batches: per batch, one statement claims
 * the rows' versions (a new row or a newer seq of the same facility: ON CONFLICT … WHERE … RETURNING
 * the keys it claimed), one writes the claimed rows and one deletes the claimed deletes, each over
 * arrays of values (unnest), as a bulk loader stages rows. Shared changes go one at a time, in
 * order: each may depend on the one before (reference data is small).
 */
import type { PoolClient } from 'pg';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AckCounts } from '../../format/ack.js';
import type { Manifest } from '../../format/manifest.js';
import { changeKey, keyIndexes, rowObject, type ChangeRecord, type PayloadRecord, type TableRecord } from '../../format/records.js';
import { keyText, type EncodedValue } from '../../format/values.js';
import { nameKey } from '../../format/names.js';
import { q } from '../../core/sql-identifier.js';
import { basedOn, CLOCK_AHEAD_TOLERANCE_MS, clockText, compareVersions, conflictBudget, CONFLICT_BUDGET_REASON, describedColumns, followsOverSeen, nullKeyReason, sameContent, sawEveryColumn, type Version } from '../apply-rules.js';
import type { ApplyResult, LedgerEntry, VerifiedBundle } from '../hub-store.js';
import { RangeSet } from '../ranges.js';
import { RejectionTally } from '../sqlite/rejections.js';
import { ensureTable, hubKey, ORIGIN_COLUMN, takeHubLock } from './tables.js';
import { noteReferences } from './outgoing.js';
import { arrayParam, fromPg, Misfit, pgTypeOfOid, toPgParam, type PgParam, type PgType } from './values.js';
import { one } from './sql.js';

export interface PgApplyOptions {
  receivedAt: Date;
  onProgress?: (done: number) => void;
  conflictBytesAllowance?: number;
  /** the station applying it, for the ledger */
  station: string;
}

/** Changes of facility-owned tables held back and written together (their COPY lines stay in memory: a few MB). */
const BATCH = 10000;

export async function appliedRanges(c: Pick<PoolClient, 'query'>, origin: string): Promise<RangeSet> {
  const r = await c.query<{ first_seq: string; last_seq: string }>({ name: 'ferry-ranges', text: 'SELECT first_seq, last_seq FROM ferry_applied WHERE origin = $1 ORDER BY first_seq', values: [origin] });
  return new RangeSet(r.rows.map((x) => [Number(x.first_seq), Number(x.last_seq)]));
}

export async function ledgerEntry(c: Pick<PoolClient, 'query'>, origin: string, bundleId: string): Promise<LedgerEntry | undefined> {
  const r = await c.query({
    name: 'ferry-ledger-entry',
    text: 'SELECT origin, bundle_id, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file FROM ferry_bundles WHERE origin = $1 AND bundle_id = $2',
    values: [origin, bundleId],
  });
  return r.rows[0] ? ledgerRow(r.rows[0]) : undefined;
}

/** A ferry_bundles row with its bigints as numbers. */
export function ledgerRow(x: Record<string, unknown>): LedgerEntry {
  const n = (k: string) => Number(x[k]);
  return {
    bundle_id: x.bundle_id as string,
    origin: x.origin as string,
    first_seq: n('first_seq'),
    last_seq: n('last_seq'),
    changes: n('changes'),
    applied: n('applied'),
    already_present: n('already_present'),
    conflicts: n('conflicts'),
    rejected: n('rejected'),
    created: x.created as string,
    applied_at: x.applied_at as string,
    file: x.file as string,
  };
}

/** Apply a verified bundle in one transaction on `c` (a connection of its own). */
export async function applyBundle(c: PoolClient, bundle: VerifiedBundle, records: AsyncIterable<PayloadRecord>, o: PgApplyOptions): Promise<ApplyResult> {
  const m = bundle.manifest;
  await c.query('BEGIN');
  try {
    await c.query({ name: 'ferry-origin-lock', text: "SELECT pg_advisory_xact_lock(hashtext('ferry-origin'), hashtext(lower($1)))", values: [bundle.origin] });
    const before = await ledgerEntry(c, bundle.origin, m.bundle_id);
    if (before) {
      const held = await appliedRanges(c, bundle.origin);
      await c.query('ROLLBACK');
      await records[Symbol.asyncIterator]().return?.();
      return {
        counts: { applied: 0, already_present: before.changes - before.rejected, conflicts: 0, rejected: before.rejected },
        rejections: [],
        appliedRanges: held.toArray(),
        carriedRanges: [],
        appliedBefore: before,
      };
    }
    const applier = await BundleApplier.start(c, m, bundle, o);
    let done = 0;
    try {
      for await (const r of records) {
        if (r.kind === 'table') {
          await applier.table(r);
          continue;
        }
        done++;
        if (o.onProgress && (done & 4095) === 0) o.onProgress(done);
        await applier.change(r);
      }
    } catch (err) {
      // A batch that failed in flight failed first: the later errors are its consequences.
      await applier.settled();
      throw err;
    }
    const result = await applier.finish();
    await c.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await c.query('ROLLBACK');
    } catch {
      /* the connection is gone: the server rolled the transaction back */
    }
    throw err;
  }
}

interface TableEntry {
  record: TableRecord;
  keyIdx: number[];
  /** the hub's names of the record's columns */
  columns: string[];
  columnSet: ReadonlySet<string>;
  columnList: string;
  types: PgType[];
  keyTypes: PgType[];
  refused?: string;
}

/**
 * A batch's COPY text, in memory outside the JavaScript heap and reused from batch to batch: a
 * million changes' text never passes through the garbage collector (the import's peak memory).
 */
class CopyBuffer {
  private buf = Buffer.allocUnsafeSlow(1 << 20);
  length = 0;

  write(text: string): void {
    const need = this.length + Buffer.byteLength(text);
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(text, this.length);
  }

  /** The text in pieces of 64 KiB (views, not copies: valid until clear()). */
  *chunks(): Generator<Buffer> {
    for (let at = 0; at < this.length; at += 65536) yield this.buf.subarray(at, Math.min(this.length, at + 65536));
  }

  clear(): void {
    this.length = 0;
  }
}

/** A facility-owned table's staging table in this transaction, and its statements. */
interface Stage {
  copy: string;
  apply: string;
  truncate: string;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A value in COPY's text format (https://www.postgresql.org/docs/15/sql-copy.html): \N for NULL, bytea as \x hex, backslashes and control characters escaped. */
function copyText(p: PgParam): string {
  if (p === null) return '\\N';
  const text = typeof p === 'string' ? p : `\\x${p.toString('hex')}`;
  // Most values need no escaping: one scan instead of four replacements.
  return NEEDS_ESCAPE.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;
}

interface RowVersion {
  origin: string;
  seq: number;
  wall: number;
  counter: number;
  deleted: number;
  ahead: number;
}

interface SideOf {
  v: Version;
  row: Record<string, EncodedValue> | null;
}

class BundleApplier {
  private readonly counts: AckCounts = { applied: 0, already_present: 0, conflicts: 0, rejected: 0 };
  private readonly tables = new Map<string, TableEntry>();
  private readonly carried = new RangeSet();
  private readonly rejections = new RejectionTally();
  private readonly pending = new Map<TableEntry, { keys: Set<string>; data: CopyBuffer }>();
  /** COPY buffers free for the next batch (two in use at most: the one being filled, the one in flight) */
  private readonly buffers: CopyBuffer[] = [];
  private readonly stages = new Map<TableEntry, Stage>();
  private pendingCount = 0;
  private inflight: Promise<void> = Promise.resolve();
  private hubLocked = false;
  private conflictBytes = 0;
  private readonly at: string;
  private readonly aheadAfter: number;
  private readonly budget: number;

  private constructor(
    private readonly c: PoolClient,
    private readonly m: Manifest,
    private readonly bundle: VerifiedBundle,
    private readonly o: PgApplyOptions,
    private readonly ranges: RangeSet,
    private readonly waitingAgain: Set<number>,
  ) {
    this.at = o.receivedAt.toISOString();
    this.aheadAfter = o.receivedAt.getTime() + CLOCK_AHEAD_TOLERANCE_MS;
    this.budget = conflictBudget(m.payload?.stream_bytes ?? 0, o.conflictBytesAllowance);
  }

  static async start(c: PoolClient, m: Manifest, bundle: VerifiedBundle, o: PgApplyOptions): Promise<BundleApplier> {
    const ranges = await appliedRanges(c, bundle.origin);
    const waiting = await c.query<{ seq: string }>('SELECT seq FROM ferry_rejected WHERE origin = $1', [bundle.origin]);
    return new BundleApplier(c, m, bundle, o, ranges, new Set(waiting.rows.map((x) => Number(x.seq))));
  }

  private get origin(): string {
    return this.bundle.origin;
  }

  private async hubLock(): Promise<void> {
    if (this.hubLocked) return;
    await takeHubLock(this.c);
    this.hubLocked = true;
  }

  async table(r: TableRecord): Promise<void> {
    // A record of a table already batched may bring other columns: what is held back goes first.
    await this.flushAll();
    const keyIdx = keyIndexes(r);
    const ensured = await ensureTable(this.c, r, () => this.hubLock());
    if ('refused' in ensured) {
      this.tables.set(r.table, { record: r, keyIdx, columns: [], columnSet: new Set(), columnList: '[]', types: [], keyTypes: [], refused: ensured.refused });
      return;
    }
    await noteReferences(this.c, ensured.name, r.scope, r.references, () => this.hubLock());
    const record: TableRecord = { ...r, table: ensured.name, columns: r.columns.map((col, i) => ({ ...col, name: ensured.columns[i]! })), key: keyIdx.map((i) => ensured.columns[i]!) };
    const columns = record.columns.map((col) => col.name);
    this.tables.set(r.table, {
      record,
      keyIdx,
      columns,
      columnSet: new Set(columns),
      columnList: JSON.stringify(columns.map(nameKey).sort()),
      types: ensured.types,
      keyTypes: keyIdx.map((i) => ensured.types[i]!),
    });
  }

  async change(r: ChangeRecord): Promise<void> {
    if (this.ranges.has(r.seq)) {
      this.counts.already_present++;
      this.carried.append(r.seq);
      return;
    }
    const t = this.tables.get(r.table)!;
    if (t.refused) return this.reject(r, t.record.table, t.refused);
    const keyValues = changeKey(r, t.keyIdx);
    if (keyValues.some((v) => v === null)) return this.reject(r, t.record.table, nullKeyReason(t.record.key));
    const params = this.params(t, r, keyValues);
    if (params instanceof Misfit) return this.reject(r, t.record.table, params.why);
    if (t.record.scope === 'facility') return this.own(t, r, keyValues, params);
    await this.shared(t, r, keyValues, params);
  }

  /** The change's values as its columns take them (a delete: its key's), or why one does not fit. */
  private params(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[]): PgParam[] | Misfit {
    const values = r.op === 'delete' ? keyValues : r.row!;
    const types = r.op === 'delete' ? t.keyTypes : t.types;
    const names = r.op === 'delete' ? t.record.key : t.columns;
    const out: PgParam[] = [];
    for (let i = 0; i < values.length; i++) {
      const p = toPgParam(values[i]!, types[i]!);
      if (p instanceof Misfit) return new Misfit(`the value of column ${names[i]} is ${p.why}`);
      out.push(p);
    }
    return out;
  }

  // ---- facility-owned rows: batched ----

  private async own(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], params: PgParam[]): Promise<void> {
    const key = keyText([this.origin, ...keyValues]);
    // A row changed twice goes in two batches, in order: one statement may claim a row only once.
    if (this.pending.get(t)?.keys.has(key)) await this.flushAll();
    let batch = this.pending.get(t);
    if (!batch) this.pending.set(t, (batch = { keys: new Set(), data: this.buffers.pop() ?? new CopyBuffer() }));
    batch.keys.add(key);
    batch.data.write(this.stageLine(t, r, key, params));
    this.pendingCount++;
    this.counts.applied++;
    this.carried.append(r.seq);
    if (this.waitingAgain.has(r.seq)) await this.clearRejected(r.seq);
    if (this.pendingCount >= BATCH) await this.flushAll();
  }

  /** The change as a line of COPY text: its version, then each column (a delete: its key's only). */
  private stageLine(t: TableEntry, r: ChangeRecord, key: string, params: PgParam[]): string {
    const wall = r.clock[0];
    const head = [copyText(key), String(r.seq), String(wall), String(r.clock[1]), r.op === 'delete' ? '1' : '0', wall > this.aheadAfter ? '1' : '0'];
    if (r.op !== 'delete') return `${head.join('\t')}\t${params.map(copyText).join('\t')}\n`;
    const cells = t.columns.map(() => '\\N');
    t.keyIdx.forEach((col, i) => (cells[col] = copyText(params[i]!)));
    return `${head.join('\t')}\t${cells.join('\t')}\n`;
  }

  /**
   * Send the batches held back. The database works on them while the next batch is decoded: at
   * most one is in flight (pg runs a connection's queries in the order given, so everything after
   * it still sees it), and the first failure is what the bundle fails with.
   */
  private async flushAll(): Promise<void> {
    const batches = [...this.pending];
    this.pending.clear();
    this.pendingCount = 0;
    await this.settled();
    if (batches.length === 0) return;
    this.inflight = (async () => {
      for (const [t, batch] of batches) {
        await this.flush(t, batch.data);
        batch.data.clear();
        this.buffers.push(batch.data); // reused: the batches' text never becomes garbage
      }
    })();
    this.inflight.catch(() => undefined); // awaited by settled(): not an unhandled rejection meanwhile
  }

  /** Wait for the batch in flight; its failure, if it failed. */
  async settled(): Promise<void> {
    await this.inflight;
  }

  /**
   * One batch of a facility-owned table, as a bulk loader does it: COPY into a staging table,
   * then one statement that claims the versions (a new row, or a newer seq of this facility) and,
   * for the rows it claimed, writes the rows and deletes the deletes.
   */
  private async flush(t: TableEntry, data: CopyBuffer): Promise<void> {
    if (data.length === 0) return;
    const stage = await this.stage(t);
    const { from } = await import('pg-copy-streams');
    await pipeline(Readable.from(data.chunks(), { objectMode: false }), this.c.query(from(stage.copy)));
    await one(this.c, stage.apply, [t.record.table, this.origin]);
    await this.c.query(stage.truncate);
  }

  /** The table's staging table, made on first use in this transaction (dropped at its end), and the statements that use it. */
  private async stage(t: TableEntry): Promise<Stage> {
    let st = this.stages.get(t);
    if (st) return st;
    const name = q(`ferry_stage_${this.stages.size + 1}`);
    const cols = t.columns.map(q);
    await one(this.c, `CREATE TEMP TABLE ${name} (ferry_k text, ferry_s bigint, ferry_w bigint, ferry_n bigint, ferry_d smallint, ferry_a smallint, ${cols.map((col, i) => `${col} ${t.types[i]}`).join(', ')}) ON COMMIT DROP`);
    const table = q(t.record.table);
    const key = hubKey(t.record.scope, t.record.key);
    const rest = t.columns.filter((col) => !key.includes(col));
    const action = rest.length ? `DO UPDATE SET ${rest.map((col) => `${q(col)} = excluded.${q(col)}`).join(', ')}` : 'DO NOTHING';
    st = {
      copy: `COPY ${name} (ferry_k, ferry_s, ferry_w, ferry_n, ferry_d, ferry_a, ${cols.join(', ')}) FROM STDIN`,
      apply: `WITH claimed AS (
          INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead)
          SELECT $1, ferry_k, $2, ferry_s, ferry_w, ferry_n, ferry_d, ferry_a FROM ${name}
          ON CONFLICT (tbl, key) DO UPDATE SET seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted, ahead = excluded.ahead
          WHERE ferry_rows.origin = excluded.origin AND ferry_rows.seq < excluded.seq
          RETURNING key
        ), written AS (
          INSERT INTO ${table} (${q(ORIGIN_COLUMN)}, ${cols.join(', ')})
          SELECT $2, ${cols.map((col) => `st.${col}`).join(', ')} FROM ${name} st JOIN claimed ON claimed.key = st.ferry_k WHERE st.ferry_d = 0
          ON CONFLICT (${key.map(q).join(', ')}) ${action}
          RETURNING 1
        ), removed AS (
          DELETE FROM ${table} h USING ${name} st JOIN claimed ON claimed.key = st.ferry_k
          WHERE st.ferry_d = 1 AND h.${q(ORIGIN_COLUMN)} = $2 AND ${t.record.key.map((k) => `h.${q(k)} = st.${q(k)}`).join(' AND ')}
          RETURNING 1
        )
        SELECT count(*) FROM claimed`,
      truncate: `TRUNCATE ${name}`,
    };
    this.stages.set(t, st);
    return st;
  }

  /** Write rows (each: the values of the hub key's columns then the rest, in writeColumns order). */
  private async upsertRows(t: TableEntry, rows: PgParam[][], owned: boolean): Promise<void> {
    const columns = owned ? [ORIGIN_COLUMN, ...t.columns] : t.columns;
    const types: PgType[] = owned ? ['text', ...t.types] : t.types;
    const key = hubKey(t.record.scope, t.record.key);
    const rest = columns.filter((col) => !key.includes(col));
    const action = rest.length ? `DO UPDATE SET ${rest.map((col) => `${q(col)} = excluded.${q(col)}`).join(', ')}` : 'DO NOTHING';
    await one(
      this.c,
      `INSERT INTO ${q(t.record.table)} (${columns.map(q).join(', ')}) SELECT * FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) ON CONFLICT (${key.map(q).join(', ')}) ${action}`,
      columns.map((_, i) => rows.map((row) => arrayParam(row[i]!))),
    );
  }

  private async deleteRows(t: TableEntry, keys: PgParam[][], owned: boolean): Promise<void> {
    const key = hubKey(t.record.scope, t.record.key);
    const types: PgType[] = owned ? ['text', ...t.keyTypes] : t.keyTypes;
    await one(
      this.c,
      `DELETE FROM ${q(t.record.table)} WHERE (${key.map(q).join(', ')}) IN (SELECT * FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}))`,
      key.map((_, i) => keys.map((row) => arrayParam(row[i]!))),
    );
  }

  // ---- shared rows: one at a time, under the hub-wide lock ----

  private async shared(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], params: PgParam[]): Promise<void> {
    await this.hubLock();
    const table = t.record.table;
    const key = keyText(keyValues);
    const incoming: Version = { origin: this.origin, seq: r.seq, wall: r.clock[0], counter: r.clock[1], ahead: r.clock[0] > this.aheadAfter ? 1 : 0 };
    const mine = (
      await this.c.query<{ seq: string; columns: string }>({ name: 'ferry-shared-origin', text: 'SELECT seq, columns FROM ferry_shared_rows WHERE tbl = $1 AND key = $2 AND origin = $3', values: [table, key, this.origin] })
    ).rows[0];
    if (mine && Number(mine.seq) > r.seq) {
      // Superseded by a later change of the same origin to this row, already held.
      this.counts.applied++;
      await this.held(r.seq);
      return;
    }
    if (await this.claim(t, r, keyValues, params, key, incoming, mine)) return;
    await this.againstCurrent(t, r, keyValues, params, key, incoming);
  }

  private async version(table: string, key: string): Promise<RowVersion | undefined> {
    const x = (await this.c.query({ name: 'ferry-get-version', text: 'SELECT origin, seq, wall, counter, deleted, ahead FROM ferry_rows WHERE tbl = $1 AND key = $2', values: [table, key] })).rows[0];
    return x ? { origin: x.origin, seq: Number(x.seq), wall: Number(x.wall), counter: Number(x.counter), deleted: Number(x.deleted), ahead: Number(x.ahead) } : undefined;
  }

  /** The shared row now held, encoded, keyed by the hub's column names; null when there is none. */
  private async heldRow(t: TableEntry, keyValues: EncodedValue[]): Promise<Record<string, EncodedValue> | null> {
    const keyParams = keyValues.map((v, i) => toPgParam(v, t.keyTypes[i]!) as PgParam);
    const res = await one(this.c, `SELECT * FROM ${q(t.record.table)} WHERE ${t.record.key.map((k, i) => `${q(k)} = $${i + 1}::${t.keyTypes[i]}`).join(' AND ')}`, keyParams);
    return res.rows[0] ? encodePgRow(res.rows[0], res.fields) : null;
  }

  private async putVersion(table: string, key: string, v: Version, deleted: number): Promise<void> {
    await this.c.query({
      name: 'ferry-put-version',
      text: `INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (tbl, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted, ahead = excluded.ahead`,
      values: [table, key, v.origin, v.seq, v.wall, v.counter, deleted, v.ahead ?? 0],
    });
  }

  private async noteShared(t: TableEntry, key: string, seq: number): Promise<void> {
    await this.c.query({
      name: 'ferry-note-shared',
      text: `INSERT INTO ferry_shared_rows (tbl, key, origin, seq, columns) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tbl, key, origin) DO UPDATE SET seq = excluded.seq, columns = excluded.columns WHERE excluded.seq > ferry_shared_rows.seq`,
      values: [t.record.table, key, this.origin, seq, t.columnList],
    });
  }

  private async writeShared(t: TableEntry, r: ChangeRecord, params: PgParam[]): Promise<void> {
    if (r.op === 'delete') await this.deleteRows(t, [params], false);
    else await this.upsertRows(t, [params], false);
  }

  private async claim(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], params: PgParam[], key: string, v: Version, mine: { seq: string; columns: string } | undefined): Promise<boolean> {
    const follow = mine !== undefined && (await this.mayFollowItself(t, r, keyValues, key, mine.columns));
    const sql = follow
      ? `INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (tbl, key) DO UPDATE SET seq = excluded.seq, wall = excluded.wall, counter = excluded.counter, deleted = excluded.deleted, ahead = excluded.ahead
         WHERE ferry_rows.origin = excluded.origin AND ferry_rows.seq < excluded.seq`
      : 'INSERT INTO ferry_rows (tbl, key, origin, seq, wall, counter, deleted, ahead) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tbl, key) DO NOTHING';
    const res = await this.c.query({ name: follow ? 'ferry-claim-version' : 'ferry-new-version', text: sql, values: [t.record.table, key, v.origin, v.seq, v.wall, v.counter, r.op === 'delete' ? 1 : 0, v.ahead] });
    if (res.rowCount !== 1) return false;
    await this.writeShared(t, r, params);
    await this.noteShared(t, key, r.seq);
    this.counts.applied++;
    await this.held(r.seq);
    return true;
  }

  private async mayFollowItself(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], key: string, columns: string): Promise<boolean> {
    const saw = describedColumns(columns);
    if (sawEveryColumn(t, r.op, saw)) return true;
    const current = await this.version(t.record.table, key);
    if (current === undefined || current.origin !== this.origin || current.deleted) return true;
    return followsOverSeen(t, r.op, saw, await this.heldRow(t, keyValues));
  }

  private async againstCurrent(t: TableEntry, r: ChangeRecord, keyValues: EncodedValue[], params: PgParam[], key: string, incoming: Version): Promise<void> {
    const table = t.record.table;
    const current = (await this.version(table, key))!;
    if (current.origin === this.origin && current.seq > r.seq) {
      this.counts.applied++;
      await this.held(r.seq);
      return;
    }
    const currentRow = current.deleted ? null : await this.heldRow(t, keyValues);
    if (basedOn(t, r, currentRow)) {
      await this.writeShared(t, r, params);
      await this.putVersion(table, key, incoming, r.op === 'delete' ? 1 : 0);
      await this.noteShared(t, key, r.seq);
      this.counts.applied++;
      await this.held(r.seq);
      return;
    }
    const incomingWins = compareVersions(incoming, current) > 0;
    const incomingRow = rowObject(t.record, r.row);
    if (sameContent(currentRow, incomingRow)) {
      if (incomingWins) await this.putVersion(table, key, incoming, current.deleted);
      await this.noteShared(t, key, r.seq);
      this.counts.already_present++;
      await this.held(r.seq);
      return;
    }
    const winner = incomingWins ? { v: incoming, row: incomingRow } : { v: current, row: currentRow };
    const loser = incomingWins ? { v: current, row: currentRow } : { v: incoming, row: incomingRow };
    if (!(await this.recordConflict(table, key, winner, loser, incoming, current))) return this.reject(r, table, CONFLICT_BUDGET_REASON);
    if (incomingWins) {
      await this.writeShared(t, r, params);
      await this.putVersion(table, key, incoming, r.op === 'delete' ? 1 : 0);
    }
    await this.noteShared(t, key, r.seq);
    this.counts.conflicts++;
    await this.held(r.seq);
  }

  private async recordConflict(table: string, key: string, winner: SideOf, loser: SideOf, incoming: Version, current: Version): Promise<boolean> {
    const winnerJson = JSON.stringify(winner.row);
    const loserJson = JSON.stringify(loser.row);
    const cost = winnerJson.length + loserJson.length;
    if (this.conflictBytes > 0 && this.conflictBytes + cost > this.budget) return false;
    this.conflictBytes += cost;
    const flag = incoming.ahead || current.ahead ? 'clock-ahead' : null;
    const values = [this.at, this.m.bundle_id, winner.v.origin, winner.v.seq, clockText(winner.v), winnerJson, loser.v.origin, loser.v.seq, clockText(loser.v), loserJson, flag];
    // As on SQLite: one open record per row and pair of facilities; a conflict with its own version is never replaced.
    const open =
      current.origin === this.origin
        ? undefined
        : (
            await this.c.query<{ id: string }>({
              name: 'ferry-open-conflict',
              text: `SELECT id FROM ferry_conflicts WHERE tbl = $1 AND key = $2 AND resolved_at IS NULL
                     AND ((current_origin = $3 AND other_origin = $4) OR (current_origin = $4 AND other_origin = $3)) ORDER BY id DESC LIMIT 1`,
              values: [table, key, this.origin, current.origin],
            })
          ).rows[0];
    if (open) {
      await this.c.query({
        name: 'ferry-update-conflict',
        text: `UPDATE ferry_conflicts SET detected_at = $1, bundle_id = $2, current_origin = $3, current_seq = $4, current_clock = $5, current_row = $6,
               other_origin = $7, other_seq = $8, other_clock = $9, other_row = $10, flag = $11, repeats = repeats + 1 WHERE id = $12`,
        values: [...values, open.id],
      });
    } else {
      await this.c.query({
        name: 'ferry-add-conflict',
        text: `INSERT INTO ferry_conflicts (tbl, key, detected_at, bundle_id, current_origin, current_seq, current_clock, current_row, other_origin, other_seq, other_clock, other_row, flag)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        values: [table, key, ...values],
      });
    }
    return true;
  }

  // ---- every change ----

  private async reject(r: ChangeRecord, table: string, reason: string): Promise<void> {
    this.counts.rejected++;
    this.rejections.add(table, reason, r.seq);
    await this.c.query({
      name: 'ferry-add-rejected',
      text: `INSERT INTO ferry_rejected (origin, seq, tbl, reason, first_at, at, bundle_id, attempts) VALUES ($1, $2, $3, $4, $5, $5, $6, 1)
       ON CONFLICT (origin, seq) DO UPDATE SET tbl = excluded.tbl, reason = excluded.reason, at = excluded.at, bundle_id = excluded.bundle_id, attempts = ferry_rejected.attempts + 1`,
      values: [this.origin, r.seq, table, reason, this.at, this.m.bundle_id],
    });
  }

  private async held(seq: number): Promise<void> {
    this.carried.append(seq);
    if (this.waitingAgain.has(seq)) await this.clearRejected(seq);
  }

  private async clearRejected(seq: number): Promise<void> {
    await this.c.query({ name: 'ferry-clear-rejected', text: 'DELETE FROM ferry_rejected WHERE origin = $1 AND seq = $2', values: [this.origin, seq] });
  }

  async finish(): Promise<ApplyResult> {
    await this.flushAll();
    await this.settled();
    const m = this.m;
    const heldNow = this.ranges.union(this.carried.toArray());
    const ranges = heldNow.toArray();
    await this.c.query('DELETE FROM ferry_applied WHERE origin = $1', [this.origin]);
    await this.c.query('INSERT INTO ferry_applied (origin, first_seq, last_seq) SELECT $1, a, b FROM unnest($2::bigint[], $3::bigint[]) AS u(a, b)', [this.origin, ranges.map((x) => x[0]), ranges.map((x) => x[1])]);
    await this.c.query(
      `INSERT INTO ferry_bundles (origin, bundle_id, first_seq, last_seq, changes, applied, already_present, conflicts, rejected, created, applied_at, file, station)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [this.origin, m.bundle_id, m.seq.first, m.seq.last, m.changes, this.counts.applied, this.counts.already_present, this.counts.conflicts, this.counts.rejected, m.created, this.at, this.bundle.file, this.o.station],
    );
    return { counts: this.counts, rejections: this.rejections.toArray(), appliedRanges: ranges, carriedRanges: this.carried.toArray() };
  }
}

/** A row read from PostgreSQL, encoded as bundles carry values (by each column's type OID). */
export function encodePgRow(row: Record<string, unknown>, fields: Array<{ name: string; dataTypeID: number }>): Record<string, EncodedValue> {
  const out: Record<string, EncodedValue> = {};
  for (const f of fields) {
    const type = pgTypeOfOid(f.dataTypeID);
    const v = row[f.name];
    out[f.name] = type ? fromPg(v, type) : v === null || v === undefined ? null : String(v);
  }
  return out;
}
