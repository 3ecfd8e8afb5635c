/**
 * Every TUI screen shows data from drives, bundles, EMRs and identity cards with its control
 * characters made visible: a patient name, a table, a file name or a reason never reaches the
 * terminal as escape sequences (clear the screen, retitle the window, reverse the text).
 */
import test, { type ExecutionContext } from 'ava';
import React from 'react';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { App } from '../src/tui/app.js';
import type { OperationResult, TuiServices } from '../src/tui/services.js';
import type { FacilityStatus, HubStatus } from '../src/roles/status.js';
import type { Conflict } from '../src/hub/conflicts.js';
import { ROOT } from './helpers/env.js';
import { imported, stopped } from './helpers/outcomes.js';

import { until } from './helpers/frames.js';
const KEYS = { enter: '\r', escape: '\u001B' };

/** What a clinic typed as a patient name, and friends: a screen clear, a cursor jump, a new window title. */
const EVIL = 'Mallory\x1b[2J\x1b[H\x1b]0;PWNED\x07';
const EVIL_SHOWN = 'Mallory\\x1b[2J\\x1b[H\\x1b]0;PWNED\\x07';
/** A one-byte CSI (C1), a right-to-left override and a line separator. */
const SNEAKY = 'x\u009b2J\u202eevil\u2028y';

/** No character of the hostile strings' controls reaches the frame. */
function clean(t: ExecutionContext, frame: string, where: string) {
  // eslint-disable-next-line no-control-regex
  const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.exec(frame);
  t.true(raw === null, `${where}: a control character from the data reached the screen: ${JSON.stringify(raw?.[0])} in ${JSON.stringify(frame)}`);
}

const hub: HubStatus = {
  role: 'hub', id: 'HUB-KIGALI', name: `hub ${EVIL}`, fingerprint: 'S5G9-ABYJ-AR7K-09TF', secret_key: 'sealed', db: `/srv/${EVIL}.db`, store: `SQLite database /srv/${EVIL}.db`,
  facilities: [{ id: `RW-${EVIL}`, name: EVIL, fingerprint: 'PWDR-0BZD-3XWA-KCDV', revoked: null, bundles: 3, last_import: '2026-11-21T08:47:00.000Z', highest_seq: 10 }],
  tables: [
    { table: `TABLE${EVIL}`, scope: 'facility', key: [EVIL], rows: 3, rows_by_facility: [{ facility: `RW-${EVIL}`, rows: 3 }] },
    { table: `SHARED${EVIL}`, scope: 'shared', key: [`uuid${EVIL}`], rows: 5, rows_by_facility: null },
  ],
  recent_imports: [{ bundle_id: 'b'.repeat(32), origin: `RW-${EVIL}`, first_seq: 1, last_seq: 9, changes: 9, applied: 9, already_present: 0, conflicts: 0, rejected: 0, created: '2026-11-21T08:00:00.000Z', applied_at: '2026-11-21T08:47:00.000Z', file: `/media/${EVIL}` }],
  gaps: [{ origin: `RW-${EVIL}`, first: 20, last: 30 }], open_conflicts: 1, rejected_changes: 0, rejections: [],
  outgoing: [],
  quarantined: [{ file: `/srv/q/${EVIL}`, original: `/media/usb/FERRY/bundles/${EVIL}.ferry-bundle`, at: '2026-11-21T08:00:00.000Z', reason: { code: 'payload-invalid', kind: 'refused', message: `QREASON ${EVIL} ${SNEAKY}` } }],
};
const facility: FacilityStatus = {
  role: 'facility', id: 'RW-017', name: EVIL, fingerprint: 'PWDR-0BZD-3XWA-KCDV', secret_key: 'sealed', db: `/var/${EVIL}.db`,
  hub: { id: `HUB-${EVIL}`, name: EVIL, fingerprint: 'S5G9-ABYJ-AR7K-09TF', revoked: null },
  tracked: [{ table: `T${EVIL}`, key: [EVIL], scope: 'shared', active: true, pending: 1 }],
  pending: 1, oldest_pending: { seq: 1, captured_at: '2026-11-20T08:00:00.000Z', age_seconds: 60 },
  last_export: { at: '2026-11-20T09:00:00.000Z', drive: `/media/${EVIL}`, bundles: [] }, last_ack: null, received_db: '/tmp/x/received.db', received: [], received_bundles: [],
};
const conflict: Conflict = {
  id: 7, table: `patients${EVIL}`, key: [EVIL], detected_at: '2026-11-21T08:47:00.000Z', bundle_id: 'b'.repeat(32),
  current: { origin: `RW-${EVIL}`, seq: 2, clock: '1795248110228.0', row: { Id: EVIL, [`FIRST${EVIL}`]: EVIL, ADDRESS: SNEAKY, NOTE: 'line one\nline two' } },
  other: { origin: 'RW-017', seq: 1, clock: '1795248110050.9', row: { Id: EVIL, [`FIRST${EVIL}`]: 'Alice', ADDRESS: 'Kigali', NOTE: 'x' } },
  differing: [`FIRST${EVIL}`, 'ADDRESS', 'NOTE'], resolved_at: null, resolution: null, flag: null,
};

