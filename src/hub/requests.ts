/**
 * Facilities' record requests at the hub (`ferry requests`): read from the drive at import,
 * recorded once, and answered by the hub's policy: at once for an enrolled facility (`auto`, the
 * default), or held until an operator approves or denies (`approve`). An approved request is
 * answered as soon as the hub holds the record: it becomes a send to the facility that asked, of
 * every facility-owned row of the table whose column holds the value (a patient's identifier),
 * with everything that belongs to it. Every request, decision and answer is audited with who
 * asked, for whom and why; the value asked for is shown to the operator, never logged.
 */
import { ErrorCodes, refusedError, usageError, type FerryError } from '../core/errors.js';
import { removeDriveFile } from '../core/safe-file.js';
import { nameKey } from '../format/names.js';
import { openRequest, requestSignatureValid, unsealRequest } from '../format/request.js';
import type { EncodedValue } from '../format/values.js';
import type { OpContext } from '../node/context.js';
import { itemFailure } from '../node/item-failure.js';
import { withLockedSession, withSession, type NodeSession } from '../node/node-session.js';
import { readConfig, writeConfig, type RequestPolicy } from '../store/home.js';
import type { HubStore } from '../store/hub-store.js';
import type { RecordRequestEntry } from '../store/outgoing-store.js';

/** More matches than this is not one patient: the request is denied, and says to ask more precisely. */
export const MAX_REQUEST_MATCHES = 10;

/**
 * At most this many requests of one facility wait at once: each is looked up again at every
 * import and export, and a facility (or whoever holds its key) could otherwise write thousands.
 */
export const MAX_OPEN_REQUESTS = 50;

export interface RequestReport {
  file: string;
  facility?: string;
  /** the hub's number for it (`ferry requests approve N`) */
  id?: number;
  outcome: 'held' | 'approved' | 'answered' | 'denied' | 'already-had' | 'refused' | 'failed' | 'not-ours';
  reason?: ReturnType<FerryError['toJSON']>;
}

const policyOf = (s: NodeSession): RequestPolicy => s.config.request_policy ?? 'auto';

/** The requests on a drive: each verified (an enrolled facility's signature, for this hub), unsealed, recorded and decided by policy. */
export async function readRequests(s: NodeSession, store: HubStore, files: string[]): Promise<RequestReport[]> {
  const reports: RequestReport[] = [];
  for (const file of files) {
    const report: RequestReport = { file, outcome: 'refused' };
    reports.push(report);
    try {
      const r = await openRequest(file);
      const q = r.request;
      report.facility = q.facility;
      if (nameKey(q.hub) !== nameKey(s.id)) {
        report.outcome = 'not-ours';
        continue;
      }
      const peer = await store.peer(q.facility);
      if (!peer || peer.role !== 'facility') throw refusedError(ErrorCodes.SIGNER_UNKNOWN, `request from ${q.facility}, which this hub has not enrolled`, { hint: 'it was not used' });
      if (peer.revoked) throw refusedError(ErrorCodes.SIGNER_REVOKED, `request from ${peer.id}, revoked on ${peer.revoked.at}`, { hint: 'it was not used' });
      if (!requestSignatureValid(r, peer.signingKey)) throw refusedError(ErrorCodes.SIGNATURE_INVALID, `the request's signature does not verify with ${peer.id}'s key (${peer.fingerprint})`, { hint: 'the request was altered or forged; it was not used' });
      const keys = await s.nodeKeys();
      const body = unsealRequest(r, { encryptionSecretKey: keys.encryptionSecretKey, encryptionKey: keys.identity.encryptionKey });
      const at = s.ctx.now().toISOString();
      const { entry, created } = await store.putRequest({
        request_id: q.request_id,
        facility: peer.id,
        table: body.table,
        column: body.column,
        value: body.value,
        reason: body.reason,
        created: q.created,
        received_at: at,
        status: policyOf(s) === 'auto' ? 'approved' : 'held',
      });
      report.id = entry.id;
      report.outcome = created ? entry.status : 'already-had';
      const open = (await store.requests()).filter((x) => nameKey(x.facility) === nameKey(peer.id));
      if (created && open.length > MAX_OPEN_REQUESTS) {
        const why = `${peer.id} has ${MAX_OPEN_REQUESTS} requests waiting already`;
        await store.decideRequest(entry.id, { status: 'denied', at, by: 'policy', reason: why });
        await store.audit({ action: 'request-denied', peer: peer.id, bundle_id: null, outcome: 'denied', detail: { request: entry.id, by: 'policy', why } });
        report.outcome = 'denied';
      }
      if (created) await store.audit({ action: 'request-received', peer: peer.id, bundle_id: null, outcome: entry.status, detail: { request: entry.id, table: body.table, column: body.column, policy: policyOf(s), ...(body.reason ? { reason: body.reason } : {}) } });
      // Recorded: the facility writes it again on every export until it is answered, so nothing is lost.
      removeDriveFile(file);
    } catch (err) {
      const e = itemFailure(err);
      report.outcome = e.kind === 'io' ? 'failed' : 'refused';
      report.reason = e.toJSON();
      await store.audit({ action: 'request-received', peer: report.facility ?? null, bundle_id: null, outcome: report.outcome, detail: { file, code: e.code } });
    }
  }
  const answered = await answerRequests(s, store);
  for (const r of reports) if (r.id !== undefined && answered.has(r.id)) r.outcome = answered.get(r.id)!;
  return reports;
}

