/** Component tests of every TUI screen at 80 columns, through the App with fake services. */
import test from 'ava';
import React from 'react';
import { render } from 'ink-testing-library';
import { App } from '../src/tui/app.js';
import type { OperationResult, TuiServices } from '../src/tui/services.js';
import type { FacilityStatus, HubStatus } from '../src/roles/status.js';
import type { Conflict } from '../src/hub/conflicts.js';
import type { ProgressEvent } from '../src/node/context.js';

import { ErrorCodes, usageError, type FerryError } from '../src/core/errors.js';
import { fitsTerminal, tick, until } from './helpers/frames.js';
import type { RequestFormRequest, SendFormRequest } from '../src/tui/reducer.js';
import { exported, imported, stopped } from './helpers/outcomes.js';
const KEYS = { up: '\u001B[A', down: '\u001B[B', enter: '\r', escape: '\u001B', ctrlC: '\u0003' };

const facility: FacilityStatus = {
  role: 'facility', id: 'RW-017', name: 'Kicukiro Health Centre', fingerprint: 'PWDR-0BZD-3XWA-KCDV', secret_key: 'sealed', db: '/var/emr.db',
  hub: { id: 'HUB-KIGALI', name: 'Kigali hub', fingerprint: 'S5G9-ABYJ-AR7K-09TF', revoked: null },
  tracked: [{ table: 'patients', key: ['Id'], scope: 'facility', active: true, pending: 12 }, { table: 'location', key: ['uuid'], scope: 'shared', active: true, pending: 3 }, { table: 'observations', key: ['DATE', 'PATIENT', 'CODE'], scope: 'facility', active: true, pending: 2110 }],
  pending: 2122, oldest_pending: { seq: 1, captured_at: '2026-11-20T08:00:00.000Z', age_seconds: 86400 },
  last_export: { at: '2026-11-20T09:00:00.000Z', drive: '/media/usb', bundles: [] }, last_ack: null, received_db: '/tmp/x/received.db', received: [], received_bundles: [],
};
const hub: HubStatus = {
  role: 'hub', id: 'HUB-KIGALI', name: 'Kigali hub', fingerprint: 'S5G9-ABYJ-AR7K-09TF', secret_key: 'sealed', db: '/srv/hub.db', store: 'SQLite database /srv/hub.db',
  facilities: [
    { id: 'RW-017', name: 'Kicukiro', fingerprint: 'PWDR-0BZD-3XWA-KCDV', revoked: null, bundles: 3, last_import: '2026-11-21T08:47:00.000Z', highest_seq: 1021 },
    { id: 'RW-042', name: 'Musanze', fingerprint: '2D1M-Q9F8-J484-EVC6', revoked: { at: '2026-11-21T09:00:00.000Z', reason: 'stolen' }, bundles: 1, last_import: null, highest_seq: 0 },
  ],
  tables: [
    { table: 'location', scope: 'shared', key: ['uuid'], rows: 63, rows_by_facility: null },
    { table: 'patient', scope: 'facility', key: ['patient_id'], rows: 27, rows_by_facility: [{ facility: 'RW-017', rows: 14 }, { facility: 'RW-042', rows: 13 }] },
  ],
  recent_imports: [], gaps: [{ origin: 'RW-017', first: 1201, last: 1350 }], open_conflicts: 1, rejected_changes: 0, rejections: [],
  outgoing: [],
  quarantined: [{ file: '/srv/q/x', original: '/media/usb/FERRY/bundles/RW-099.1-5.aaaa.ferry-bundle', at: '2026-11-21T08:00:00.000Z', reason: { code: 'signer-unknown', kind: 'refused', message: 'bundle from RW-099: this node does not trust that sender' } }],
};
const conflict: Conflict = {
  id: 7, table: 'patients', key: ['6cf3d1b9'], detected_at: '2026-11-21T08:47:00.000Z', bundle_id: 'b'.repeat(32),
  current: { origin: 'RW-042', seq: 1357, clock: '1795248110228.0', row: { Id: '6cf3d1b9', FIRST: 'Trish', ADDRESS: 'NM 3 St, Musanze' } },
  other: { origin: 'RW-017', seq: 873, clock: '1795248110050.9', row: { Id: '6cf3d1b9', FIRST: 'Trish', ADDRESS: 'KK 15 Ave, Kicukiro' } },
  differing: ['ADDRESS'], resolved_at: null, resolution: null, flag: null,
};

