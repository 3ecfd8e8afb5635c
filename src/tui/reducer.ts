/**
 * The TUI as a state machine: every key and every answer from ferry's operations is an action,
 * and tuiReducer (pure: no I/O, no services) says what the screen becomes and which operations
 * to start. Those are effects, queued in the state and carried out by the App, whose answers come
 * back as actions. Keys always reach the newest state, with no copy of it kept on the side.
 */
import type { Conflict } from '../hub/conflicts.js';
import type { QuarantineEntry } from '../hub/quarantine.js';
import type { StatusResult } from '../roles/status.js';
import type { AuditEntry } from '../store/peer-directory.js';
import type { PublicIdentity } from '../format/identity.js';
import type { ProgressEvent } from '../node/context.js';
import type { PickerState } from './screens/drives.js';
import type { RunState } from './screens/run.js';
import type { PeersState } from './screens/peers.js';
import type { DriveInfo, OperationResult } from './services.js';
import type { Role } from '../format/identity.js';
import { isHub } from '../node/role.js';
import { tableLines, TABLES_PAGE } from './table-lines.js';
import { FORM_FIELDS, type FormKind, type FormState } from './screens/records.js';
import type { SendResult } from '../hub/send.js';

export type Op = 'export' | 'import';

export type Screen =
  | { name: 'dashboard' }
  | { name: 'drives'; op: Op; drives: DriveInfo[]; picker: PickerState }
  | { name: 'run' }
  | { name: 'conflicts'; index: number }
  | { name: 'conflict'; conflict: Conflict }
  | { name: 'quarantine'; offset: number }
  | { name: 'tables'; offset: number }
  | { name: 'log'; offset: number }
  | { name: 'peers' }
  | { name: 'form'; form: FormState }
  | { name: 'received'; offset: number }
  | { name: 'outgoing' };