function services(status: HubStatus | FacilityStatus, outcome?: OperationResult): TuiServices {
  return {
    home: '/tmp/x',
    role: status.role,
    status: async () => status,
    drives: () => [{ path: `/media/${EVIL}`, freeBytes: 1e9, bundles: 1, acks: 0, cards: [`/media/${EVIL}/${EVIL}.card.json`] }],
    run(_op, _drive, onProgress) {
      onProgress({ phase: 'verify', item: `/media/x/FERRY/bundles/PROGRESS${EVIL}.ferry-bundle` });
      return { done: new Promise((resolve) => setTimeout(() => resolve(outcome!), 300)), cancel: () => undefined };
    },
    conflicts: async () => [conflict],
    planSend: async () => ({ to: `RW-${EVIL}`, origin: 'RW-017', table: `T${EVIL}`, key: [EVIL], dry_run: true, id: null, tables: { [`T${EVIL}`]: 1 }, rows: 1 }),
    send: async () => ({ to: `RW-${EVIL}`, origin: 'RW-017', table: `T${EVIL}`, key: [EVIL], dry_run: false, id: 1, tables: { [`T${EVIL}`]: 1 }, rows: 1 }),
    request: async () => ({ request_id: 'a'.repeat(32), hub: `HUB-${EVIL}` }),
    resolve: async () => undefined,
    quarantine: async () => (status.role === 'hub' ? status.quarantined : []),
    log: async () => [{ at: '2026-11-21T08:00:00.000Z', node: 'HUB-KIGALI', action: `import${EVIL}`, outcome: `refused${EVIL}`, peer: `RW-${EVIL}`, bundle_id: null, detail: { message: EVIL } }],
    identity: async () => ({ id: status.id, name: EVIL, role: status.role, signingKey: new Uint8Array(32), encryptionKey: new Uint8Array(32), fingerprint: status.fingerprint, created: '' }),
    readCard: () => ({ id: `RW-${EVIL}`, name: `CARDNAME ${EVIL}`, role: 'facility', signingKey: new Uint8Array(32), encryptionKey: new Uint8Array(32), fingerprint: 'ABCD-EFGH-JKMN-PQRS', created: '' }),
    trust: async () => {
      throw new Error(`TRUSTFAIL ${EVIL}`);
    },
    revoke: async () => undefined,
  };
}