interface Calls { run: string[]; resolved: Array<[number, string]>; trusted: string[]; revoked: string[]; cancelled: number; planned: SendFormRequest[]; sent: SendFormRequest[]; requested: RequestFormRequest[] }

function fakeServices(o: { status: FacilityStatus | HubStatus; statusError?: FerryError; outcome?: OperationResult; progress?: ProgressEvent[]; hold?: boolean }): { services: TuiServices; calls: Calls; finish: () => void } {
  const calls: Calls = { run: [], resolved: [], trusted: [], revoked: [], cancelled: 0, planned: [], sent: [], requested: [] };
  let finish = () => undefined as void;
  const services: TuiServices = {
    home: '/tmp/x',
    role: o.status.role,
    status: async () => {
      if (o.statusError) throw o.statusError;
      return o.status;
    },
    drives: () => [{ path: '/media/usb', freeBytes: 12_300_000_000, bundles: 2, acks: 1, cards: ['/media/usb/RW-050.card.json'] }],
    run(op, drive, onProgress) {
      calls.run.push(`${op} ${drive}`);
      for (const p of o.progress ?? []) onProgress(p);
      const done = new Promise<OperationResult>((resolve) => {
        finish = () => resolve(o.outcome!);
        if (!o.hold) setTimeout(finish, 10);
      });
      return { done, cancel: () => void calls.cancelled++ };
    },
    conflicts: async () => (calls.resolved.length ? [] : [conflict]),
    resolve: async (id, keep) => void calls.resolved.push([id, keep]),
    quarantine: async () => (o.status.role === 'hub' ? o.status.quarantined : []),
    log: async () => [{ at: '2026-11-21T08:00:00.000Z', node: 'RW-017', action: 'export', outcome: 'written', peer: 'HUB-KIGALI', bundle_id: 'c'.repeat(32), detail: null }],
    identity: async () => ({ id: o.status.id, name: o.status.name, role: o.status.role, signingKey: new Uint8Array(32), encryptionKey: new Uint8Array(32), fingerprint: o.status.fingerprint, created: '' }),
    readCard: (path) => ({ id: 'RW-050', name: 'Gisenyi', role: 'facility', signingKey: new Uint8Array(32), encryptionKey: new Uint8Array(32), fingerprint: 'ABCD-EFGH-JKMN-PQRS', created: path }),
    trust: async (path) => (calls.trusted.push(path), 'added'),
    revoke: async (id) => void calls.revoked.push(id),
    planSend: async (r) => {
      calls.planned.push(r);
      if (r.from === 'RW-404') throw usageError(ErrorCodes.PEER_UNKNOWN, 'the facility RW-404 is not a facility this hub has enrolled', { hint: 'list them with `ferry status`' });
      return { to: r.to, origin: r.from, table: r.table, key: [5], dry_run: true, id: null, tables: { patient: 1, person: 1, encounter: 2, obs: 5 }, rows: 9 };
    },
    send: async (r) => (calls.sent.push(r), { to: r.to, origin: r.from, table: r.table, key: [5], dry_run: false, id: 3, tables: { patient: 1, person: 1, encounter: 2, obs: 5 }, rows: 9 }),
    request: async (r) => (calls.requested.push(r), { request_id: 'c0ffee'.padEnd(32, '0'), hub: 'HUB-KIGALI' }),
  };
  return { services, calls, finish: () => finish() };
}

test.serial('facility dashboard: who, hub fingerprint, pending, oldest, last export, every key', async (t) => {
  const { services } = fakeServices({ status: facility });
  const ui = render(<App services={services} />);
  const f = await until(ui, 'Tracked tables');
  for (const s of ['RW-017', 'PWDR-0BZD-3XWA-KCDV', 'HUB-KIGALI', 'S5G9-ABYJ-AR7K-09TF', '2,122 change(s) not yet confirmed', 'change 1, captured 2026-11-20 08:00', 'to /media/usb', 'observations', '[e] export', '[q] quit']) t.true(f.includes(s), s);
  // Whose each table's rows will be at the hub, on the table's own line.
  t.regex(f, /patients +facility-owned +12 pending/);
  t.regex(f, /location +shared +3 pending/);
  fitsTerminal(t, f);
  ui.unmount();
});

