/**
 * `ferry request` at a facility: ask the hub for a record this facility knows only by one value
 * (the identifier on a patient's card). The request is kept in the received database and written
 * to every drive this facility exports to, signed by it and sealed to the hub, until rows come
 * back that answer it (or the officer cancels it). It carries nothing but the table, the column,
 * the value asked for and the reason.
 */
import { ErrorCodes, usageError } from '../core/errors.js';
import { writeBufferAtomically } from '../drive/atomic-write.js';
import { driveLayout, openDrive, requestFileName, type DriveLayout } from '../drive/layout.js';
import { toHex } from '../format/encoding.js';
import { nameProblem, isReservedName } from '../format/names.js';
import { encodeRequest } from '../format/request.js';
import type { OpContext } from '../node/context.js';
import { withLockedSession, withSession, type NodeSession } from '../node/node-session.js';
import type { Peer } from '../store/peer-directory.js';
import { ReceivedDb, type OwnRequest } from '../store/received-db.js';
import { receivedDbPath } from './receive.js';

export interface RequestOptions {
  table: string;
  column: string;
  value: string;
  reason?: string;
  /** write it to this drive now as well (it goes on every later export anyway) */
  to?: string;
}

export interface RequestResult {
  request_id: string;
  hub: string;
  /** the request file written now, when a drive was given */
  file: string | null;
}

function checkRequest(o: RequestOptions): void {
  for (const [what, name] of [['table', o.table], ['column', o.column]] as const) {
    const problem = nameProblem(name) ?? (isReservedName(name) ? 'is reserved' : undefined);
    if (problem) throw usageError(ErrorCodes.NAME_INVALID, `--${what} ${JSON.stringify(name)}: the name ${problem}`, { hint: 'give a table and column as the EMR names them, e.g. --table patient_identifier --where identifier=RW-MUH-017-000005' });
  }
  if (o.value.length === 0 || o.value.length > 256) throw usageError(ErrorCodes.USAGE, 'the value asked for must be 1 to 256 characters', { hint: 'e.g. --where identifier=RW-MUH-017-000005' });
  if (o.reason !== undefined && o.reason.length > 500) throw usageError(ErrorCodes.USAGE, 'the reason may be at most 500 characters');
}

/** Write one request to the drive, sealed to the hub's current key. */
async function writeRequest(s: NodeSession, hub: Peer, layout: DriveLayout, r: OwnRequest): Promise<string> {
  const keys = await s.nodeKeys();
  const { bytes } = await encodeRequest(
    {
      requestId: Buffer.from(r.request_id, 'hex'),
      facility: { id: s.id, fingerprint: keys.identity.fingerprint, signingSecretKey: keys.signingSecretKey },
      hub: { id: hub.id, fingerprint: hub.fingerprint, encryptionKey: hub.encryptionKey },
      created: new Date(r.created),
      ephemeralSecret: s.ctx.random(32),
    },
    { table: r.table, column: r.column, value: r.value, reason: r.reason },
  );
  return writeBufferAtomically(layout.requests, requestFileName(s.id, hub.id, r.request_id), bytes);
}

export function requestRecord(ctx: OpContext, o: RequestOptions): Promise<RequestResult> {
  checkRequest(o);
  return withLockedSession(ctx, 'facility', 'request', async (s) => {
    if (o.to !== undefined) openDrive(o.to);
    const hub = await s.hub();
    const db = ReceivedDb.open(receivedDbPath(ctx.home));
    try {
      const r: OwnRequest = { request_id: toHex(ctx.random(16)), table: o.table, column: o.column, value: o.value, reason: o.reason ?? null, created: ctx.now().toISOString(), answered_at: null, cancelled_at: null };
      db.addRequest(r);
      await s.audit({ action: 'request', peer: hub.id, outcome: 'recorded', detail: { request: r.request_id, table: o.table, column: o.column, ...(o.reason ? { reason: o.reason } : {}) } });
      const file = o.to !== undefined ? await writeRequest(s, hub, driveLayout(o.to), r) : null;
      return { request_id: r.request_id, hub: hub.id, file };
    } finally {
      db.close();
    }
  });
}

/** Every open request, onto the drive an export writes to; none when nothing was ever asked. */
export async function writeOpenRequests(s: NodeSession, hub: Peer, layout: DriveLayout): Promise<string[]> {
  const db = ReceivedDb.openToRead(receivedDbPath(s.ctx.home));
  if (!db) return [];
  let open: OwnRequest[];
  try {
    open = db.requests({ open: true });
  } finally {
    db.close();
  }
  const written: string[] = [];
  for (const r of open) written.push(await writeRequest(s, hub, layout, r));
  return written;
}

export function listOwnRequests(ctx: OpContext): Promise<OwnRequest[]> {
  return withSession(ctx, 'facility', 'requests', () => {
    const db = ReceivedDb.openToRead(receivedDbPath(ctx.home));
    if (!db) return [];
    try {
      return db.requests();
    } finally {
      db.close();
    }
  });
}
