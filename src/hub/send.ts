/**
 * `ferry send` at a hub: a facility's record, and everything that belongs to it, goes to another
 * facility and keeps following (a transferred patient); or everything a facility sends does
 * (`--all-from`: a district hospital following its health centres). A send is a standing
 * subscription: the hub's next exports queue the record's rows as they are then, new rows that
 * reference them included, until it is stopped. Every send and stop is audited with its reason;
 * the audit names tables and counts, never a row's values.
 */
import { ErrorCodes, usageError } from '../core/errors.js';
import { nameKey } from '../format/names.js';
import { keyText, type EncodedValue } from '../format/values.js';
import type { OpContext } from '../node/context.js';
import { withLockedSession, withSession, type NodeSession } from '../node/node-session.js';
import type { HubStore } from '../store/hub-store.js';
import type { Subscription } from '../store/outgoing-store.js';
import type { Peer } from '../store/peer-directory.js';
import { recordClosure, type RecordRows } from './record-closure.js';

export interface SendRequest {
  to: string;
  /** one record: its facility, table, and key (one value per key column) or one column's value */
  from?: string;
  table?: string;
  key?: string[];
  where?: { column: string; value: string };
  /** everything this facility sends */
  allFrom?: string;
  reason?: string;
  /** show what would travel; queue nothing */
  dryRun?: boolean;
}

export interface SendResult {
  to: string;
  origin: string;
  /** null: everything the facility sends */
  table: string | null;
  key: EncodedValue[] | null;
  dry_run: boolean;
  /** the send's id (not on a dry run) */
  id: number | null;
  /** a record: its rows now, per table (later rows follow as they come) */
  tables: Record<string, number>;
  rows: number;
}

/** A facility this hub trusts, by id whatever its case; a revoked one neither sends nor receives. */
async function enrolledFacility(store: HubStore, id: string, as: string): Promise<Peer> {
  const p = await store.peer(id);
  if (!p || p.role !== 'facility') {
    throw usageError(ErrorCodes.PEER_UNKNOWN, `${as} ${id} is not a facility this hub has enrolled`, { hint: 'list them with `ferry status`; enrol one with `ferry trust CARD`' });
  }
  if (p.revoked) throw usageError(ErrorCodes.PEER_REVOKED, `${as} ${p.id} was revoked on ${p.revoked.at}`, { hint: 'records go only to enrolled facilities; re-enrol it with `ferry trust CARD --reinstate` if that was a mistake' });
  return p;
}

/**
 * The key as the hub holds it: a value typed on a command line is text, while the EMR's key may
 * be an integer. Each part is tried as an integer first when it reads as one, then as text; the
 * first combination the hub holds wins.
 */
function keyCandidates(parts: string[]): EncodedValue[][] {
  const options = parts.map((p) => (/^-?(0|[1-9][0-9]{0,15})$/.test(p) && Number.isSafeInteger(Number(p)) ? [Number(p), p] : [p]));
  return options.reduce<EncodedValue[][]>((acc, opts) => acc.flatMap((a) => opts.map((o) => [...a, o])), [[]]);
}