test.serial('a node whose keys are stored unencrypted says so on the dashboard', async (t) => {
  const { services } = fakeServices({ status: { ...facility, secret_key: 'plain' } });
  const ui = render(<App services={services} />);
  const f = await until(ui, 'Tracked tables');
  t.true(f.includes('KEYS NOT ENCRYPTED: run ferry passphrase'), f);
  fitsTerminal(t, f);
  ui.unmount();
});

test.serial('hub dashboard: facilities with fingerprints, revoked marked in words, gaps, conflicts, quarantine', async (t) => {
  const { services } = fakeServices({ status: hub });
  const ui = render(<App services={services} />);
  const f = await until(ui, 'Last imports');
  for (const s of ['HUB-KIGALI', 'RW-017', 'PWDR-0BZD-3XWA-KCDV', 'REVOKED', 'RW-017 1,201–1,350 missing', '1 (press [c])', '1 refused bundle(s)', '2 table(s): 1 facility-owned, 1 shared ([t])', '[t] tables', '[q] quit']) t.true(f.includes(s), s);
  fitsTerminal(t, f);
  ui.unmount();
});

test.serial('a hub whose status cannot be read (an outdated hub.db) says why and what to do in full, and still offers [i] import', async (t) => {
  const path = '/srv/ferry/a-rather-long-folder-name-for-the-hub/hub.db';
  const statusError = usageError(ErrorCodes.DB_OUTDATED, `the hub database ${path} was made by an older ferry and is not migrated yet`, {
    hint: 'a command that changes state migrates it (back it up first): run `ferry import` with a drive, or `ferry trust` a card; this command only reads and changes nothing',
  });
  const { services } = fakeServices({ status: hub, statusError });
  const ui = render(<App services={services} />);
  const f = await until(ui, 'What to do');
  // Ink wraps the block at word boundaries: compare the words, not the lines.
  const words = (s: string) => s.replace(/[│\s]+/g, ' ').trim();
  t.true(words(f).includes(words(statusError.message)), f);
  t.true(words(f).includes(words(`What to do: ${statusError.hint}`)), f);
  fitsTerminal(t, f);
  // A hub's keys, from the node's config: [i] import migrates the database and so fixes this.
  t.true(f.includes('[i] import'), f);
  t.true(f.includes('[c] conflicts'), f);
  t.true(f.includes('[s] send a record'), f);
  t.false(f.includes('read acks'), f);
  ui.stdin.write('i');
  const picker = await until(ui, 'Choose the drive');
  t.true(picker.includes('Choose the drive to import'), picker);
  ui.unmount();
});

test.serial('export: pick a drive, progress while it runs, SAFE TO REMOVE only once verified', async (t) => {
  const outcome: OperationResult = exported({ drive: '/media/usb', hub: 'HUB-KIGALI', pending: 2122, written: [{ file: '/media/usb/FERRY/bundles/RW-017.1-2122.abc.ferry-bundle', bundle_id: 'a'.repeat(32), seq: { first: 1, last: 2122 }, changes: 2122, bytes: 99000 }], already_on_drive: [], columns_updated: [], warnings: [], keys_written: [], requests_written: [], removed_superseded: [], restore_fence: { counter_was: 2000, highest_sent: 2100, renumbered: 22, renumbered_from: 2101 } });
  const { services, calls, finish } = fakeServices({ status: facility, outcome, hold: true, progress: [{ phase: 'export', changesDone: 1024, changesTotal: 2122, bytesDone: 300000 }] });
  const ui = render(<App services={services} />);
  await tick();
  await until(ui, 'Tracked tables');
  ui.stdin.write('e');
  const picker = await until(ui, 'Choose the drive');
  t.true(picker.includes('/media/usb'));
  t.true(picker.includes('12.3 GB free'));
  t.true(picker.includes('[t] type a path'));
  ui.stdin.write(KEYS.enter);
  const running = await until(ui, '1,024 of');
  t.deepEqual(calls.run, ['export /media/usb']);
  t.true(running.includes('1,024 of 2,122 changes'));
  t.true(running.includes('48%'));
  t.true(running.includes('Do not remove the drive'));
  t.false(running.includes('SAFE TO REMOVE'));
  finish();
  const done = await until(ui, 'SAFE TO REMOVE');
  t.true(done.includes('read back and verified'));
  t.true(done.includes('WARNING: the EMR database went back in time (restored from a backup?)'), done);
  t.true(done.includes('SAFE TO REMOVE THE DRIVE'));
  fitsTerminal(t, done);
  ui.stdin.write(KEYS.enter);
  t.true((await until(ui, 'dashboard')).includes('dashboard'));
  ui.unmount();
});

