/** The TUI's state machine without a screen: keys and answers in, screens and effects out. */
import test from 'ava';
import { initialState, tuiReducer, type Action, type Effect, type KeyPress, type TuiState } from '../src/tui/reducer.js';
import type { FacilityStatus, HubStatus } from '../src/roles/status.js';
import type { Conflict } from '../src/hub/conflicts.js';
import { stopped } from './helpers/outcomes.js';

const facility = { role: 'facility', id: 'RW-017', facilities: undefined } as unknown as FacilityStatus;
const hub = { role: 'hub', id: 'HUB', facilities: [{ id: 'RW-017' }, { id: 'RW-042' }] } as unknown as HubStatus;
const drive = { path: '/media/usb', bundles: 0, acks: 0, cards: [] };
const conflict = (id: number) => ({ id, current: { origin: 'RW-042' }, other: { origin: 'RW-017' } }) as unknown as Conflict;

const key = (input: string, k: KeyPress = {}): Action => ({ type: 'key', input, key: k });
const ENTER = key('', { return: true });
const ESC = key('', { escape: true });
const DOWN = key('', { downArrow: true });
const UP = key('', { upArrow: true });

/** Apply actions in turn; effects pile up unless taken. */
const play = (s: TuiState, ...actions: Action[]) => actions.reduce(tuiReducer, s);
const effects = (s: TuiState): Effect[] => s.effects.map((e) => e.effect);
const taken = (s: TuiState) => tuiReducer(s, { type: 'effects-taken', upTo: s.nextEffectId - 1 });
const ready = (status: FacilityStatus | HubStatus) => taken(play(initialState(status.role), { type: 'status', status }));

test('the first effect asks for the status; taking effects empties the queue, and ids keep growing', (t) => {
  const s = initialState('facility');
  t.deepEqual(effects(s), [{ type: 'refresh' }]);
  const after = play(taken(s), key('r'), key('r'));
  t.deepEqual(after.effects.map((e) => e.id), [2, 3]);
  t.deepEqual(tuiReducer(after, { type: 'effects-taken', upTo: 2 }).effects.map((e) => e.id), [3]);
});

test('export: [e] opens the picker (a hub exports its outgoing records too), Enter starts a run on the chosen drive, progress and outcome land in it', (t) => {
  t.deepEqual(effects(play(ready(hub), key('e'))), [{ type: 'open-picker', op: 'export' }], 'a hub exports what it sends back out');
  let s = play(ready(facility), key('e'));
  t.deepEqual(effects(s), [{ type: 'open-picker', op: 'export' }]);
  s = taken(play(s, { type: 'picker', op: 'export', drives: [drive, { ...drive, path: '/media/b' }] }, DOWN, DOWN, UP));
  t.like(s.screen, { name: 'drives', picker: { index: 0 } });
  s = play(s, ENTER);
  t.deepEqual(effects(s), [{ type: 'start-run', op: 'export', drive: '/media/usb' }]);
  t.like(s, { screen: { name: 'run' }, run: { op: 'export', drive: '/media/usb' } });
  s = taken(play(s, { type: 'progress', progress: { phase: 'export', changesDone: 5 } }));
  t.is(s.run?.progress?.changesDone, 5);
  t.deepEqual(effects(play(s, ENTER)), [], 'Enter does nothing while it runs');
  s = play(s, { type: 'run-done', outcome: stopped('export', { code: 'drive-full', kind: 'io', message: 'full' }) });
  t.deepEqual(effects(s), [{ type: 'refresh' }], 'the dashboard is refreshed when a run ends');
  s = play(taken(s), ENTER);
  t.like(s, { screen: { name: 'dashboard' } });
  t.deepEqual(effects(s), [{ type: 'refresh' }]);
});

test('a typed path: typing, backspace, Esc back to the list, Enter runs on what was typed', (t) => {
  let s = taken(play(ready(facility), { type: 'picker', op: 'import', drives: [] }, key('t'), ...[...'/mnt/xy'].map((c) => key(c)), key('', { backspace: true })));
  t.like(s.screen, { name: 'drives', picker: { typing: true, typed: '/mnt/x' } });
  t.like(play(s, ESC).screen, { name: 'drives', picker: { typing: false } });
  s = play(s, ENTER);
  t.deepEqual(effects(s), [{ type: 'start-run', op: 'import', drive: '/mnt/x' }]);
});

test('Ctrl-C cancels a running operation once it runs, and quits otherwise', (t) => {
  const ctrlC = key('c', { ctrl: true });
  t.deepEqual(effects(play(ready(facility), ctrlC)), [{ type: 'quit' }]);
  let s = taken(play(ready(facility), { type: 'picker', op: 'export', drives: [drive] }, ENTER));
  s = play(s, ctrlC);
  t.true(s.run?.cancelling);
  t.deepEqual(effects(s), [{ type: 'cancel-run' }]);
  s = play(taken(s), { type: 'run-done', outcome: stopped('export', { code: 'cancelled', kind: 'cancelled', message: 'cancelled' }) });
  t.deepEqual(effects(play(taken(s), ctrlC)), [{ type: 'quit' }], 'once it has ended, Ctrl-C quits');
});

