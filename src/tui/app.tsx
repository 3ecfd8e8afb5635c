/**
 * The terminal UI: a state machine over screens (reducer.ts) drawn here. Every key is shown in the
 * footer; the screens only display; every action goes through TuiServices (the same operations as
 * the CLI), started here as the reducer's effects and answered with actions.
 */
import React, { useCallback, useEffect, useReducer, useRef } from 'react';
import { useApp, useInput } from 'ink';
import { asFerryError } from '../core/errors.js';
import { Frame } from './components.js';
import { Dashboard, dashboardKeys } from './screens/dashboard.js';
import { DrivePicker, drivesKeys } from './screens/drives.js';
import { Run, runKeys } from './screens/run.js';
import { ConflictDetail, ConflictList, conflictKeys, conflictsKeys } from './screens/conflicts.js';
import { listKeys, Log, Quarantine } from './screens/lists.js';
import { Peers, peersKeys } from './screens/peers.js';
import { Tables } from './screens/tables.js';
import { Form, formKeys, Outgoing, Received } from './screens/records.js';
import type { RunningOperation, TuiServices } from './services.js';
import { initialState, tuiReducer, type Action, type Effect, type TuiState } from './reducer.js';
import { isFacility, isHub } from '../node/role.js';

const failure = (err: unknown) => {
  const e = asFerryError(err);
  return `${e.message}${e.hint ? ` — ${e.hint}` : ''}`;
};

/** Carry out one effect; its answer comes back as actions. */
function perform(effect: Effect, services: TuiServices, dispatch: (a: Action) => void, running: { current: RunningOperation | undefined }, quit: () => void): void {
  const fail = (err: unknown) => dispatch({ type: 'failed', message: failure(err) });
  switch (effect.type) {
    case 'quit':
      return quit();
    case 'refresh':
      return void services.status().then(
        (status) => dispatch({ type: 'status', status }),
        (err) => {
          const e = asFerryError(err);
          dispatch({ type: 'status-failed', error: { message: e.message, ...(e.hint ? { hint: e.hint } : {}) } });
        },
      );
    case 'open-picker':
      return dispatch({ type: 'picker', op: effect.op, drives: services.drives() });
    case 'start-run': {
      const r = services.run(effect.op, effect.drive, (progress) => dispatch({ type: 'progress', progress }));
      running.current = r;
      return void r.done.then((outcome) => {
        running.current = undefined;
        dispatch({ type: 'run-done', outcome });
      });
    }
    case 'cancel-run':
      return running.current?.cancel();
    case 'load-conflicts':
      return void services.conflicts().then((conflicts) => dispatch({ type: 'conflicts', conflicts }), fail);
    case 'resolve':
      return void services
        .resolve(effect.id, effect.keep)
        .then(() => services.conflicts())
        .then((conflicts) => dispatch({ type: 'conflicts', conflicts, message: `Conflict #${effect.id} resolved: kept ${effect.keptOrigin}'s version.` }), fail);
    case 'load-quarantine':
      return void services.quarantine().then((entries) => dispatch({ type: 'quarantine', entries }), fail);
    case 'load-log':
      return void services.log().then((entries) => dispatch({ type: 'log', entries }), fail);
    case 'load-identity':
      return void services.identity().then((me) => dispatch({ type: 'identity', me }), fail);
    case 'find-cards':
      return dispatch({ type: 'cards', cards: services.drives().flatMap((d) => d.cards) });
    case 'read-card':
      try {
        return dispatch({ type: 'card', card: { path: effect.path, identity: services.readCard(effect.path) } });
      } catch (err) {
        return dispatch({ type: 'card', card: { path: effect.path, error: asFerryError(err).message } });
      }
    case 'trust':
      return void services.trust(effect.path).then(
        (outcome) => dispatch({ type: 'peers-done', message: `${effect.id}: ${outcome === 'unchanged' ? 'already trusted' : 'now trusted'}.`, refresh: true }),
        (err) => dispatch({ type: 'peers-done', message: `Not trusted: ${asFerryError(err).message}`, refresh: false }),
      );
    case 'plan-send':
      return void services.planSend(effect.request).then(
        (plan) => dispatch({ type: 'send-planned', plan }),
        (err) => dispatch({ type: 'form-failed', message: formFailure(err) }),
      );
    case 'send':
      return void services.send(effect.request).then(
        (r) => dispatch({ type: 'form-done', message: `Send #${r.id}: ${r.origin}'s ${r.table} to ${r.to} (${r.rows} rows) goes on the next export.` }),
        (err) => dispatch({ type: 'form-failed', message: formFailure(err) }),
      );
    case 'request':
      return void services.request(effect.request).then(
        (r) => dispatch({ type: 'form-done', message: `Request ${r.request_id.slice(0, 8)} for ${r.hub}: every export carries it until answered.` }),
        (err) => dispatch({ type: 'form-failed', message: formFailure(err) }),
      );
    case 'revoke':
      return void services.revoke(effect.id).then(
        () => dispatch({ type: 'peers-done', message: `${effect.id} revoked: its bundles are refused from now on.`, refresh: true }),
        (err) => dispatch({ type: 'peers-done', message: asFerryError(err).message, refresh: false }),
      );
  }
}