test.serial('a typed drive path; a full drive explained in plain words with what to do', async (t) => {
  const outcome: OperationResult = stopped('export', { code: 'drive-full', kind: 'io', message: 'the drive at /mnt/x is full: the export needs about 1.20 MB, 0.05 MB was free', hint: 'free space on the drive or use a bigger one, then export again; nothing was changed' });
  const { services, calls } = fakeServices({ status: facility, outcome });
  const ui = render(<App services={services} />);
  await until(ui, 'Tracked tables');
  ui.stdin.write('e');
  await until(ui, 'Choose the drive');
  ui.stdin.write('t');
  await until(ui, 'Folder:');
  for (const ch of '/mnt/x') {
    ui.stdin.write(ch);
    await tick(10);
  }
  t.true((await until(ui, 'Folder: /mnt/x')).includes('Folder: /mnt/x'));
  ui.stdin.write(KEYS.enter);
  const f = await until(ui, 'What to do');
  t.deepEqual(calls.run, ['export /mnt/x']);
  t.true(f.includes('Export FAILED: the drive at /mnt/x is full'));
  t.true(f.includes('What to do: free space on the drive'));
  t.false(f.includes('SAFE TO REMOVE THE DRIVE'));
  t.true(f.includes('Safe to remove the drive.'), f);
  ui.unmount();
});

test.serial('a hub import stopped by a bug says so and how to report it, and never claims nothing was changed', async (t) => {
  // Bundles applied and acknowledged before the bug stay applied: "nothing changed" would be false.
  const hint = 'this is a bug in ferry; please report it with the command you ran (FERRY_DEBUG=1 shows the details)';
  const { services } = fakeServices({ status: hub, outcome: stopped('import', { code: 'internal', kind: 'bug', message: 'internal error: TypeError', hint }) });
  const ui = render(<App services={services} />);
  await until(ui, 'Last imports');
  ui.stdin.write('i');
  await until(ui, 'Choose the drive');
  ui.stdin.write(KEYS.enter);
  const f = await until(ui, 'What to do');
  t.true(f.includes('a bug in ferry'), f);
  t.true(f.includes('internal error: TypeError'), f);
  t.true(f.includes('What to do: this is a bug in ferry; please report it'), f);
  t.false(/nothing (was )?changed/i.test(f), f);
  fitsTerminal(t, f);
  ui.unmount();
});

test.serial('hub import: a result table with applied / refused and why, acks written', async (t) => {
  const outcome: OperationResult = imported({ role: 'hub', receipts: [], requests: [], drive: '/media/usb', acks_written: ['a'], gaps: [], keys_written: [],
    rotations: [{ file: '/media/usb/FERRY/keys/RW-017.x.ferry-rotation', id: 'RW-017', old_fingerprint: 'PWDR-0BZD-3XWA-KCDV', new_fingerprint: 'QQ2M-7H3K-0Z1P-4D5A', outcome: 'accepted' }], bundles: [
    { file: '/media/usb/FERRY/bundles/RW-017.1-2122.a.ferry-bundle', sender: 'RW-017', seq: { first: 1, last: 2122 }, outcome: 'applied', counts: { applied: 2100, already_present: 20, conflicts: 2, rejected: 0 } },
    { file: '/media/usb/FERRY/bundles/RW-042.1-9.b.ferry-bundle', sender: 'RW-042', seq: { first: 1, last: 9 }, outcome: 'refused', reason: { code: 'signer-revoked', kind: 'refused', message: 'bundle from RW-042: that node was revoked', hint: 'bundles from a revoked node are refused' } },
  ] });
  const { services } = fakeServices({ status: hub, outcome });
  const ui = render(<App services={services} />);
  await until(ui, 'Last imports');
  ui.stdin.write('i');
  await until(ui, 'Choose the drive');
  ui.stdin.write(KEYS.enter);
  const f = await until(ui, 'signed ack');
  for (const s of ['APPLIED', 'RW-017', '2100', 'REFUSED', 'signer-revoked', 'RW-042: bundle from RW-042: that node was revoked', '1 signed ack(s) written', 'key rotation: RW-017 now uses the key with fingerprint QQ2M-7H3K-0Z1P-4D5A']) t.true(f.includes(s), s);
  fitsTerminal(t, f);
  ui.unmount();
});

