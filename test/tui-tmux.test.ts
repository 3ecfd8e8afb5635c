/** Drives the real `ferry tui` in tmux at 80x24, as a person would: dashboard, export, import, quit. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FERRY_BIN, makeNetwork, runCli, sql, tempDir, TEST_PASSPHRASE } from './helpers/env.js';
import { hasPostgres, storeKinds, usePostgres } from './helpers/postgres.js';
import { withSession } from '../src/node/node-session.js';
import { hubWithHostileConflict } from './helpers/hostile.js';
import { openmrsNetwork, round } from './helpers/openmrs-network.js';

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

async function screenUntil(session: string, text: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = tmux('capture-pane', '-t', session, '-p');
    if (screen.includes(text)) return screen;
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear; the screen was:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The whole frame is on the 80×24 screen: a frame taller than the terminal scrolls its title bar
 * off the top (tmux itself never shows more than 80 columns, so only the height can be lost).
 */
function wholeFrameOnScreen(t: { true: (v: boolean, m?: string) => void }, screen: string): void {
  t.true(screen.split('\n').some((row) => row.startsWith(' ferry · ')), `the title bar is off the screen:\n${screen}`);
}

/** Run `ferry ARGS` in a new 80x24 tmux session; `passphrase` false: nothing in the environment, so ferry asks. */
function startFerry(t: Parameters<typeof makeNetwork>[0], args: string, o: { passphrase: boolean }): string {
  const session = `ferry-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env = o.passphrase ? `FERRY_PASSPHRASE='${TEST_PASSPHRASE}'` : '-u FERRY_PASSPHRASE -u FERRY_PASSPHRASE_FILE';
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `env ${env} FERRY_SCRYPT_LOG_N=10 ${process.execPath} ${FERRY_BIN} ${args}; echo EXIT=$?; sleep 60`);
  t.teardown(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
  });
  return session;
}

const startTui = (t: Parameters<typeof makeNetwork>[0], home: string, media: string, o = { passphrase: true }) => startFerry(t, `--home ${home} tui --mount-root ${media}`, o);

/** Type text on the terminal (then Enter), as a person would; `fixLast` backspaces over the last character and types it again. */
function typeLine(session: string, text: string, fixLast?: string): void {
  tmux('send-keys', '-t', session, '-l', text);
  if (fixLast !== undefined) {
    tmux('send-keys', '-t', session, 'BSpace');
    tmux('send-keys', '-t', session, '-l', fixLast);
  }
  tmux('send-keys', '-t', session, 'Enter');
}

test('init on a terminal asks for the new passphrase twice, without echo, and insists on a match', async (t) => {
  const home = join(tempDir(t), 'hub');
  const s = startFerry(t, `--home ${home} init --role hub --id HUB-9`, { passphrase: false });
  await screenUntil(s, 'new passphrase to protect the keys of HUB-9');
  typeLine(s, 'short');
  await screenUntil(s, 'too short');
  typeLine(s, 'kigali hub passphrase');
  await screenUntil(s, 'type it again');
  typeLine(s, 'kigali hub passphrasf', 'X'); // a typo, corrected wrongly
  await screenUntil(s, 'the two did not match');
  typeLine(s, 'kigali hub passphrase');
  await screenUntil(s, 'type it again');
  typeLine(s, 'kigali hub passphrasf', 'e'); // the same typo, corrected with backspace
  const done = await screenUntil(s, 'EXIT=');
  t.true(done.includes('created hub HUB-9'), done);
  t.true(done.includes('EXIT=0'));
  t.false(done.includes('kigali'), 'nothing typed is echoed');
  const unlock = (passphrase: string) => runCli(['--home', home, 'rotate-keys', '--json'], { env: { FERRY_PASSPHRASE: passphrase } });
  t.is(unlock('kigali hub passphrasX').json.error.code, 'passphrase-wrong');
  t.is(unlock('kigali hub passphrase').code, 0, 'the key opens with the passphrase as corrected with backspace');
});

// On both hub stores: the TUI's hub screens work unchanged on a PostgreSQL hub.
const postgres = hasPostgres() ? usePostgres(test) : undefined;
for (const kind of storeKinds()) {
test(`${kind}: an IT officer exports from the TUI, the hub operator imports from the TUI, both quit with 0`, async (t) => {
  const hubDb = kind === 'postgres' ? (await postgres!()).createDatabase('tui') : undefined;
  const n = await makeNetwork(t, { trackAll: true, ...(hubDb ? { hubDb } : {}) });
  const media = join(n.root, 'media');
  mkdirSync(join(media, 'USB'), { recursive: true });

  // The IT officer types the passphrase before the screen opens; a wrong one is said plainly.
  const fac = startTui(t, n.sites[0]!.ctx.home, media, { passphrase: false });
  await screenUntil(fac, 'passphrase for RW-001');
  tmux('send-keys', '-t', fac, '-l', 'not the passphrase');
  tmux('send-keys', '-t', fac, 'Enter');
  await screenUntil(fac, 'that passphrase does not open the key; try again');
  tmux('send-keys', '-t', fac, '-l', TEST_PASSPHRASE);
  tmux('send-keys', '-t', fac, 'Enter');
  const dashboard = await screenUntil(fac, 'Tracked tables');
  wholeFrameOnScreen(t, dashboard);
  t.true(dashboard.includes('2,122 change(s) not yet confirmed by the hub'));
  t.true(dashboard.includes('[q] quit'));
  tmux('send-keys', '-t', fac, 'e');
  t.true((await screenUntil(fac, 'Choose the drive')).includes(join(media, 'USB')));
  tmux('send-keys', '-t', fac, 'Enter');
  const exported = await screenUntil(fac, 'SAFE TO REMOVE THE DRIVE');
  wholeFrameOnScreen(t, exported);
  t.true(exported.includes('read back and verified'));
  tmux('send-keys', '-t', fac, 'Enter');
  // The dashboard itself, not "[Enter] back to the dashboard" on the closing screen: typed in
  // the same read as the Enter, the q would reach ink as one unknown input ("\rq").
  await screenUntil(fac, 'Tracked tables');
  tmux('send-keys', '-t', fac, 'q');
  await screenUntil(fac, 'EXIT=0');

  const hub = startTui(t, n.hub.home, media);
  wholeFrameOnScreen(t, await screenUntil(hub, 'Last imports'));
  tmux('send-keys', '-t', hub, 'i');
  await screenUntil(hub, 'Choose the drive');
  tmux('send-keys', '-t', hub, 'Enter');
  const imported = await screenUntil(hub, 'signed ack(s) written');
  wholeFrameOnScreen(t, imported);
  t.true(imported.includes('APPLIED'));
  t.true(imported.includes('RW-001'));
  tmux('send-keys', '-t', hub, 'Enter');
  // The dashboard shows at once and refreshes after: wait for the refreshed status (slower on PostgreSQL).
  const after = await screenUntil(hub, '2,122 applied');
  t.true(after.includes('Last imports'));
  // Whose the rows are: each table facility-owned here, its rows under the facility that sent them.
  tmux('send-keys', '-t', hub, 't');
  const tables = await screenUntil(hub, 'whose rows');
  wholeFrameOnScreen(t, tables);
  t.regex(tables, /^patients +facility-owned +27 *$/m, tables);
  t.regex(tables, /^ +RW-001 +27 *$/m, tables);
  tmux('send-keys', '-t', hub, 'Escape');
  await screenUntil(hub, 'Last imports');
  tmux('send-keys', '-t', hub, 'q');
  await screenUntil(hub, 'EXIT=0');
  t.is(await withSession(n.hub, 'hub', 'test', (s) => s.hubStore().rowCount('patients')), 27);
});
}

test('a patient name with escape sequences on the conflict screen neither retitles nor clears the terminal', async (t) => {
  const n = await hubWithHostileConflict(t);
  const media = join(n.root, 'media');
  mkdirSync(media);
  const hub = startTui(t, n.hub.home, media);
  await screenUntil(hub, 'Last imports');
  const title = () => tmux('display', '-p', '-t', hub, '#{pane_title}').trim();
  const before = title();
  tmux('send-keys', '-t', hub, 'c');
  await screenUntil(hub, 'open conflict');
  tmux('send-keys', '-t', hub, 'Enter');
  const screen = await screenUntil(hub, 'CURRENT');
  wholeFrameOnScreen(t, screen);
  t.false(title().includes('PWNED'), `the pane title is now ${title()}`);
  t.is(title(), before);
  t.true(screen.includes('Mallory\\x1b[2J\\x1b[H'), screen);
  t.true(screen.includes('conflict #1') && screen.includes('[k] keep current'), 'the frame is whole: the screen was not cleared under it');
  tmux('send-keys', '-t', hub, 'Escape');
  await screenUntil(hub, 'open conflict');
  tmux('send-keys', '-t', hub, 'Escape');
  await screenUntil(hub, 'Last imports');
  tmux('send-keys', '-t', hub, 'q');
  await screenUntil(hub, 'EXIT=0');
});

test('records travel back in a real terminal: the hub operator sends a patient with [s] and exports with [e]; the receiving officer imports with [i] and sees the records with [v]', async (t) => {
  const n = await openmrsNetwork(t, ['RW-017', 'RW-021']);
  await round(n, 'drive-1');
  const media = join(n.root, 'media');
  const usb = join(media, 'USB');
  mkdirSync(usb, { recursive: true });

  const hub = startTui(t, n.hub.home, media);
  await screenUntil(hub, 'Outgoing');
  tmux('send-keys', '-t', hub, 's');
  await screenUntil(hub, 'Send a facility');
  for (const v of ['RW-021', 'RW-017', 'patient', '5', 'transferred for surgery']) typeLine(hub, v);
  const plan = await screenUntil(hub, 'Would send');
  wholeFrameOnScreen(t, plan);
  t.true(plan.includes("Would send RW-017's patient record to RW-021: 11 row(s) now"), plan);
  tmux('send-keys', '-t', hub, 'y');
  const sent = await screenUntil(hub, 'Send #1');
  wholeFrameOnScreen(t, sent);
  tmux('send-keys', '-t', hub, 'e');
  await screenUntil(hub, 'Choose the drive');
  tmux('send-keys', '-t', hub, 'Enter');
  const exported = await screenUntil(hub, 'SAFE TO REMOVE THE DRIVE');
  wholeFrameOnScreen(t, exported);
  t.regex(exported, /for RW-021 +\d+ row\(s\) in 1 bundle\(s\)/, exported);
  tmux('send-keys', '-t', hub, 'Enter');
  await screenUntil(hub, 'Outgoing');
  tmux('send-keys', '-t', hub, 'q');
  await screenUntil(hub, 'EXIT=0');

  const fac = startTui(t, n.site('RW-021').ctx.home, media);
  await screenUntil(fac, 'Tracked tables');
  tmux('send-keys', '-t', fac, 'i');
  await screenUntil(fac, 'Choose the drive');
  tmux('send-keys', '-t', fac, 'Enter');
  const imported = await screenUntil(fac, 'SAFE TO REMOVE THE DRIVE');
  wholeFrameOnScreen(t, imported);
  t.true(imported.replace(/\s+/g, ' ').includes('records from the hub: 1 bundle(s) applied'), imported);
  tmux('send-keys', '-t', fac, 'Enter');
  const dashboard = await screenUntil(fac, 'Received');
  t.true(dashboard.includes('11 row(s) from RW-017'), dashboard);
  tmux('send-keys', '-t', fac, 'v');
  const list = await screenUntil(fac, 'last received');
  wholeFrameOnScreen(t, list);
  t.regex(list, /RW-017 +obs +5 /, list);
  tmux('send-keys', '-t', fac, 'Escape');
  await screenUntil(fac, 'Tracked tables');
  tmux('send-keys', '-t', fac, 'q');
  await screenUntil(fac, 'EXIT=0');
  t.deepEqual(sql(join(n.site('RW-021').ctx.home, 'received.db'), 'SELECT count(*) AS n FROM obs WHERE ferry_origin = ?', 'RW-017'), [{ n: 5 }]);
});