/** The one row a send names, with its key; a clear error when there is none or, by a column, several. */
export async function findRecord(store: HubStore, origin: string, table: string, by: { key?: string[]; where?: { column: string; value: string } }): Promise<{ table: string; key: EncodedValue[]; row: Record<string, EncodedValue> }> {
  const t = (await store.tables()).find((x) => nameKey(x.name) === nameKey(table));
  if (!t) throw usageError(ErrorCodes.TABLE_NOT_TRACKED, `the hub holds no table ${table}`, { hint: 'the tables it holds are listed by `ferry status`' });
  if (t.scope === 'shared') throw usageError(ErrorCodes.USAGE, `table ${t.name} is shared: its rows already go to every facility`, { hint: 'send a facility-owned record (a patient), not reference data' });
  const notFound = (what: string) => usageError(ErrorCodes.RECORD_NOT_FOUND, `${origin} has no row of ${t.name} with ${what} at this hub`, { hint: 'check the facility, table and value; the hub holds only what facilities have exported to it' });
  if (by.key) {
    if (by.key.length !== t.key.length) throw usageError(ErrorCodes.USAGE, `table ${t.name} is keyed by ${t.key.join(', ')}: give ${t.key.length} --key value(s)`);
    for (const key of keyCandidates(by.key)) {
      const hit = await store.rowsWhere(t.name, origin, t.key, key);
      if (hit.length === 1) return { table: t.name, ...hit[0]! };
    }
    throw notFound(`that key (${t.key.join(', ')})`);
  }
  const column = t.columns.find((c) => nameKey(c.name) === nameKey(by.where!.column));
  if (!column) throw usageError(ErrorCodes.USAGE, `table ${t.name} has no column ${by.where!.column}`, { hint: `its columns: ${t.columns.map((c) => c.name).join(', ')}` });
  for (const [value] of keyCandidates([by.where!.value])) {
    const hit = await store.rowsWhere(t.name, origin, [column.name], [value!]);
    if (hit.length > 1) throw usageError(ErrorCodes.USAGE, `${hit.length} rows of ${t.name} from ${origin} have that ${column.name}`, { hint: 'name the record by its key with --key instead' });
    if (hit.length === 1) return { table: t.name, ...hit[0]! };
  }
  throw notFound(`that ${column.name}`);
}

function checkRequest(o: SendRequest): void {
  const record = o.from !== undefined || o.table !== undefined || o.key !== undefined || o.where !== undefined;
  if (o.allFrom !== undefined && record) throw usageError(ErrorCodes.USAGE, '--all-from sends everything a facility sends: give it without --from-facility, --table, --key or --where');
  if (o.allFrom === undefined && (o.from === undefined || o.table === undefined || (o.key === undefined) === (o.where === undefined))) {
    throw usageError(ErrorCodes.USAGE, 'send needs --from-facility, --table and one of --key or --where (or --all-from FACILITY)', {
      hint: 'e.g. `ferry send --to RW-MUH-021 --from-facility RW-MUH-017 --table patient --key 5 --reason "transferred"`',
    });
  }
}

/** The rows a standing send makes the recipient hold now. */
export async function subscriptionRows(store: HubStore, s: Pick<Subscription, 'origin' | 'table' | 'key'>): Promise<RecordRows | undefined> {
  if (s.table === null || s.key === null) return undefined;
  const t = (await store.tables()).find((x) => nameKey(x.name) === nameKey(s.table!));
  if (!t) return { rows: [], tables: {} };
  const hit = await store.rowsWhere(t.name, s.origin, t.key, s.key);
  // The record itself was deleted: its rows that remain still belong to nobody else; nothing more follows.
  if (hit.length !== 1) return { rows: [], tables: {} };
  return recordClosure(store, s.origin, { table: t.name, ...hit[0]! });
}

export async function planSend(s: NodeSession, o: SendRequest): Promise<{ to: Peer; origin: Peer; record?: { table: string; key: EncodedValue[] }; rows: RecordRows }> {
  checkRequest(o);
  const store = s.hubStore();
  const to = await enrolledFacility(store, o.to, 'the recipient');
  const origin = await enrolledFacility(store, o.allFrom ?? o.from!, 'the facility');
  if (nameKey(to.id) === nameKey(origin.id)) throw usageError(ErrorCodes.USAGE, `${to.id} would be sent its own rows`, { hint: 'send a record to another facility than the one it came from' });
  if (o.allFrom !== undefined) {
    const tables: Record<string, number> = {};
    for (const r of await store.rowsByFacility()) if (r.origin !== null && nameKey(r.origin) === nameKey(origin.id)) tables[r.table] = r.rows;
    return { to, origin, rows: { rows: [], tables } };
  }
  const found = await findRecord(store, origin.id, o.table!, { ...(o.key ? { key: o.key } : {}), ...(o.where ? { where: o.where } : {}) });
  const rows = await recordClosure(store, origin.id, found);
  return { to, origin, record: { table: found.table, key: found.key }, rows };
}