const SCOPE_REASON = 'table location is shared at this hub but facility-owned at the sender; its changes wait at the facility until the scope is the same at both (docs/OPERATIONS.md "Changing a table\'s scope")';
/** Wrapped lines joined again: the whole text is on the screen, nothing cut. */
const unwrapped = (frame: string) => frame.split('\n').map((l) => l.trim()).join(' ');

test.serial('rejected changes: the import result says why in full, the dashboard counts them and [t] lists each reason in full', async (t) => {
  const outcome: OperationResult = imported({ role: 'hub', receipts: [], requests: [], drive: '/media/usb', acks_written: ['a'], gaps: [], keys_written: [], rotations: [], bundles: [
    { file: '/media/usb/FERRY/bundles/RW-042.1-3.b.ferry-bundle', sender: 'RW-042', seq: { first: 1, last: 3 }, outcome: 'applied', counts: { applied: 0, already_present: 0, conflicts: 0, rejected: 3 },
      rejections: [{ table: 'location', reason: SCOPE_REASON, changes: 3, first_seq: 1, last_seq: 3 }] },
  ] });
  const rejecting: HubStatus = { ...hub, rejected_changes: 3, rejections: [{ facility: 'RW-042', table: 'location', reason: SCOPE_REASON, changes: 3, first_seq: 1, last_seq: 3, attempts: 2, last_at: '2026-11-21T08:47:00.000Z' }] };
  const { services } = fakeServices({ status: rejecting, outcome });
  const ui = render(<App services={services} />);
  const dash = await until(ui, 'Last imports');
  t.regex(dash, /Rejected +3 change\(s\) of 1 facility\(ies\) wait: why, press \[t\]/, dash);
  fitsTerminal(t, dash);
  ui.stdin.write('t');
  const tables = await until(ui, 'Rejected changes');
  t.true(unwrapped(tables).includes(`RW-042: 3 change(s) of table location (changes 1–3), tried 2 time(s), last 2026-11-21T08:47:00.000Z: ${SCOPE_REASON}`), tables);
  fitsTerminal(t, tables);
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Last imports');
  ui.stdin.write('i');
  await until(ui, 'Choose the drive');
  ui.stdin.write(KEYS.enter);
  const f = await until(ui, 'REMOVE THE DRIVE');
  t.true(unwrapped(f).includes(`RW-042: rejected 3 change(s) of table location (changes 1–3): ${SCOPE_REASON}`), f);
  fitsTerminal(t, f);
  ui.unmount();
});

test.serial('facility import: acks read with changes still pending never says SAFE TO REMOVE; it says export now', async (t) => {
  const read = { role: 'facility' as const, drive: '/media/usb', rotations: [], received: [], requests_answered: [], pruned: 2122, removed_bundles: ['/media/usb/FERRY/bundles/RW-017.1-2122.a.ferry-bundle'],
    acks: [{ file: '/media/usb/FERRY/acks/RW-017.1-2122.a.ferry-ack', hub: 'HUB-KIGALI', seq: { first: 1, last: 2122 }, outcome: 'accepted' as const }] };
  for (const [pending, safe] of [[180_000, false], [0, true]] as const) {
    const { services } = fakeServices({ status: facility, outcome: imported({ ...read, pending }) });
    const ui = render(<App services={services} />);
    await until(ui, 'Tracked tables');
    ui.stdin.write('i');
    await until(ui, 'Choose the drive');
    ui.stdin.write(KEYS.enter);
    const f = await until(ui, 'REMOVE THE DRIVE');
    t.true(f.includes(safe ? 'nothing pending: the hub has' : '(180,000 not yet confirmed by the hub)'), f);
    t.true(f.includes('1 delivered bundle(s) removed from the drive'), f);
    t.is(f.includes('SAFE TO REMOVE'), safe, f);
    t.is(f.includes('changes still pending: export now'), !safe, f);
    t.is(f.includes('What to do: export to this drive now'), !safe, f);
    fitsTerminal(t, f);
    ui.unmount();
  }
});