test('conflicts: hub only; the cursor stays on the list; k and o resolve the one shown', (t) => {
  t.deepEqual(effects(play(ready(facility), key('c'))), []);
  let s = play(ready(hub), key('c'));
  t.deepEqual(effects(s), [{ type: 'load-conflicts' }]);
  s = taken(play(s, { type: 'conflicts', conflicts: [conflict(7), conflict(8)] }, DOWN, DOWN, DOWN));
  t.like(s.screen, { name: 'conflicts', index: 1 });
  s = play(s, ENTER);
  t.like(s.screen, { name: 'conflict', conflict: { id: 8 } });
  t.deepEqual(effects(play(s, key('o'))), [{ type: 'resolve', id: 8, keep: 'other', keptOrigin: 'RW-017' }]);
  t.deepEqual(effects(play(s, key('k'))), [{ type: 'resolve', id: 8, keep: 'current', keptOrigin: 'RW-042' }]);
  s = play(s, { type: 'conflicts', conflicts: [], message: 'resolved' });
  t.like(s, { screen: { name: 'conflicts', index: 0 }, message: 'resolved' });
  t.like(play(s, DOWN).screen, { index: 0 }, 'an empty list keeps the cursor at 0');
});

test('the log opens on its last page and scrolls within it', (t) => {
  const entries = Array.from({ length: 20 }, (_, i) => ({ at: String(i), node: 'n', action: 'a', outcome: 'o' }));
  let s = play(ready(facility), { type: 'log', entries });
  t.like(s.screen, { name: 'log', offset: 4 });
  s = play(s, DOWN);
  t.like(s.screen, { offset: 4 });
  s = play(s, UP, UP);
  t.like(s.screen, { offset: 2 });
  t.like(play(s, ESC), { screen: { name: 'dashboard' }, message: undefined });
});

test('peers: trust only after the fingerprint is confirmed; revoke asks first; the answer is shown and the status refreshed', (t) => {
  let s = taken(play(ready(hub), { type: 'identity', me: { id: 'HUB' } as never }));
  t.deepEqual(effects(play(s, key('t'))), [{ type: 'find-cards' }]);
  s = play(s, { type: 'cards', cards: ['/media/usb/a.card.json'] }, ENTER);
  t.deepEqual(effects(s), [{ type: 'read-card', path: '/media/usb/a.card.json' }]);
  s = taken(play(s, { type: 'card', card: { path: '/media/usb/a.card.json', identity: { id: 'RW-050' } as never } }));
  t.is(s.peers.mode, 'confirm-trust');
  t.like(play(s, key('n')).peers, { mode: 'list', message: 'Not trusted.' });
  t.deepEqual(effects(play(s, key('y'))), [{ type: 'trust', path: '/media/usb/a.card.json', id: 'RW-050' }]);
  s = play(s, { type: 'peers-done', message: 'RW-050: now trusted.', refresh: true });
  t.like(s.peers, { mode: 'list', message: 'RW-050: now trusted.' });
  t.deepEqual(effects(s), [{ type: 'refresh' }]);
  s = play(taken(s), DOWN, key('v'));
  t.is(s.peers.mode, 'confirm-revoke');
  t.deepEqual(effects(play(s, key('y'))), [{ type: 'revoke', id: 'RW-042' }]);
  t.like(play(s, ESC).peers, { mode: 'list' });
});

test('a card that cannot be read is shown with its error and cannot be trusted', (t) => {
  const s = taken(play(ready(facility), { type: 'identity', me: { id: 'RW-017' } as never }, { type: 'cards', cards: ['/x.card.json'] }, { type: 'card', card: { path: '/x.card.json', error: 'not a card' } }));
  t.like(s.peers, { mode: 'confirm-trust', card: { error: 'not a card' } });
  t.deepEqual(effects(play(s, key('y'))), []);
});

test("a hub whose status cannot be read keeps a hub's keys (from its config): [i] import, [c] conflicts, [s] send, no facility form", (t) => {
  const s = taken(play(initialState('hub'), { type: 'status-failed', error: { message: 'hub.db is outdated', hint: 'import a drive' } }));
  t.deepEqual(s.loadError, { message: 'hub.db is outdated', hint: 'import a drive' });
  t.deepEqual(effects(play(s, key('i'))), [{ type: 'open-picker', op: 'import' }]);
  t.deepEqual(effects(play(s, key('c'))), [{ type: 'load-conflicts' }]);
  t.is(play(s, key('s')).screen.name, 'form', "a hub's [s] sends a record");
  t.is(play(s, key('a')).screen.name, 'dashboard', 'asking the hub for a record is a facility\'s');
  t.is(play(s, { type: 'status', status: hub }).loadError, undefined, 'a status read since clears the error');
});

test('a form takes text and Enter arriving in one read (a paste, fast typing over a slow link) field by field', (t) => {
  let s = play(ready(hub), key('s'));
  t.is(s.screen.name, 'form');
  s = play(s, { type: 'key', input: 'RW-021\rRW-017\rpatient\r5\r', key: {} });
  const screen = s.screen as Extract<typeof s.screen, { name: 'form' }>;
  t.deepEqual(screen.form.values, ['RW-021', 'RW-017', 'patient', '5', '']);
  t.is(screen.form.index, 4, 'the cursor on the last field, reason');
  s = play(s, { type: 'key', input: 'transfer\r', key: {} });
  t.deepEqual(effects(s), [{ type: 'plan-send', request: { to: 'RW-021', from: 'RW-017', table: 'patient', key: ['5'], reason: 'transfer' } }]);
});