/** A form's operation refused: its reason and what to do, on the status line under the form. */
function formFailure(err: unknown): string {
  const e = asFerryError(err);
  return e.hint ? `${e.message}: ${e.hint}` : e.message;
}

export function App({ services, onExit }: { services: TuiServices; onExit?: (code: number) => void }) {
  const { exit } = useApp();
  const [state, dispatch] = useReducer(tuiReducer, services.role, initialState);
  // The child process of a running export or import: a handle to cancel, not screen state.
  const running = useRef<RunningOperation | undefined>(undefined);
  // Effects carried out so far, by id: each is carried out once, however often React renders.
  const done = useRef(0);

  useEffect(() => {
    const due = state.effects.filter((e) => e.id > done.current);
    if (due.length === 0) return;
    done.current = due[due.length - 1]!.id;
    dispatch({ type: 'effects-taken', upTo: done.current });
    const quit = () => {
      onExit?.(0);
      exit();
    };
    for (const { effect } of due) perform(effect, services, dispatch, running, quit);
  }, [state.effects, services, onExit, exit]);

  // One handler for the App's life: the reducer, not the handler, knows the current screen.
  useInput(useCallback((input, key) => dispatch({ type: 'key', input, key }), []));

  return <CurrentScreen state={state} />;
}

/** The screen the state is on, in its frame: drawing only, from the state alone. */
function CurrentScreen({ state }: { state: TuiState }) {
  const { screen, role, status, loadError, message, run, conflicts, quarantine, log, me, peers } = state;
  const title = status ? `${status.id} (${status.role})` : role;
  switch (screen.name) {
    case 'dashboard':
      return (
        <Frame title={`${title} · dashboard`} keys={dashboardKeys(role)} {...(message ? { status: message } : {})}>
          <Dashboard status={status} loadError={loadError} />
        </Frame>
      );
    case 'drives':
      return (
        <Frame title={`${title} · ${screen.op === 'export' ? 'export' : 'import'}`} keys={drivesKeys(screen.picker.typing)}>
          <DrivePicker
            drives={screen.drives}
            state={screen.picker}
            purpose={screen.op === 'export' ? 'to write the changes to' : isHub(state) ? 'to import' : 'holding the hub\'s acks'}
          />
        </Frame>
      );
    case 'run':
      return (
        <Frame title={`${title} · ${run?.op}`} keys={run ? runKeys(run) : ''}>
          {run ? <Run s={run} /> : null}
        </Frame>
      );
    case 'conflicts':
      return (
        <Frame title={`${title} · conflicts`} keys={conflictsKeys} {...(message ? { status: message } : {})}>
          <ConflictList conflicts={conflicts} index={screen.index} />
        </Frame>
      );
    case 'conflict':
      return (
        <Frame title={`${title} · conflict #${screen.conflict.id}`} keys={conflictKeys(screen.conflict)} {...(message ? { status: message } : {})}>
          <ConflictDetail c={screen.conflict} />
        </Frame>
      );
    case 'quarantine':
      return (
        <Frame title={`${title} · quarantine`} keys={listKeys}>
          <Quarantine entries={quarantine} offset={screen.offset} />
        </Frame>
      );
    case 'tables':
      return (
        <Frame title={`${title} · tables`} keys={listKeys}>
          <Tables tables={status && isHub(status) ? status.tables : []} rejections={status && isHub(status) ? status.rejections : []} offset={screen.offset} />
        </Frame>
      );
    case 'log':
      return (
        <Frame title={`${title} · audit log`} keys={listKeys}>
          <Log entries={log} offset={screen.offset} />
        </Frame>
      );
    case 'peers':
      return (
        <Frame title={`${title} · peers`} keys={peersKeys(peers, status)}>
          {status && me ? <Peers status={status} me={me} s={peers} /> : null}
        </Frame>
      );
    case 'form':
      return (
        <Frame title={`${title} · ${screen.form.kind === 'send' ? 'send a record' : 'ask for a record'}`} keys={formKeys(screen.form)}>
          <Form f={screen.form} problem={message} />
        </Frame>
      );
    case 'received':
      return (
        <Frame title={`${title} · records received`} keys={listKeys}>
          {status && isFacility(status) ? <Received s={status} offset={screen.offset} /> : null}
        </Frame>
      );
    case 'outgoing':
      return (
        <Frame title={`${title} · outgoing`} keys="[Esc] back">
          {status && isHub(status) ? <Outgoing s={status} /> : null}
        </Frame>
      );
  }
}