export function send(ctx: OpContext, o: SendRequest): Promise<SendResult> {
  const run = async (s: NodeSession): Promise<SendResult> => {
    const plan = await planSend(s, o);
    const result: SendResult = {
      to: plan.to.id,
      origin: plan.origin.id,
      table: plan.record?.table ?? null,
      key: plan.record?.key ?? null,
      dry_run: o.dryRun === true,
      id: null,
      tables: plan.rows.tables,
      rows: Object.values(plan.rows.tables).reduce((a, b) => a + b, 0),
    };
    if (o.dryRun) return result;
    const store = s.hubStore();
    const at = ctx.now().toISOString();
    const same = (await store.subscriptions({ recipient: plan.to.id })).find(
      (x) => nameKey(x.origin) === nameKey(plan.origin.id) && (x.table === null ? result.table === null : result.table !== null && nameKey(x.table) === nameKey(result.table) && keyText(x.key!) === keyText(result.key!)),
    );
    const sub = same ?? (await store.addSubscription({ recipient: plan.to.id, origin: plan.origin.id, table: result.table, key: result.key, reason: o.reason ?? null, created_at: at, created_by: s.id, request_id: null }));
    result.id = sub.id;
    await store.audit({
      action: 'send',
      peer: plan.to.id,
      bundle_id: null,
      outcome: same ? 'already-sending' : 'queued',
      detail: { send: sub.id, from: plan.origin.id, table: result.table ?? '(everything)', rows: result.rows, ...(o.reason ? { reason: o.reason } : {}) },
    });
    return result;
  };
  return o.dryRun ? withSession(ctx, 'hub', 'send', run) : withLockedSession(ctx, 'hub', 'send', run);
}

export interface StopRequest {
  to: string;
  from?: string;
  table?: string;
  key?: string[];
  allFrom?: string;
  /** a send by its id (`ferry sends` lists them) */
  id?: number;
  reason?: string;
}

/** Stop standing sends; rows already sent stay at the facility (they are its patient's history now). */
export function stopSend(ctx: OpContext, o: StopRequest): Promise<Subscription[]> {
  return withLockedSession(ctx, 'hub', 'send --stop', async (s) => {
    const store = s.hubStore();
    const to = await store.peer(o.to);
    const recipient = to?.id ?? o.to;
    let keyMatch: ((k: EncodedValue[] | null) => boolean) | undefined;
    if (o.key) {
      const candidates = keyCandidates(o.key).map(keyText);
      keyMatch = (k) => k !== null && candidates.includes(keyText(k));
    }
    const stopped = await store.stopSubscriptions(
      (x) =>
        nameKey(x.recipient) === nameKey(recipient) &&
        (o.id === undefined || x.id === o.id) &&
        (o.allFrom === undefined || (x.table === null && nameKey(x.origin) === nameKey(o.allFrom))) &&
        (o.from === undefined || nameKey(x.origin) === nameKey(o.from)) &&
        (o.table === undefined || (x.table !== null && nameKey(x.table) === nameKey(o.table))) &&
        (keyMatch === undefined || keyMatch(x.key)),
      ctx.now().toISOString(),
    );
    if (stopped.length === 0) throw usageError(ErrorCodes.USAGE, `no standing send to ${recipient} matches`, { hint: 'list them with `ferry sends`' });
    for (const x of stopped) {
      await store.audit({ action: 'send-stop', peer: x.recipient, bundle_id: null, outcome: 'stopped', detail: { send: x.id, from: x.origin, table: x.table ?? '(everything)', ...(o.reason ? { reason: o.reason } : {}) } });
    }
    return stopped;
  });
}

export function listSends(ctx: OpContext, o: { all?: boolean } = {}): Promise<Subscription[]> {
  return withSession(ctx, 'hub', 'sends', (s) => s.hubStore().subscriptions(o));
}