/** The value as the hub may hold it: text typed at a facility may be an integer in the EMR. */
const candidates = (v: string): EncodedValue[] => (/^-?(0|[1-9][0-9]{0,15})$/.test(v) && Number.isSafeInteger(Number(v)) ? [v, Number(v)] : [v]);

/**
 * Answer every approved request whose record the hub now holds: each match becomes a send. One
 * the hub cannot answer yet (the record's facility has not exported it) waits for the next try.
 */
export async function answerRequests(s: NodeSession, store: HubStore): Promise<Map<number, 'answered' | 'denied'>> {
  const done = new Map<number, 'answered' | 'denied'>();
  const approved = (await store.requests()).filter((r) => r.status === 'approved');
  if (approved.length === 0) return done;
  const tables = await store.tables();
  const facilities = (await store.peers()).filter((p) => p.role === 'facility' && !p.revoked);
  const at = s.ctx.now().toISOString();
  for (const r of approved) {
    const t = tables.find((x) => nameKey(x.name) === nameKey(r.table));
    const column = t?.columns.find((c) => nameKey(c.name) === nameKey(r.column));
    if (!t || !column) continue; // not held yet: the next import may bring it
    const deny = async (why: string) => {
      await store.decideRequest(r.id, { status: 'denied', at, by: 'policy', reason: why }).catch(() => undefined);
      done.set(r.id, 'denied');
      await store.audit({ action: 'request-denied', peer: r.facility, bundle_id: null, outcome: 'denied', detail: { request: r.id, by: 'policy', why } });
    };
    if (t.scope === 'shared') {
      await deny(`table ${t.name} is shared: its rows go to every facility already`);
      continue;
    }
    // Looked up again at every import and export while it waits: an index, once (within a cap).
    await store.indexForLookup(t.name, column.name);
    const matches: Array<{ origin: string; key: EncodedValue[] }> = [];
    for (const f of facilities) {
      if (nameKey(f.id) === nameKey(r.facility)) continue;
      for (const v of candidates(r.value)) for (const hit of await store.rowsWhere(t.name, f.id, [column.name], [v])) matches.push({ origin: f.id, key: hit.key });
    }
    if (matches.length === 0) continue;
    if (matches.length > MAX_REQUEST_MATCHES) {
      await deny(`${matches.length} rows match: more than one record; ask with a more specific value`);
      continue;
    }
    const sends: number[] = [];
    for (const m of matches) {
      const sub = await store.addSubscription({ recipient: r.facility, origin: m.origin, table: t.name, key: m.key, reason: r.reason, created_at: at, created_by: `request:${r.id}`, request_id: r.request_id });
      sends.push(sub.id);
    }
    await store.answerRequest(r.id, at, sends);
    done.set(r.id, 'answered');
    await store.audit({ action: 'request-answered', peer: r.facility, bundle_id: null, outcome: 'answered', detail: { request: r.id, sends, from: [...new Set(matches.map((m) => m.origin))] } });
  }
  return done;
}

export function listRequests(ctx: OpContext, o: { all?: boolean } = {}): Promise<{ policy: RequestPolicy; requests: RecordRequestEntry[] }> {
  return withSession(ctx, 'hub', 'requests', async (s) => ({ policy: policyOf(s), requests: await s.hubStore().requests(o) }));
}

export function decide(ctx: OpContext, o: { id: number; approve: boolean; reason?: string }): Promise<RecordRequestEntry> {
  return withLockedSession(ctx, 'hub', `requests ${o.approve ? 'approve' : 'deny'}`, async (s) => {
    const store = s.hubStore();
    const at = ctx.now().toISOString();
    const decided = await store.decideRequest(o.id, { status: o.approve ? 'approved' : 'denied', at, by: s.id, reason: o.reason ?? null });
    if (!decided) {
      const known = (await store.requests({ all: true })).find((r) => r.id === o.id);
      throw usageError(ErrorCodes.REQUEST_UNKNOWN, known ? `request ${o.id} is ${known.status} already` : `there is no request ${o.id}`, { hint: 'list the waiting ones with `ferry requests`' });
    }
    await store.audit({ action: o.approve ? 'request-approved' : 'request-denied', peer: decided.facility, bundle_id: null, outcome: decided.status, detail: { request: decided.id, by: s.id, ...(o.reason ? { reason: o.reason } : {}) } });
    if (o.approve) await answerRequests(s, store);
    return (await store.requests({ all: true })).find((r) => r.id === o.id)!;
  });
}

/** `ferry requests policy auto|approve`: how the next requests are answered (those already held stay held). */
export function setRequestPolicy(ctx: OpContext, policy: RequestPolicy): Promise<RequestPolicy> {
  return withLockedSession(ctx, 'hub', 'requests policy', async (s) => {
    const before = policyOf(s);
    writeConfig(ctx.home, { ...readConfig(ctx.home), request_policy: policy });
    await s.audit({ action: 'request-policy', outcome: policy, detail: { was: before } });
    return policy;
  });
}