test.serial('Ctrl-C during an operation cancels it instead of leaving it half done', async (t) => {
  const { services, calls } = fakeServices({ status: facility, hold: true, outcome: stopped('export', { code: 'cancelled', kind: 'cancelled', message: 'cancelled' }) });
  const ui = render(<App services={services} />);
  await until(ui, 'Tracked tables');
  ui.stdin.write('e');
  await until(ui, 'Choose the drive');
  ui.stdin.write(KEYS.enter);
  await until(ui, 'Do not remove');
  ui.stdin.write(KEYS.ctrlC);
  t.true((await until(ui, 'Cancelling')).includes('Cancelling'));
  // The frame is drawn before React runs the effect that sends the cancel: wait for it, briefly.
  for (let waited = 0; calls.cancelled === 0 && waited < 2000; waited += 10) await tick(10);
  t.is(calls.cancelled, 1);
  ui.unmount();
});

test.serial('conflicts: the two versions side by side, differing fields marked and first; keep other', async (t) => {
  const { services, calls } = fakeServices({ status: hub });
  const ui = render(<App services={services} />);
  await until(ui, 'Last imports');
  ui.stdin.write('c');
  const list = await until(ui, '#7');
  t.true(list.includes('1 open conflict(s) in shared tables') && list.includes('RW-042 vs RW-017'), list);
  ui.stdin.write(KEYS.enter);
  const f = await until(ui, 'CURRENT');
  const lines = f.split('\n');
  const addressLine = lines.findIndex((l) => l.includes('ADDRESS'));
  const firstLine = lines.findIndex((l) => l.includes('FIRST'));
  t.true(lines[addressLine]!.startsWith('*'), 'the differing field is marked with * (not colour alone)');
  t.true(addressLine < firstLine, 'differing fields first');
  t.true(f.includes('NM 3 St, Musanze') && f.includes('KK 15 Ave, Kicukiro'));
  // Each version is headed by the facility it came from, and the keys say whose version each keeps.
  t.true(f.includes('CURRENT: RW-042') && f.includes('OTHER: RW-017'));
  t.true(f.includes('#7 shared table patients'), f);
  t.true(f.includes("CURRENT is RW-042's version, in the hub table now") && f.includes("OTHER is RW-017's, kept for review"), f);
  t.true(f.includes('[k] keep current (RW-042)  [o] keep other (RW-017)'), f);
  fitsTerminal(t, f);
  ui.stdin.write('o');
  t.true((await until(ui, "kept RW-017's version")).includes("kept RW-017's version"));
  t.deepEqual(calls.resolved, [[7, 'other']]);
  ui.unmount();
});

test.serial('quarantine and audit log views', async (t) => {
  const { services } = fakeServices({ status: hub });
  const ui = render(<App services={services} />);
  await until(ui, 'Last imports');
  ui.stdin.write('u');
  const q = await until(ui, 'signer-unknown');
  t.true(q.includes('signer-unknown'));
  t.true(q.includes('RW-099.1-5.aaaa.ferry-bundle'));
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Last imports');
  ui.stdin.write('l');
  const l = await until(ui, 'Audit log');
  t.true(l.includes('export'));
  t.true(l.includes('written'));
  ui.unmount();
});

test.serial('peers: own fingerprint; trust a card found on a drive after confirming its fingerprint; revoke', async (t) => {
  const { services, calls } = fakeServices({ status: hub });
  const ui = render(<App services={services} />);
  await until(ui, 'Last imports');
  ui.stdin.write('p');
  t.true((await until(ui, 'Fingerprint to read aloud')).includes('Fingerprint to read aloud: S5G9-ABYJ-AR7K-09TF'));
  ui.stdin.write('t');
  t.true((await until(ui, 'RW-050.card.json')).includes('/media/usb/RW-050.card.json'));
  ui.stdin.write(KEYS.enter);
  const confirm = await until(ui, 'ABCD-EFGH');
  t.true(confirm.includes('Fingerprint: ABCD-EFGH-JKMN-PQRS'));
  t.true(confirm.includes('read their fingerprint aloud'));
  ui.stdin.write('y');
  t.true((await until(ui, 'now trusted')).includes('RW-050: now trusted'));
  t.deepEqual(calls.trusted, ['/media/usb/RW-050.card.json']);
  ui.stdin.write('v');
  t.true((await until(ui, 'Revoke RW-017?')).includes('Revoke RW-017?'));
  ui.stdin.write('y');
  await until(ui, 'revoked:');
  t.deepEqual(calls.revoked, ['RW-017']);
  ui.unmount();
});

