/**
 * The terminal UI: a small state machine over screens. Every key is shown in the footer; the
 * screens only display; every action goes through TuiServices (the same operations as the CLI).
 */
import React, { useCallback, useEffect, useRef, useState } from 'react';
import { useApp, useInput } from 'ink';
import type { Conflict } from '../hub/conflicts.js';
import type { QuarantineEntry } from '../hub/quarantine.js';
import type { StatusResult } from '../roles/status.js';
import type { AuditEntry } from '../store/state-db.js';
import type { PublicIdentity } from '../format/identity.js';
import { asFerryError } from '../core/errors.js';
import { Frame } from './components.js';
import { Dashboard, dashboardKeys } from './screens/dashboard.js';
import { DrivePicker, drivesKeys, type PickerState } from './screens/drives.js';
import { Run, runKeys, type RunState } from './screens/run.js';
import { ConflictDetail, ConflictList, conflictKeys, conflictsKeys } from './screens/conflicts.js';
import { listKeys, Log, Quarantine } from './screens/lists.js';
import { Peers, peersKeys, type PeersState } from './screens/peers.js';
import type { DriveInfo, RunningOperation, TuiServices } from './services.js';

type Screen =
  | { name: 'dashboard' }
  | { name: 'drives'; op: 'export' | 'import'; drives: DriveInfo[]; picker: PickerState }
  | { name: 'run' }
  | { name: 'conflicts'; index: number }
  | { name: 'conflict'; conflict: Conflict }
  | { name: 'quarantine'; offset: number }
  | { name: 'log'; offset: number }
  | { name: 'peers' };

