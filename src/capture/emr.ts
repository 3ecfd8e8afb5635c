/**
 * The facility's EMR database as the use cases see it: its change log, clock and tracking, with
 * the SQL kept here. `openForReading` never writes (status, the TUI's refreshes): it creates
 * nothing, re-queues nothing and leaves the file as it was.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ErrorCodes, usageError } from '../core/errors.js';
import { allPending, lastSeq, oldestPending, openEmrDb, pendingByTable, pendingCount, pruneRange, trackedTables, type Db, type OldestPending, type TablePending, type TrackedTable } from './change-log.js';
import type { TableScope } from '../format/records.js';
import { pendingChanges, type PendingChange } from './pending-changes.js';
import { fenceReusedSeqs, type RestoreFence, type SentRange } from './restore-fence.js';
import { checkTrackRequest, refreshTracking, trackingDrift, trackTable, untrackTable, type TrackingRefresh, type TrackOutcome, type UntrackOutcome } from './track.js';

export type { OldestPending, TablePending, TrackedTable } from './change-log.js';
export type { PendingChange } from './pending-changes.js';
export type { RestoreFence, SentRange } from './restore-fence.js';
export type { TrackingRefresh, TrackOutcome, UntrackOutcome } from './track.js';

/** The hybrid logical clock of the EMR's change log: every change so far was captured at or before it. */
export interface EmrClock {
  wall: number;
  counter: number;
}

export class Emr {
  private constructor(
    private readonly db: Db,
    /** false: opened for reading an EMR that ferry never tracked (no change log yet) */
    private readonly hasLog = true,
  ) {}

  /** Open for a command that changes the log (track, export, import of acks); creates the log tables. */
  static open(path: string): Emr {
    return new Emr(openEmrDb(path));
  }

  /** Open without writing anything, not even the change log's own tables. */
  static openForReading(path: string): Emr {
    if (!existsSync(path)) {
      throw usageError(ErrorCodes.DB_MISSING, `the database ${path} does not exist`, { where: path, hint: "give the path of the EMR's SQLite file with --db" });
    }
    let db: Db;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (err) {
      throw usageError(ErrorCodes.DB_MISSING, `${path} is not a readable SQLite database (${(err as Error).message})`, { where: path, cause: err });
    }
    const hasLog = ['ferry_clock', 'ferry_tables'].every((t) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined);
    return new Emr(db, hasLog);
  }

  close(): void {
    this.db.close();
  }

  trackedTables(): TrackedTable[] {
    return this.hasLog ? trackedTables(this.db) : [];
  }

  pendingCount(): number {
    return this.hasLog ? pendingCount(this.db) : 0;
  }

  /** Per tracked table: its changes waiting for the hub's ack, whether it is captured now, and its scope. */
  pendingByTable(): TablePending[] {
    return this.hasLog ? pendingByTable(this.db) : [];
  }

  oldestPending(): OldestPending | undefined {
    return this.hasLog ? oldestPending(this.db) : undefined;
  }

  lastSeq(): number {
    return this.hasLog ? lastSeq(this.db) : 0;
  }

  clock(): EmrClock {
    return this.db.prepare('SELECT wall, counter FROM ferry_clock WHERE id = 1').get() as EmrClock;
  }

  allPending(first: number, last: number): boolean {
    return allPending(this.db, first, last);
  }

  pruneRange(first: number, last: number): number {
    return pruneRange(this.db, first, last);
  }

  pendingChanges(origin: string, upTo: number, skip?: (seq: number) => boolean): Generator<PendingChange> {
    return pendingChanges(this.db, origin, upTo, skip);
  }

  refreshTracking(nowMs: number): TrackingRefresh {
    return refreshTracking(this.db, nowMs);
  }

  /** Tables whose columns changed since tracking (see trackingDrift); read only. */
  trackingDrift(): string[] {
    return this.hasLog ? trackingDrift(this.db) : [];
  }

  track(requested: string, keyOption: string[] | undefined, nowMs: number, trackedAt: string, scope: TableScope = 'facility'): TrackOutcome {
    return trackTable(this.db, requested, keyOption, nowMs, trackedAt, scope);
  }

  /** Refuses, changing nothing, a track that would change a tracked table's key or scope (see checkTrackRequest). */
  checkTrackRequest(requested: string, keyOption: string[] | undefined, scope: TableScope): void {
    checkTrackRequest(this.db, requested, keyOption, scope);
  }

  untrack(name: string): UntrackOutcome {
    return untrackTable(this.db, name);
  }

  fenceReusedSeqs(sent: SentRange[], hubHolds: number): RestoreFence | undefined {
    return fenceReusedSeqs(this.db, sent, hubHolds);
  }
}