test.serial('q on the dashboard quits with exit code 0', async (t) => {
  const { services } = fakeServices({ status: facility });
  let code = -1;
  const ui = render(<App services={services} onExit={(c) => (code = c)} />);
  await until(ui, 'Tracked tables');
  ui.stdin.write('q');
  // The quit is an effect carried out after a render: on a busy machine that takes more than one tick.
  for (let waited = 0; code === -1 && waited < 2000; waited += 20) await tick(20);
  t.is(code, 0);
  ui.unmount();
});

test.serial('conflict detail: a conflict in which a clock from the future took part is flagged in words', async (t) => {
  const { ConflictDetail } = await import('../src/tui/screens/conflicts.js');
  const flagged = render(<ConflictDetail c={{ ...conflict, flag: 'clock-ahead' }} />);
  await new Promise((r) => setTimeout(r, 20));
  t.regex(flagged.lastFrame() ?? '', /FLAG clock-ahead/);
  const plain = render(<ConflictDetail c={conflict} />);
  await new Promise((r) => setTimeout(r, 20));
  t.notRegex(plain.lastFrame() ?? '', /FLAG/);
});

/** Many facilities with the same local ids: each one's rows of a facility-owned table, a shared table's rows once. */
const manyFacilities = (count: number): HubStatus => {
  const ids = Array.from({ length: count }, (_, i) => `RW-${String(i + 1).padStart(3, '0')}`);
  return {
    ...hub,
    tables: [
      { table: 'concept', scope: 'shared', key: ['code'], rows: 118, rows_by_facility: null },
      { table: 'encounter', scope: 'facility', key: ['encounter_id'], rows: count * 1200, rows_by_facility: ids.map((facility) => ({ facility, rows: 1200 })) },
      { table: 'location', scope: 'shared', key: ['uuid'], rows: 63, rows_by_facility: null },
      { table: 'patient', scope: 'facility', key: ['patient_id'], rows: count * 2, rows_by_facility: ids.map((facility) => ({ facility, rows: 2 })) },
    ],
  };
};

test.serial('tables: rows per facility for facility-owned tables, one count for shared ones; fits 80×24 and 100×30 and scrolls', async (t) => {
  const { services } = fakeServices({ status: hub });
  const ui = render(<App services={services} />);
  await until(ui, 'Last imports');
  ui.stdin.write('t');
  const f = await until(ui, 'whose rows');
  const lines = f.split('\n');
  t.regex(lines.find((l) => l.startsWith('patient')) ?? '', /^patient +facility-owned +27$/, f);
  t.regex(f, /RW-017 +14 +RW-042 +13/, 'each facility\'s rows of the same ids, apart');
  t.regex(lines.find((l) => l.startsWith('location')) ?? '', /^location +shared by uuid +63$/, f);
  fitsTerminal(t, f);
  fitsTerminal(t, f, { columns: 100, rows: 30 });
  ui.stdin.write(KEYS.escape);
  t.true((await until(ui, 'Last imports')).includes('Last imports'));
  ui.unmount();

  // Forty facilities: three to a line, the rest below, reached with ↓; the frame stays whole.
  const many = fakeServices({ status: manyFacilities(40) });
  const big = render(<App services={many.services} />);
  await until(big, 'Last imports');
  big.stdin.write('t');
  const first = await until(big, 'whose rows');
  fitsTerminal(t, first);
  fitsTerminal(t, first, { columns: 100, rows: 30 });
  t.regex(first, /RW-001 +1,200 +RW-002 +1,200 +RW-003 +1,200/);
  t.regex(first, /more line\(s\) below/);
  t.false(first.includes('RW-040'), first);
  for (let i = 0; i < 40; i++) {
    big.stdin.write(KEYS.down);
    await tick(5);
  }
  const last = await until(big, 'RW-040');
  t.regex(last, /RW-040 +2$/m, 'the last facility of the last table, reached by scrolling');
  t.false(last.includes('more line(s) below'), last);
  fitsTerminal(t, last);
  big.unmount();
});

/** Type text into the focused field of a form, one key at a time, as a person does. */
async function type(ui: { stdin: { write: (s: string) => void } }, text: string): Promise<void> {
  for (const c of text) {
    ui.stdin.write(c);
    await tick(5);
  }
}