test.serial('hub: dashboard, conflict list and detail, quarantine, log, peers and a card show data with controls made visible', async (t) => {
  const ui = render(<App services={services(hub)} />);
  clean(t, await until(ui, 'Last imports'), 'hub dashboard');
  ui.stdin.write('c');
  clean(t, await until(ui, '#7'), 'conflict list');
  ui.stdin.write(KEYS.enter);
  const detail = await until(ui, 'CURRENT');
  clean(t, detail, 'conflict detail');
  t.true(detail.includes('Mallory\\x1b[2J'), detail);
  t.true(detail.includes('x\\x9b2J\\u202eevil\\u2028y'), detail);
  t.true(detail.includes('line one\\nline two'), 'a newline in a value does not break the line');
  ui.stdin.write(KEYS.escape);
  await until(ui, 'open conflict');
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Last imports');
  ui.stdin.write('t');
  const tables = await until(ui, 'SHARED');
  clean(t, tables, 'tables');
  t.true(tables.includes('TABLEMallory\\x1b[2J') && tables.includes('RW-Mallory'), tables);
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Last imports');
  ui.stdin.write('u');
  const q = await until(ui, 'QREASON');
  clean(t, q, 'quarantine');
  t.true(q.includes('QREASON Mallory\\x1b[2J'), q);
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Last imports');
  ui.stdin.write('l');
  clean(t, await until(ui, 'Audit log'), 'audit log');
  ui.stdin.write(KEYS.escape);
  await until(ui, 'Last imports');
  ui.stdin.write('p');
  clean(t, await until(ui, 'Enrolled facilities'), 'peers');
  ui.stdin.write('t');
  clean(t, await until(ui, 'card.json'), 'cards on drives');
  ui.stdin.write(KEYS.enter);
  const card = await until(ui, 'CARDNAME');
  clean(t, card, 'card to confirm');
  t.true(card.includes('RW-Mallory\\x1b[2J'), card);
  ui.stdin.write('y');
  clean(t, await until(ui, 'TRUSTFAIL'), 'trust refused');
  ui.unmount();
});

test.serial('hub import from a drive: drive picker, progress, results and reasons with controls made visible', async (t) => {
  const outcome: OperationResult = imported({ role: 'hub', receipts: [], requests: [], drive: `/media/${EVIL}`, acks_written: [], gaps: [{ origin: `RW-${EVIL}`, first: 1, last: 2 }], keys_written: [],
    rotations: [{ file: `/media/x/FERRY/keys/${EVIL}.ferry-rotation`, id: `RW-${EVIL}`, outcome: 'refused', reason: { code: 'rotation-invalid', kind: 'refused', message: EVIL } }],
    bundles: [{ file: `/media/x/FERRY/bundles/${EVIL}.ferry-bundle`, sender: `RW-${EVIL}`, outcome: 'refused', reason: { code: 'payload-invalid', kind: 'refused', message: `WHY ${EVIL}`, hint: EVIL } }] });
  const ui = render(<App services={services(hub, outcome)} />);
  await until(ui, 'Last imports');
  ui.stdin.write('i');
  clean(t, await until(ui, 'Choose the drive'), 'drive picker');
  ui.stdin.write(KEYS.enter);
  const progress = await until(ui, 'PROGRESS');
  clean(t, progress, 'progress');
  const done = await until(ui, 'WHY');
  clean(t, done, 'import result');
  t.true(done.includes('WHY Mallory\\x1b[2J'), done);
  ui.unmount();
});

test.serial('facility: dashboard and a failed export whose message carries a file name from the drive', async (t) => {
  const outcome: OperationResult = stopped('export', { code: 'drive-io-error', kind: 'io', message: `cannot write /media/${EVIL}`, hint: `FAILHINT ${EVIL}` });
  const ui = render(<App services={services(facility, outcome)} />);
  clean(t, await until(ui, 'Tracked tables'), 'facility dashboard');
  ui.stdin.write('e');
  await until(ui, 'Choose the drive');
  ui.stdin.write(KEYS.enter);
  const failed = await until(ui, 'FAILHINT');
  clean(t, failed, 'export failed');
  t.true(failed.includes(`What to do: FAILHINT ${EVIL_SHOWN}`), failed);
  ui.unmount();
});

test('every TUI file draws text through the one component that makes data visible', (t) => {
  const dir = join(ROOT, 'src', 'tui');
  const files = [...readdirSync(dir).map((f) => join(dir, f)), ...readdirSync(join(dir, 'screens')).map((f) => join(dir, 'screens', f))].filter((f) => /\.tsx?$/.test(f));
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    const fromInk = src.match(/import\s*\{([^}]*)\}\s*from\s*'ink'/g) ?? [];
    if (f.endsWith(join('tui', 'text.tsx'))) continue;
    for (const imp of fromInk) t.false(/\bText\b/.test(imp), `${f} takes Text from ink directly: ${imp}`);
  }
});