/** The keys the screens use (ink's Key has these and more). */
export interface KeyPress {
  escape?: boolean;
  return?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

/** What the App does for the reducer: each calls a service and answers with an action. */
export type Effect =
  | { type: 'quit' }
  | { type: 'refresh' }
  | { type: 'open-picker'; op: Op }
  | { type: 'start-run'; op: Op; drive: string }
  | { type: 'cancel-run' }
  | { type: 'load-conflicts' }
  | { type: 'resolve'; id: number; keep: 'current' | 'other'; keptOrigin: string }
  | { type: 'load-quarantine' }
  | { type: 'load-log' }
  | { type: 'load-identity' }
  | { type: 'find-cards' }
  | { type: 'read-card'; path: string }
  | { type: 'trust'; path: string; id: string }
  | { type: 'revoke'; id: string }
  /** a send's dry run, then the send itself; a facility's request */
  | { type: 'plan-send'; request: SendFormRequest }
  | { type: 'send'; request: SendFormRequest }
  | { type: 'request'; request: RequestFormRequest };

/** What the send form names, as `ferry send` takes it. */
export interface SendFormRequest {
  to: string;
  from: string;
  table: string;
  key?: string[];
  where?: { column: string; value: string };
  reason?: string;
}

export interface RequestFormRequest {
  table: string;
  column: string;
  value: string;
  reason?: string;
}

export type Action =
  | { type: 'key'; input: string; key: KeyPress }
  | { type: 'status'; status: StatusResult }
  | { type: 'status-failed'; error: LoadError }
  | { type: 'failed'; message: string }
  | { type: 'picker'; op: Op; drives: DriveInfo[] }
  | { type: 'progress'; progress: ProgressEvent }
  | { type: 'run-done'; outcome: OperationResult }
  | { type: 'conflicts'; conflicts: Conflict[]; message?: string }
  | { type: 'quarantine'; entries: QuarantineEntry[] }
  | { type: 'log'; entries: AuditEntry[] }
  | { type: 'identity'; me: PublicIdentity }
  | { type: 'cards'; cards: string[] }
  | { type: 'card'; card: NonNullable<PeersState['card']> }
  | { type: 'peers-done'; message: string; refresh: boolean }
  | { type: 'send-planned'; plan: SendResult }
  /** a form's operation failed: its reason under the form, which stays filled in */
  | { type: 'form-failed'; message: string }
  /** a form's operation was done: back to the dashboard, saying what it came to */
  | { type: 'form-done'; message: string }
  /** the App has carried out every effect up to this id */
  | { type: 'effects-taken'; upTo: number };

/** Why the status could not be read, and what to do about it: the dashboard shows both in full. */
export interface LoadError {
  message: string;
  hint?: string;
}

export interface TuiState {
  screen: Screen;
  /**
   * From the node's config, not from its status: a hub whose status cannot be read (an outdated
   * hub.db, which only `ferry migrate` upgrades) is still a hub, and its screens stay a hub's.
   */
  role: Role;
  status?: StatusResult;
  /** the last status refresh failed: shown on the dashboard until a refresh succeeds */
  loadError?: LoadError;
  /** one line under the screen: what an action came to, or why it failed */
  message?: string;
  run?: RunState;
  conflicts: Conflict[];
  quarantine: QuarantineEntry[];
  log: AuditEntry[];
  me?: PublicIdentity;
  peers: PeersState;
  /** effects not yet carried out, oldest first; ids grow by one */
  effects: Array<{ id: number; effect: Effect }>;
  nextEffectId: number;
}

/** The log screen shows this many entries; quarantine fewer, as each takes two lines. */
export const LOG_PAGE = 16;
export const QUARANTINE_PAGE = 8;

const PEERS_LIST: PeersState = { mode: 'list', index: 0, cards: [] };

export const initialState = (role: Role): TuiState => ({
  screen: { name: 'dashboard' },
  role,
  conflicts: [],
  quarantine: [],
  log: [],
  peers: PEERS_LIST,
  // The dashboard needs the status first.
  effects: [{ id: 1, effect: { type: 'refresh' } }],
  nextEffectId: 2,
});

function withEffects(s: TuiState, ...effects: Effect[]): TuiState {
  if (effects.length === 0) return s;
  return { ...s, effects: [...s.effects, ...effects.map((effect, i) => ({ id: s.nextEffectId + i, effect }))], nextEffectId: s.nextEffectId + effects.length };
}

const running = (s: TuiState) => s.run !== undefined && s.run.outcome === undefined;
const clamp = (i: number, len: number) => Math.max(0, Math.min(len - 1, i));

const home = (s: TuiState): TuiState => withEffects({ ...s, message: undefined, screen: { name: 'dashboard' } }, { type: 'refresh' });

const startRun = (s: TuiState, op: Op, drive: string): TuiState => withEffects({ ...s, run: { op, drive }, screen: { name: 'run' } }, { type: 'start-run', op, drive });

const cancel = (s: TuiState): TuiState => withEffects({ ...s, run: { ...s.run!, cancelling: true } }, { type: 'cancel-run' });

export function tuiReducer(s: TuiState, a: Action): TuiState {
  switch (a.type) {
    case 'key':
      return onKey(s, a.input, a.key);
    case 'status':
      return { ...s, status: a.status, loadError: undefined };
    case 'status-failed':
      return { ...s, loadError: a.error };
    case 'failed':
      return { ...s, message: a.message };
    case 'picker':
      return { ...s, screen: { name: 'drives', op: a.op, drives: a.drives, picker: { index: 0, typing: false, typed: '' } } };
    case 'progress':
      return s.run ? { ...s, run: { ...s.run, progress: a.progress } } : s;
    case 'run-done':
      return withEffects(s.run ? { ...s, run: { ...s.run, outcome: a.outcome } } : s, { type: 'refresh' });
    case 'conflicts':
      return { ...s, conflicts: a.conflicts, screen: { name: 'conflicts', index: 0 }, ...(a.message ? { message: a.message } : {}) };
    case 'quarantine':
      return { ...s, quarantine: a.entries, screen: { name: 'quarantine', offset: 0 } };
    case 'log':
      return { ...s, log: a.entries, screen: { name: 'log', offset: Math.max(0, a.entries.length - LOG_PAGE) } };
    case 'identity':
      return { ...s, me: a.me, peers: PEERS_LIST, screen: { name: 'peers' } };
    case 'cards':
      return { ...s, peers: { mode: 'cards', index: 0, cards: a.cards } };
    case 'card':
      return { ...s, peers: { ...s.peers, mode: 'confirm-trust', card: a.card } };
    case 'peers-done': {
      const next = { ...s, peers: { ...PEERS_LIST, message: a.message } };
      return a.refresh ? withEffects(next, { type: 'refresh' }) : next;
    }
    case 'effects-taken':
      return { ...s, effects: s.effects.filter((e) => e.id > a.upTo) };
    case 'send-planned':
      return s.screen.name === 'form' ? { ...s, message: undefined, screen: { ...s.screen, form: { ...s.screen.form, plan: a.plan } } } : s;
    case 'form-failed':
      return { ...s, message: a.message };
    case 'form-done':
      return withEffects({ ...s, message: a.message, screen: { name: 'dashboard' } }, { type: 'refresh' });
  }
}

function onKey(s: TuiState, input: string, key: KeyPress): TuiState {
  if (key.ctrl && input === 'c') return running(s) ? cancel(s) : withEffects(s, { type: 'quit' });
  const screen = s.screen;
  const hub = isHub(s);
  switch (screen.name) {
    case 'dashboard':
      if (input === 'q') return withEffects(s, { type: 'quit' });
      if (input === 'r') return withEffects(s, { type: 'refresh' });
      if (input === 'e') return withEffects(s, { type: 'open-picker', op: 'export' });
      if (input === 's' && hub) return openForm(s, 'send');
      if (input === 'o' && hub) return { ...s, message: undefined, screen: { name: 'outgoing' } };
      if (input === 'a' && !hub) return openForm(s, 'request');
      if (input === 'v' && !hub) return { ...s, message: undefined, screen: { name: 'received', offset: 0 } };
      if (input === 'i') return withEffects(s, { type: 'open-picker', op: 'import' });
      if (input === 'c' && hub) return withEffects(s, { type: 'load-conflicts' });
      if (input === 'u' && hub) return withEffects(s, { type: 'load-quarantine' });
      // The tables come with the status the dashboard already has: nothing to load.
      if (input === 't' && hub) return { ...s, message: undefined, screen: { name: 'tables', offset: 0 } };
      if (input === 'l') return withEffects(s, { type: 'load-log' });
      if (input === 'p') return withEffects(s, { type: 'load-identity' });
      return s;
    case 'run':
      if (s.run?.outcome && (key.return || key.escape)) return home(s);
      if (input === 'c' && running(s)) return cancel(s);
      return s;
    case 'conflicts':
      if (key.escape) return home(s);
      if (key.upArrow || key.downArrow) return { ...s, screen: { ...screen, index: clamp(screen.index + (key.upArrow ? -1 : 1), s.conflicts.length) } };
      if (key.return && s.conflicts[screen.index]) return { ...s, screen: { name: 'conflict', conflict: s.conflicts[screen.index]! } };
      return s;
    case 'conflict': {
      if (key.escape) return { ...s, screen: { name: 'conflicts', index: 0 } };
      if (input !== 'k' && input !== 'o') return s;
      const c = screen.conflict;
      const keep = input === 'k' ? 'current' : 'other';
      return withEffects(s, { type: 'resolve', id: c.id, keep, keptOrigin: keep === 'current' ? c.current.origin : c.other.origin });
    }
    case 'tables': {
      const lines = s.status && isHub(s.status) ? tableLines(s.status.tables, s.status.rejections).length : 0;
      if (key.escape) return home(s);
      if (key.upArrow) return { ...s, screen: { ...screen, offset: Math.max(0, screen.offset - 1) } };
      if (key.downArrow) return { ...s, screen: { ...screen, offset: Math.min(Math.max(0, lines - TABLES_PAGE), screen.offset + 1) } };
      return s;
    }
    case 'quarantine':
    case 'log': {
      const len = screen.name === 'log' ? s.log.length : s.quarantine.length;
      const page = screen.name === 'log' ? LOG_PAGE : QUARANTINE_PAGE;
      if (key.escape) return home(s);
      if (key.upArrow) return { ...s, screen: { ...screen, offset: Math.max(0, screen.offset - 1) } };
      if (key.downArrow) return { ...s, screen: { ...screen, offset: Math.min(Math.max(0, len - page), screen.offset + 1) } };
      return s;
    }
    case 'peers':
      return onPeersKey(s, input, key);
    case 'form':
      return onFormKey(s, screen.form, input, key);
    case 'outgoing':
      return key.escape ? home(s) : s;
    case 'received': {
      const len = s.status && !isHub(s.status) ? s.status.received.length : 0;
      if (key.escape) return home(s);
      if (key.upArrow) return { ...s, screen: { ...screen, offset: Math.max(0, screen.offset - 1) } };
      if (key.downArrow) return { ...s, screen: { ...screen, offset: Math.min(Math.max(0, len - 14), screen.offset + 1) } };
      return s;
    }
    case 'drives':
      return onPickerKey(s, screen, input, key);
  }
}

const openForm = (s: TuiState, kind: FormKind): TuiState => ({ ...s, message: undefined, screen: { name: 'form', form: { kind, values: FORM_FIELDS[kind].map(() => ''), index: 0 } } });

/** The send form's values as a send: the fourth is a key (comma-separated for several columns) or COLUMN=VALUE. */
export function sendRequest(values: string[]): SendFormRequest | string {
  const [to, from, table, which, reason] = values.map((v) => v.trim()) as [string, string, string, string, string];
  if (!to || !from || !table || !which) return 'fill in the facility to send to, the facility it comes from, the table and the key';
  const at = which.indexOf('=');
  const by = at > 0 ? { where: { column: which.slice(0, at).trim(), value: which.slice(at + 1).trim() } } : { key: which.split(',').map((k) => k.trim()) };
  return { to, from, table, ...by, ...(reason ? { reason } : {}) };
}

function onFormKey(s: TuiState, f: FormState, input: string, key: KeyPress): TuiState {
  // Text and Enter in one read (a paste, fast typing, a slow link): each line, then its Enter, in order.
  if (!key.ctrl && !key.meta && input.length > 1 && /[\r\n]/.test(input)) {
    let next = s;
    for (const [i, part] of input.split(/\r\n|\r|\n/).entries()) {
      if (i > 0) next = next.screen.name === 'form' ? onFormKey(next, next.screen.form, '', { return: true }) : next;
      if (part && next.screen.name === 'form') next = onFormKey(next, next.screen.form, part, {});
    }
    return next;
  }
  const setForm = (form: FormState): TuiState => ({ ...s, message: undefined, screen: { name: 'form', form } });
  if (key.escape) return home(s);
  if (f.plan) {
    if (input === 'y') {
      const req = sendRequest(f.values);
      return typeof req === 'string' ? { ...s, message: req } : withEffects(s, { type: 'send', request: req });
    }
    if (input === 'n') return setForm({ ...f, plan: undefined });
    return s;
  }
  const last = FORM_FIELDS[f.kind].length - 1;
  if (key.upArrow) return setForm({ ...f, index: Math.max(0, f.index - 1) });
  if (key.downArrow || input === '\t') return setForm({ ...f, index: Math.min(last, f.index + 1) });
  if (key.backspace || key.delete) return setForm({ ...f, values: f.values.map((v, i) => (i === f.index ? v.slice(0, -1) : v)) });
  if (key.return) {
    if (f.index < last) return setForm({ ...f, index: f.index + 1 });
    if (f.kind === 'send') {
      const req = sendRequest(f.values);
      return typeof req === 'string' ? { ...s, message: req } : withEffects(s, { type: 'plan-send', request: req });
    }
    const [table, column, value, reason] = f.values.map((v) => v.trim()) as [string, string, string, string];
    if (!table || !column || !value) return { ...s, message: 'fill in the table, the column and the value asked for' };
    return withEffects(s, { type: 'request', request: { table, column, value, ...(reason ? { reason } : {}) } });
  }
  // Typed text, a paste included: printable characters only.
  if (input && !key.ctrl && !key.meta) {
    const typed = [...input].filter((c) => c >= ' ' && c !== '\u007f').join('');
    return setForm({ ...f, values: f.values.map((v, i) => (i === f.index ? v + typed : v)) });
  }
  return s;
}

function onPickerKey(s: TuiState, screen: Extract<Screen, { name: 'drives' }>, input: string, key: KeyPress): TuiState {
  const p = screen.picker;
  const update = (picker: PickerState): TuiState => ({ ...s, screen: { ...screen, picker } });
  if (p.typing) {
    if (key.escape) return update({ ...p, typing: false });
    if (key.return) return p.typed.trim() ? startRun(s, screen.op, p.typed.trim()) : s;
    if (key.backspace || key.delete) return update({ ...p, typed: p.typed.slice(0, -1) });
    if (input && !key.ctrl && !key.meta) return update({ ...p, typed: p.typed + input });
    return s;
  }
  if (key.escape) return home(s);
  if (key.upArrow) return update({ ...p, index: Math.max(0, p.index - 1) });
  if (key.downArrow) return update({ ...p, index: Math.min(screen.drives.length - 1, p.index + 1) });
  if (key.return && screen.drives[p.index]) return startRun(s, screen.op, screen.drives[p.index]!.path);
  if (input === 't') return update({ ...p, typing: true });
  return s;
}

function onPeersKey(s: TuiState, input: string, key: KeyPress): TuiState {
  const { status, peers } = s;
  const setPeers = (next: PeersState): TuiState => ({ ...s, peers: next });
  switch (peers.mode) {
    case 'list': {
      const count = (status !== undefined && isHub(status)) ? status.facilities.length : 0;
      if (key.escape) return home(s);
      if (input === 't') return withEffects(s, { type: 'find-cards' });
      if (key.upArrow) return setPeers({ ...peers, index: Math.max(0, peers.index - 1) });
      if (key.downArrow) return setPeers({ ...peers, index: Math.min(count - 1, peers.index + 1) });
      if (input === 'v' && (status !== undefined && isHub(status)) && count > 0) return setPeers({ ...peers, mode: 'confirm-revoke', message: undefined });
      return s;
    }
    case 'cards':
      if (key.escape) return setPeers({ ...peers, mode: 'list' });
      if (key.upArrow) return setPeers({ ...peers, index: Math.max(0, peers.index - 1) });
      if (key.downArrow) return setPeers({ ...peers, index: Math.min(peers.cards.length - 1, peers.index + 1) });
      if (key.return && peers.cards[peers.index]) return withEffects(s, { type: 'read-card', path: peers.cards[peers.index]! });
      return s;
    case 'confirm-trust':
      if (input === 'y' && peers.card?.identity) return withEffects(s, { type: 'trust', path: peers.card.path, id: peers.card.identity.id });
      if (input === 'n' || key.escape) return setPeers({ ...PEERS_LIST, message: 'Not trusted.' });
      return s;
    case 'confirm-revoke': {
      if (!(status !== undefined && isHub(status))) return s;
      const target = status.facilities[peers.index];
      if (input === 'y' && target) return withEffects(s, { type: 'revoke', id: target.id });
      if (input === 'n' || key.escape) return setPeers({ ...peers, mode: 'list', message: undefined });
      return s;
    }
  }
}
