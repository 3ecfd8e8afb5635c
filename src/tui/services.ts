/**
 * What the TUI needs from ferry, as one object: the real one calls the same operations as the
 * CLI (heavy ones in a child process); tests pass their own.
 */
import { fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, FerryError } from '../core/errors.js';
import { siblingScript } from '../core/sibling-script.js';
import { discoverDrives } from '../drive/discover.js';
import { driveLayout, listDrive } from '../drive/layout.js';
import { freeBytes } from '../drive/atomic-write.js';
import { listConflicts, resolveConflict, type Conflict } from '../hub/conflicts.js';
import type { ProgressEvent } from '../node/context.js';
import { makeContext } from '../node/context.js';
import type { ExportDriveResult } from '../roles/export.js';
import type { ImportResult } from '../roles/import.js';
import { stoppedVerdict } from '../roles/verdict.js';
import type { Verdict } from '../core/verdict.js';
import { showIdentity } from '../node/identity.js';
import { auditLog } from '../node/log.js';
import { listQuarantined, type QuarantineEntry } from '../hub/quarantine.js';
import { withSession } from '../node/node-session.js';
import { status, type StatusResult } from '../roles/status.js';
import { revoke, trustPeer, readCardFile } from '../node/trust.js';
import type { AuditEntry } from '../store/peer-directory.js';
import type { PublicIdentity } from '../format/identity.js';
import { DEFAULT_MOUNT_ROOTS } from '../drive/mount-roots.js';
import { readConfig } from '../store/home.js';
import type { Role } from '../format/identity.js';
import { send, type SendResult } from '../hub/send.js';
import { requestRecord } from '../facility/request.js';
import type { RequestFormRequest, SendFormRequest } from './reducer.js';

export interface DriveInfo {
  path: string;
  freeBytes?: number;
  bundles: number;
  acks: number;
  cards: string[];
}

/** Each carries the operation's verdict, which the run screen shows as it is (never judged again here). */
export type OperationResult =
  | { ok: true; op: 'export'; result: ExportDriveResult }
  | { ok: true; op: 'import'; result: ImportResult }
  | { ok: false; error: ReturnType<FerryError['toJSON']>; verdict: Verdict };

export interface RunningOperation {
  done: Promise<OperationResult>;
  cancel(): void;
}

export interface TuiServices {
  home: string;
  /** the node's role, from its config: known even when its status cannot be read */
  role: Role;
  status(): Promise<StatusResult>;
  drives(): DriveInfo[];
  run(op: 'export' | 'import', drive: string, onProgress: (e: ProgressEvent) => void): RunningOperation;
  conflicts(): Promise<Conflict[]>;
  resolve(id: number, keep: 'current' | 'other'): Promise<void>;
  quarantine(): Promise<QuarantineEntry[]>;
  log(): Promise<AuditEntry[]>;
  identity(): Promise<PublicIdentity>;
  readCard(path: string): PublicIdentity;
  trust(path: string): Promise<string>;
  revoke(id: string): Promise<void>;
  /** hub: what a send would carry (a dry run), then the send */
  planSend(r: SendFormRequest): Promise<SendResult>;
  send(r: SendFormRequest): Promise<SendResult>;
  /** facility: ask the hub for a record; it goes on the next export */
  request(r: RequestFormRequest): Promise<{ request_id: string; hub: string }>;
}

export function describeDrive(path: string): DriveInfo {
  // The picker only counts: a drive whose FERRY folders cannot be listed shows none (the operation reports why).
  let files: Pick<ReturnType<typeof listDrive>, 'bundles' | 'acks'>;
  try {
    files = listDrive(driveLayout(path));
  } catch {
    files = { bundles: [], acks: [] };
  }
  let cards: string[] = [];
  try {
    cards = readdirSync(path).filter((f) => f.endsWith('.card.json')).map((f) => join(path, f));
  } catch {
    cards = [];
  }
  const free = freeBytes(path);
  return { path, ...(free !== undefined ? { freeBytes: free } : {}), bundles: files.bundles.length, acks: files.acks.length, cards };
}

/** The drives under the mount roots, the blank ones too: a first export goes to a drive without FERRY/. */
export function candidateDrives(roots: string[]): DriveInfo[] {
  return discoverDrives(roots).map((d) => describeDrive(d.path));
}

/** The real services: ferry's operations, heavy ones in a child process. */
/** `passphrase`: what the person typed before the screen opened; the export/import child gets it over IPC. */
export function realServices(home: string, mountRoots: string[] = DEFAULT_MOUNT_ROOTS, passphrase?: string): TuiServices {
  const ctx = makeContext(home);
  return {
    home,
    role: readConfig(home).role,
    status: () => status(ctx),
    drives: () => candidateDrives(mountRoots),
    run(op, drive, onProgress) {
      const runner = siblingScript(import.meta.url, 'runner');
      const child = fork(runner.file, [op, home, drive], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: runner.execArgv });
      child.send({ type: 'start', ...(passphrase !== undefined ? { passphrase } : {}) });
      let settled = false;
      const done = new Promise<OperationResult>((resolve) => {
        child.on('message', (m: { type: string; event?: ProgressEvent; result?: unknown; error?: ReturnType<FerryError['toJSON']> }) => {
          if (m.type === 'progress' && m.event) onProgress(m.event);
          else if (m.type === 'done') {
            settled = true;
            resolve({ ok: true, op, result: m.result } as OperationResult);
          } else if (m.type === 'error' && m.error) {
            settled = true;
            resolve({ ok: false, error: m.error, verdict: stoppedVerdict(op, m.error) });
          }
        });
        child.on('exit', (code) => {
          if (!settled) {
            const stopped = new FerryError(ErrorCodes.INTERNAL, 'bug', `internal error: the ${op} stopped unexpectedly (exit ${code})`, { hint: 'this is a bug in ferry; please report it with what you were doing' });
            resolve({ ok: false, error: stopped.toJSON(), verdict: stoppedVerdict(op, stopped.toJSON()) });
          }
        });
      });
      return { done, cancel: () => child.connected && child.send('cancel') };
    },
    conflicts: () => listConflicts(ctx),
    resolve: async (id, keep) => {
      await resolveConflict(ctx, { id, keep });
    },
    quarantine: () => withSession(ctx, 'hub', 'tui', (s) => listQuarantined(home, s.hubStore())),
    log: () => auditLog(ctx, { limit: 200 }),
    identity: async () => (await showIdentity(ctx, {})).identity,
    readCard: readCardFile,
    trust: async (path) => (await trustPeer(ctx, { card: path })).outcome,
    revoke: async (id) => {
      await revoke(ctx, { id });
    },
    planSend: (r) => send(ctx, { ...r, dryRun: true }),
    send: (r) => send(ctx, r),
    request: (r) => requestRecord(ctx, r),
  };
}