export function App({ services, onExit }: { services: TuiServices; onExit?: (code: number) => void }) {
  const { exit } = useApp();
  const [screen, setScreen] = useState<Screen>({ name: 'dashboard' });
  const [status, setStatus] = useState<StatusResult>();
  const [message, setMessage] = useState<string>();
  const [run, setRun] = useState<RunState>();
  const running = useRef<RunningOperation | undefined>(undefined);
  const [conflicts, setConflicts] = useState<Conflict[]>([]);
  const [quarantine, setQuarantine] = useState<QuarantineEntry[]>([]);
  const [log, setLog] = useState<AuditEntry[]>([]);
  const [me, setMe] = useState<PublicIdentity>();
  const [peers, setPeers] = useState<PeersState>({ mode: 'list', index: 0, cards: [] });
  // Keys are read through this ref, updated on every render: ink re-subscribes the input handler
  // only after the screen is painted, and a key typed in between must still reach the new screen.
  const latest = useRef({ screen, status, run, conflicts, quarantine, log, peers });
  latest.current = { screen, status, run, conflicts, quarantine, log, peers };

  const fail = (err: unknown) => setMessage(`${asFerryError(err).message}${asFerryError(err).hint ? ` — ${asFerryError(err).hint}` : ''}`);
  const refresh = useCallback(() => {
    services.status().then(setStatus, fail);
  }, [services]);
  useEffect(refresh, [refresh]);

  const quit = () => {
    onExit?.(0);
    exit();
  };
  const setPeersNow = (p: PeersState) => {
    latest.current.peers = p;
    setPeers(p);
  };
  const go = (next: Screen) => {
    latest.current.screen = next;
    setScreen(next);
  };
  const home = () => {
    setMessage(undefined);
    go({ name: 'dashboard' });
    refresh();
  };

  const startRun = (op: 'export' | 'import', drive: string) => {
    setRun({ op, drive });
    latest.current.run = { op, drive };
    go({ name: 'run' });
    const r = services.run(op, drive, (progress) => setRun((s) => (s ? { ...s, progress } : s)));
    running.current = r;
    r.done.then((outcome) => {
      running.current = undefined;
      setRun((s) => (s ? { ...s, outcome } : s));
      refresh();
    });
  };

  useInput((input, key) => {
    const { screen, status, run, conflicts, quarantine, log } = latest.current;
    const role = status?.role ?? 'facility';
    if (key.ctrl && input === 'c') {
      if (running.current) {
        running.current.cancel();
        setRun((s) => (s ? { ...s, cancelling: true } : s));
      } else quit();
      return;
    }
    switch (screen.name) {
      case 'dashboard':
        if (input === 'q') quit();
        else if (input === 'r') refresh();
        else if (input === 'e' && role === 'facility') openPicker('export');
        else if (input === 'i') openPicker('import');
        else if (input === 'c' && role === 'hub') services.conflicts().then((c) => ((latest.current.conflicts = c), setConflicts(c), go({ name: 'conflicts', index: 0 })), fail);
        else if (input === 'u' && role === 'hub') ((latest.current.quarantine = services.quarantine()), setQuarantine(latest.current.quarantine), go({ name: 'quarantine', offset: 0 }));
        else if (input === 'l') services.log().then((l) => ((latest.current.log = l), setLog(l), go({ name: 'log', offset: Math.max(0, l.length - 16) })), fail);
        else if (input === 'p') services.identity().then((i) => (setMe(i), setPeersNow({ mode: 'list', index: 0, cards: [] }), go({ name: 'peers' })), fail);
        return;
      case 'run':
        if (run?.outcome && (key.return || key.escape)) home();
        else if (!run?.outcome && input === 'c' && running.current) {
          running.current.cancel();
          setRun((s) => (s ? { ...s, cancelling: true } : s));
        }
        return;
      case 'conflicts':
        if (key.escape) home();
        else if (key.upArrow) go({ ...screen, index: Math.max(0, screen.index - 1) });
        else if (key.downArrow) go({ ...screen, index: Math.min(conflicts.length - 1, screen.index + 1) });
        else if (key.return && conflicts[screen.index]) go({ name: 'conflict', conflict: conflicts[screen.index]! });
        return;
      case 'conflict':
        if (key.escape) go({ name: 'conflicts', index: 0 });
        else if (input === 'k' || input === 'o') {
          const keep = input === 'k' ? 'current' : 'other';
          services
            .resolve(screen.conflict.id, keep)
            .then(() => services.conflicts())
            .then((c) => {
              latest.current.conflicts = c;
              setConflicts(c);
              setMessage(`Conflict #${screen.conflict.id} resolved: kept ${keep === 'current' ? screen.conflict.current.origin : screen.conflict.other.origin}'s version.`);
              go({ name: 'conflicts', index: 0 });
            }, fail);
        }
        return;
      case 'quarantine':
      case 'log': {
        const len = screen.name === 'log' ? log.length : quarantine.length;
        const page = screen.name === 'log' ? 16 : 8;
        if (key.escape) home();
        else if (key.upArrow) go({ ...screen, offset: Math.max(0, screen.offset - 1) });
        else if (key.downArrow) go({ ...screen, offset: Math.min(Math.max(0, len - page), screen.offset + 1) });
        return;
      }
      case 'peers':
        handlePeersKey(input, key);
        return;
      case 'drives':
        handlePickerKey(screen, input, key);
        return;
    }
  });

  function openPicker(op: 'export' | 'import') {
    const next: Screen = { name: 'drives', op, drives: services.drives(), picker: { index: 0, typing: false, typed: '' } };
    latest.current.screen = next;
    setScreen(next);
  }

  function handlePickerKey(screen: Extract<Screen, { name: 'drives' }>, input: string, key: { escape: boolean; return: boolean; upArrow: boolean; downArrow: boolean; backspace: boolean; delete: boolean; ctrl: boolean; meta: boolean }) {
    const p = screen.picker;
    const update = (picker: PickerState) => {
      // Set the ref at once too: the next key may come before the re-render.
      const next: Screen = { ...screen, picker };
      latest.current.screen = next;
      setScreen(next);
    };
    if (p.typing) {
      if (key.escape) update({ ...p, typing: false });
      else if (key.return) {
        if (p.typed.trim()) startRun(screen.op, p.typed.trim());
      } else if (key.backspace || key.delete) update({ ...p, typed: p.typed.slice(0, -1) });
      else if (input && !key.ctrl && !key.meta) update({ ...p, typed: p.typed + input });
      return;
    }
    if (key.escape) home();
    else if (key.upArrow) update({ ...p, index: Math.max(0, p.index - 1) });
    else if (key.downArrow) update({ ...p, index: Math.min(screen.drives.length - 1, p.index + 1) });
    else if (key.return && screen.drives[p.index]) startRun(screen.op, screen.drives[p.index]!.path);
    else if (input === 't') update({ ...p, typing: true });
  }

  function handlePeersKey(input: string, key: { escape: boolean; return: boolean; upArrow: boolean; downArrow: boolean }) {
    const { status, peers } = latest.current;
    const role = status?.role ?? 'facility';
    if (peers.mode === 'list') {
      const count = status?.role === 'hub' ? status.facilities.length : 0;
      if (key.escape) home();
      else if (input === 't') setPeersNow({ mode: 'cards', index: 0, cards: services.drives().flatMap((d) => d.cards) });
      else if (key.upArrow) setPeersNow({ ...peers, index: Math.max(0, peers.index - 1) });
      else if (key.downArrow) setPeersNow({ ...peers, index: Math.min(count - 1, peers.index + 1) });
      else if (input === 'v' && role === 'hub' && count > 0) setPeersNow({ ...peers, mode: 'confirm-revoke', message: undefined });
    } else if (peers.mode === 'cards') {
      if (key.escape) setPeersNow({ ...peers, mode: 'list' });
      else if (key.upArrow) setPeersNow({ ...peers, index: Math.max(0, peers.index - 1) });
      else if (key.downArrow) setPeersNow({ ...peers, index: Math.min(peers.cards.length - 1, peers.index + 1) });
      else if (key.return && peers.cards[peers.index]) {
        const path = peers.cards[peers.index]!;
        try {
          setPeersNow({ ...peers, mode: 'confirm-trust', card: { path, identity: services.readCard(path) } });
        } catch (err) {
          setPeersNow({ ...peers, mode: 'confirm-trust', card: { path, error: asFerryError(err).message } });
        }
      }
    } else if (peers.mode === 'confirm-trust') {
      if (input === 'y' && peers.card?.identity) {
        services.trust(peers.card.path).then(
          (outcome) => (setPeersNow({ mode: 'list', index: 0, cards: [], message: `${peers.card!.identity!.id}: ${outcome === 'unchanged' ? 'already trusted' : 'now trusted'}.` }), refresh()),
          (err) => setPeersNow({ mode: 'list', index: 0, cards: [], message: `Not trusted: ${asFerryError(err).message}` }),
        );
      } else if (input === 'n' || key.escape) setPeersNow({ mode: 'list', index: 0, cards: [], message: 'Not trusted.' });
    } else if (peers.mode === 'confirm-revoke' && status?.role === 'hub') {
      const target = status.facilities[peers.index];
      if (input === 'y' && target) {
        services.revoke(target.id).then(
          () => (setPeersNow({ mode: 'list', index: 0, cards: [], message: `${target.id} revoked: its bundles are refused from now on.` }), refresh()),
          (err) => setPeersNow({ mode: 'list', index: 0, cards: [], message: asFerryError(err).message }),
        );
      } else if (input === 'n' || key.escape) setPeersNow({ ...peers, mode: 'list', message: undefined });
    }
  }

  const title = status ? `${status.id} (${status.role})` : 'loading';
  switch (screen.name) {
    case 'dashboard':
      return (
        <Frame title={`${title} · dashboard`} keys={dashboardKeys(status?.role ?? 'facility')} {...(message ? { status: message } : {})}>
          <Dashboard status={status} />
        </Frame>
      );
    case 'drives':
      return (
        <Frame title={`${title} · ${screen.op === 'export' ? 'export' : 'import'}`} keys={drivesKeys(screen.picker.typing)}>
          <DrivePicker
            drives={screen.drives}
            state={screen.picker}
            purpose={screen.op === 'export' ? 'to write the changes to' : status?.role === 'hub' ? 'to import' : 'holding the hub\'s acks'}
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
        <Frame title={`${title} · conflict #${screen.conflict.id}`} keys={conflictKeys} {...(message ? { status: message } : {})}>
          <ConflictDetail c={screen.conflict} />
        </Frame>
      );
    case 'quarantine':
      return (
        <Frame title={`${title} · quarantine`} keys={listKeys}>
          <Quarantine entries={quarantine} offset={screen.offset} />
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
        <Frame title={`${title} · peers`} keys={peersKeys(peers, status?.role ?? 'facility')}>
          {status && me ? <Peers status={status} me={me} s={peers} /> : null}
        </Frame>
      );
  }
}