test.serial('hub: [s] sends a record: the form, a dry run of what would travel, then [y] queues it', async (t) => {
  const { services, calls } = fakeServices({ status: { ...hub, outgoing: [{ recipient: 'RW-021', acknowledged: 7, waiting: 18, sends: 1, last_bundle_at: '2026-11-21T09:00:00.000Z', last_ack_at: null }] } });
  const ui = render(<App services={services} />);
  const d = await until(ui, 'Outgoing');
  t.true(d.includes('18 row(s) await receipts (1 facility); 1 send(s) ([o])'), d);
  fitsTerminal(t, d);
  ui.stdin.write('s');
  await until(ui, 'Send a facility');
  for (const v of ['RW-021', 'RW-017', 'patient', 'identifier=RW-MUH-017-000005', 'transferred']) {
    await type(ui, v);
    ui.stdin.write(KEYS.enter);
    await tick(20);
  }
  const plan = await until(ui, 'Would send');
  t.true(plan.includes("Would send RW-017's patient record to RW-021: 9 row(s) now"), plan);
  t.true(plan.includes('obs') && plan.includes('[y] send it'), plan);
  fitsTerminal(t, plan);
  t.deepEqual(calls.planned, [{ to: 'RW-021', from: 'RW-017', table: 'patient', where: { column: 'identifier', value: 'RW-MUH-017-000005' }, reason: 'transferred' }]);
  t.deepEqual(calls.sent, [], 'nothing sent before [y]');
  ui.stdin.write('y');
  const done = await until(ui, 'Send #3');
  t.true(done.includes("Send #3: RW-017's patient to RW-021 (9 rows) goes on the next export."), done);
  t.is(calls.sent.length, 1);
  ui.unmount();
});

test('hub: a send the hub refuses says why under the form, which stays filled in; [o] lists what waits per facility', async (t) => {
  const { services, calls } = fakeServices({ status: { ...hub, outgoing: [{ recipient: 'RW-021', acknowledged: 7, waiting: 18, sends: 1, last_bundle_at: '2026-11-21T09:00:00.000Z', last_ack_at: null }] } });
  const ui = render(<App services={services} />);
  await until(ui, 'Outgoing');
  ui.stdin.write('s');
  await until(ui, 'Send a facility');
  for (const v of ['RW-021', 'RW-404', 'patient', '5']) {
    await type(ui, v);
    ui.stdin.write(KEYS.enter);
    await tick(20);
  }
  ui.stdin.write(KEYS.enter);
  const f = await until(ui, 'RW-404 is not');
  t.true(f.replace(/\s+/g, ' ').includes('Not done: the facility RW-404 is not a facility this hub has enrolled: list them with `ferry status`'), f);
  fitsTerminal(t, f);
  t.true(f.includes('RW-404') && f.includes('> Reason'), 'the form keeps what was typed');
  t.deepEqual(calls.planned.map((p) => p.key), [['5']]);
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Outgoing');
  ui.stdin.write('o');
  const o = await until(ui, 'confirmed');
  t.regex(o, /RW-021 +18 +7 +1 +2026-11-21 09:00 +never/);
  ui.unmount();
});

test('facility: [a] asks the hub for a record by the value on the card; [v] lists the records received with origin and date', async (t) => {
  const received = { ...facility, received: [{ origin: 'RW-017', table: 'obs', scope: 'facility' as const, rows: 5, last_received: '2026-11-22T10:00:00.000Z' }, { origin: 'RW-021', table: 'location', scope: 'shared' as const, rows: 7, last_received: '2026-11-22T10:00:00.000Z' }] };
  const { services, calls } = fakeServices({ status: received });
  const ui = render(<App services={services} />);
  const d = await until(ui, 'Received');
  t.true(d.includes('5 row(s) from RW-017, last 2026-11-22 10:00 ([v])'), d);
  fitsTerminal(t, d);
  ui.stdin.write('a');
  await until(ui, 'Ask the hub');
  for (const v of ['patient_identifier', 'identifier', 'RW-MUH-017-000005', 'arrived today']) {
    await type(ui, v);
    ui.stdin.write(KEYS.enter);
    await tick(20);
  }
  const done = await until(ui, 'Request c0ffee00');
  t.true(done.includes('Request c0ffee00 for HUB-KIGALI: every export carries it until answered.'), done);
  t.deepEqual(calls.requested, [{ table: 'patient_identifier', column: 'identifier', value: 'RW-MUH-017-000005', reason: 'arrived today' }]);
  ui.stdin.write('v');
  const v = await until(ui, 'last received');
  t.regex(v, /RW-017 +obs +5 +2026-11-22 10:00/);
  t.regex(v, /\(shared\) +location +7/);
  fitsTerminal(t, v);
  ui.unmount();
});
