/**
 * A hostile drive: whoever carries it controls every name, byte and file type on it. Links
 * planted where ferry writes, FERRY folders that are links, bundles/acks/notices that are links,
 * FIFOs or devices, and floods of junk for quarantine (issue 12, items 3 and 8).
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ackFileName, bundleFileName, driveLayout, listDrive, rotationFileName } from '../src/drive/layout.js';
import { openAck } from '../src/format/ack.js';
import { openBundle } from '../src/format/bundle-reader.js';
import { BUNDLE_ENTRIES } from '../src/format/constants.js';
import { buildZip } from '../src/tools/fuzz/raw-zip.js';
import { makeContext } from '../src/node/context.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { initNode } from '../src/node/init.js';
import { auditLog } from '../src/node/log.js';
import { listQuarantine, quarantine, type QuarantineLimits } from '../src/hub/quarantine.js';
import { rotateKeys } from '../src/node/rotate.js';
import { track } from '../src/facility/track.js';
import { revoke, trustPeer } from '../src/node/trust.js';
import { watch, type WatchEvent } from '../src/roles/watch.js';
import { refusedError, ErrorCodes, type FerryError } from '../src/core/errors.js';
import { FERRY_BIN, makeNetwork, seededRandom, sql, tempDir, type Network } from './helpers/env.js';

/** The built CLI, with a deadline: a FIFO that blocks ferry must fail the test, not hang it. */
function cli(args: string[]): { code: number; json: any; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [FERRY_BIN, ...args, '--json'], { encoding: 'utf8', env: { ...process.env, FERRY_HOME: '' }, timeout: 60_000 });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, json, stdout: r.stdout, stderr: r.stderr };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const count = (db: string, table: string) => sql<{ n: number }>(db, `SELECT count(*) AS n FROM "${table}"`)[0]!.n;
const hubHasPatients = (n: Network) => sql<{ n: number }>(n.hubDb, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'patients'")[0]!.n === 1 && count(n.hubDb, 'patients') > 0;

function precious(t: ExecutionContext, n: Network, name: string): { path: string; check: () => void } {
  const path = join(n.root, name);
  const content = `${name}: a file off the drive that ferry must never write\n`;
  writeFileSync(path, content);
  return { path, check: () => t.is(readFileSync(path, 'utf8'), content, `${name} is unchanged`) };
}

/** A FIFO, or a device node (/dev/zero's numbers) where the system lets us make one. */
function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr}`);
}
function mkdevice(t: ExecutionContext, path: string): void {
  const r = spawnSync('mknod', [path, 'c', '1', '5']);
  if (r.status !== 0) {
    t.log(`mknod not permitted here (${String(r.stderr).trim()}): a link to /dev/zero stands in for the device`);
    symlinkSync('/dev/zero', path);
  }
}

test('links planted at the names the hub writes (the old predictable .partial name of an ack, its final name) are never written through', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], patients: [(i) => i < 14, (i) => i >= 14], trackAll: true });
  const written = [];
  for (const s of n.sites) written.push((await exportChanges(s.ctx, { to: n.drive })).written[0]!);
  const acks = join(n.drive, 'FERRY', 'acks');
  mkdirSync(acks);
  const [ack1, ack2] = written.map((b, i) => ackFileName(n.sites[i]!.id, b.seq.first, b.seq.last, b.bundle_id)) as [string, string];
  const outside = precious(t, n, 'outside.txt');
  const outsideFinal = precious(t, n, 'outside-final.txt');
  symlinkSync(outside.path, join(acks, `${ack1}.partial`));
  symlinkSync(outsideFinal.path, join(acks, ack1));
  symlinkSync(n.hubDb, join(acks, `${ack2}.partial`));
  const r = cli(['--home', n.hub.home, 'import', '--from', n.drive]);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.deepEqual(r.json.bundles.map((b: { outcome: string }) => b.outcome), ['applied', 'applied']);
  outside.check();
  outsideFinal.check();
  t.deepEqual(sql(n.hubDb, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }], 'hub.db is intact');
  t.is(count(n.hubDb, 'patients'), 27, 'and holds what was applied');
  t.is(readlinkSync(join(acks, `${ack1}.partial`)), outside.path, 'the planted links were left alone (a .partial name is never read)');
  t.is(readlinkSync(join(acks, `${ack2}.partial`)), n.hubDb);
  for (const [i, name] of [ack1, ack2].entries()) {
    t.true(lstatSync(join(acks, name)).isFile(), `${name} is a regular file (the link at the final name was replaced)`);
    t.is((await openAck(join(acks, name))).ack.bundle_id, written[i]!.bundle_id);
  }
  t.deepEqual(readdirSync(acks).filter((f) => f.endsWith('.partial')).sort(), [`${ack1}.partial`, `${ack2}.partial`], 'no temporary file left behind');
});

test('links planted at the names an export writes (a rotation notice\'s old .partial and final names, the bundle\'s final name) are never written through', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const rotated = await rotateKeys(site.ctx);
  const notice = rotationFileName(site.id, rotated.old_fingerprint, rotated.new_fingerprint);
  // The export draws 8 random bytes for its run id, then 16 for the bundle id: with a seeded
  // source the bundle's final name is known in advance, as a courier could guess a pattern.
  const r = seededRandom(11);
  r(8);
  const bundleName = bundleFileName(site.id, 1, 2122, hex(r(16)));
  const keys = join(n.drive, 'FERRY', 'keys');
  const bundles = join(n.drive, 'FERRY', 'bundles');
  mkdirSync(keys, { recursive: true });
  mkdirSync(bundles, { recursive: true });
  const a = precious(t, n, 'a.txt');
  const b = precious(t, n, 'b.txt');
  const c = precious(t, n, 'c.txt');
  symlinkSync(a.path, join(keys, `${notice}.partial`));
  symlinkSync(b.path, join(keys, notice));
  symlinkSync(c.path, join(bundles, bundleName));
  const ex = await exportChanges(makeContext(site.ctx.home, { random: seededRandom(11) }), { to: n.drive });
  t.is(ex.written.length, 1);
  t.is(basename(ex.written[0]!.file), bundleName, 'the guessed name was the real one');
  a.check();
  b.check();
  c.check();
  t.true(lstatSync(join(keys, notice)).isFile(), 'the notice replaced the link');
  t.true(lstatSync(join(bundles, bundleName)).isFile(), 'the bundle replaced the link');
  t.is((await openBundle(join(bundles, bundleName))).manifest.changes, 2122);
  // The hub takes both from this drive as if nothing had happened.
  const h = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.is(h.rotations[0]!.outcome, 'accepted');
  t.is(h.bundles[0]!.outcome, 'applied');
});

/** Each case: what to plant, which command, and what must stay untouched. */
test('a FERRY folder that is a link (to anywhere, even on the drive) refuses export, hub import and facility import with drive-unsafe; nothing is written off the drive', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  const refuses = (r: ReturnType<typeof cli>, folder: string, what: string) => {
    t.is(r.code, 3, `${what}: ${r.stdout}${r.stderr}`);
    t.is(r.json?.error?.code, 'drive-unsafe', what);
    t.true(r.json.error.message.includes(folder), `${what}: the message names ${folder}`);
    t.regex(r.json.error.hint, /remove/i, `${what}: the hint says what to do`);
  };
  const fresh = (name: string) => {
    const d = join(n.root, name);
    mkdirSync(d);
    return d;
  };

  // export: FERRY is a link to a folder off the drive
  let drive = fresh('d1');
  const off1 = fresh('off1');
  symlinkSync(off1, join(drive, 'FERRY'));
  refuses(cli(['--home', site.ctx.home, 'export', '--to', drive]), join(drive, 'FERRY'), 'export, FERRY linked off the drive');
  t.deepEqual(readdirSync(off1), []);
  // export: FERRY/bundles is a link to another folder on the same drive
  drive = fresh('d2');
  mkdirSync(join(drive, 'FERRY'));
  mkdirSync(join(drive, 'elsewhere'));
  symlinkSync(join(drive, 'elsewhere'), join(drive, 'FERRY', 'bundles'));
  refuses(cli(['--home', site.ctx.home, 'export', '--to', drive]), join(drive, 'FERRY', 'bundles'), 'export, bundles linked on the drive');
  t.deepEqual(readdirSync(join(drive, 'elsewhere')), []);
  // export: FERRY is a file
  drive = fresh('d3');
  writeFileSync(join(drive, 'FERRY'), 'not a folder');
  refuses(cli(['--home', site.ctx.home, 'export', '--to', drive]), join(drive, 'FERRY'), 'export, FERRY a file');

  // A real drive with a bundle, then the hub's acks folder linked off the drive.
  await exportChanges(site.ctx, { to: n.drive });
  const off2 = fresh('off2');
  symlinkSync(off2, join(n.drive, 'FERRY', 'acks'));
  refuses(cli(['--home', n.hub.home, 'import', '--from', n.drive]), join(n.drive, 'FERRY', 'acks'), 'hub import, acks linked off the drive');
  t.deepEqual(readdirSync(off2), [], 'no ack written off the drive');
  t.false(hubHasPatients(n), 'nothing applied: the whole import was refused');
  // hub import: the keys folder is a link
  rmSync(join(n.drive, 'FERRY', 'acks'));
  symlinkSync(off2, join(n.drive, 'FERRY', 'keys'));
  refuses(cli(['--home', n.hub.home, 'import', '--from', n.drive]), join(n.drive, 'FERRY', 'keys'), 'hub import, keys linked');
  rmSync(join(n.drive, 'FERRY', 'keys'));
  // hub import: the whole FERRY folder is a link to a real FERRY tree elsewhere
  renameSync(join(n.drive, 'FERRY'), join(n.root, 'FERRY-moved'));
  symlinkSync(join(n.root, 'FERRY-moved'), join(n.drive, 'FERRY'));
  refuses(cli(['--home', n.hub.home, 'import', '--from', n.drive]), join(n.drive, 'FERRY'), 'hub import, FERRY linked');
  t.false(hubHasPatients(n));
  // inspect does not look through it either
  refuses(cli(['--home', n.hub.home, 'inspect', n.drive]), join(n.drive, 'FERRY'), 'inspect, FERRY linked');
  rmSync(join(n.drive, 'FERRY'));
  renameSync(join(n.root, 'FERRY-moved'), join(n.drive, 'FERRY'));

  // The real import, then the facility's delivered bundle kept in a folder off the drive that
  // the drive's FERRY/bundles links to: the facility must not remove it through the link.
  t.is(cli(['--home', n.hub.home, 'import', '--from', n.drive]).code, 0);
  const off3 = fresh('off3');
  const delivered = readdirSync(join(n.drive, 'FERRY', 'bundles'))[0]!;
  renameSync(join(n.drive, 'FERRY', 'bundles', delivered), join(off3, delivered));
  rmSync(join(n.drive, 'FERRY', 'bundles'), { recursive: true });
  symlinkSync(off3, join(n.drive, 'FERRY', 'bundles'));
  refuses(cli(['--home', site.ctx.home, 'import', '--from', n.drive]), join(n.drive, 'FERRY', 'bundles'), 'facility import, bundles linked off the drive');
  t.true(existsSync(join(off3, delivered)), 'the bundle off the drive was not removed');
  t.is(cli(['--home', site.ctx.home, 'status']).json.pending, 2122, 'nothing pruned');
  // facility import: the acks folder is a link
  rmSync(join(n.drive, 'FERRY', 'bundles'));
  renameSync(join(n.drive, 'FERRY', 'acks'), join(n.root, 'acks-moved'));
  symlinkSync(join(n.root, 'acks-moved'), join(n.drive, 'FERRY', 'acks'));
  refuses(cli(['--home', site.ctx.home, 'import', '--from', n.drive]), join(n.drive, 'FERRY', 'acks'), 'facility import, acks linked');
  t.is(cli(['--home', site.ctx.home, 'status']).json.pending, 2122, 'the ack behind the link was not used');
});

test('a bundle, ack or notice that is a link, a FIFO or a device is refused (not-a-ferry-file), reported, never read, copied or quarantined; nothing hangs', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  // A genuine bundle, kept off the drive: a link to it must not be followed.
  const elsewhere = join(n.root, 'elsewhere');
  mkdirSync(elsewhere);
  const ex = await exportChanges(site.ctx, { to: elsewhere });
  const genuine = ex.written[0]!.file;
  const bundles = join(n.drive, 'FERRY', 'bundles');
  const acks = join(n.drive, 'FERRY', 'acks');
  const keys = join(n.drive, 'FERRY', 'keys');
  for (const d of [bundles, acks, keys]) mkdirSync(d, { recursive: true });
  mkfifo(join(bundles, 'fifo.ferry-bundle'));
  mkdevice(t, join(bundles, 'device.ferry-bundle'));
  symlinkSync(genuine, join(bundles, 'link.ferry-bundle'));
  symlinkSync(n.hubDb, join(bundles, 'hubdb.ferry-bundle'));
  mkfifo(join(keys, 'fifo.ferry-rotation'));

  const hub = cli(['--home', n.hub.home, 'import', '--from', n.drive]);
  t.is(hub.code, 1, hub.stdout + hub.stderr);
  const names = ['device.ferry-bundle', 'fifo.ferry-bundle', 'hubdb.ferry-bundle', 'link.ferry-bundle'];
  t.deepEqual(hub.json.bundles.map((b: { file: string }) => basename(b.file)), names, 'every one is in the report');
  for (const b of hub.json.bundles) {
    t.is(b.outcome, 'refused', b.file);
    t.is(b.reason.code, 'not-a-ferry-file', b.file);
    t.regex(b.reason.message, /symbolic link|FIFO|device/);
    t.falsy(b.quarantined, `${b.file} not quarantined`);
  }
  t.is(hub.json.rotations[0].outcome, 'refused');
  t.is(hub.json.rotations[0].reason.code, 'not-a-ferry-file');
  t.false(hubHasPatients(n), 'the genuine bundle behind the link was not applied');
  const q = join(n.hub.home, 'quarantine');
  t.deepEqual(existsSync(q) ? readdirSync(q) : [], [], 'nothing copied into quarantine');
  const inspect = cli(['--home', n.hub.home, 'inspect', n.drive]);
  t.is(inspect.json.items.length, 5);
  t.true(inspect.json.items.every((i: { ok: boolean; error?: { code: string } }) => !i.ok && i.error?.code === 'not-a-ferry-file'));

  // The real bundle applied and acknowledged, then the facility's acks: a FIFO and a link to the genuine ack.
  rmSync(bundles, { recursive: true });
  mkdirSync(bundles);
  renameSync(genuine, join(bundles, basename(genuine)));
  t.is(cli(['--home', n.hub.home, 'import', '--from', n.drive]).code, 1, 'the notice FIFO is still there: partial');
  const ack = readdirSync(acks)[0]!;
  renameSync(join(acks, ack), join(elsewhere, ack));
  symlinkSync(join(elsewhere, ack), join(acks, ack));
  mkfifo(join(acks, 'fifo.ferry-ack'));
  mkdevice(t, join(acks, 'device.ferry-ack'));
  const fac = cli(['--home', site.ctx.home, 'import', '--from', n.drive]);
  t.is(fac.code, 1, fac.stdout + fac.stderr);
  t.is(fac.json.acks.length, 3);
  for (const a of fac.json.acks) {
    t.is(a.outcome, 'refused', a.file);
    t.is(a.reason.code, 'not-a-ferry-file', a.file);
  }
  t.is(fac.json.pending, 2122, 'the genuine ack behind the link was not used');
  t.is(fac.json.rotations[0].reason.code, 'not-a-ferry-file');
  // An export to the same drive reads acks (restore evidence), notices and bundles: no hang, no harm.
  const again = cli(['--home', site.ctx.home, 'export', '--to', n.drive]);
  t.is(again.code, 0, again.stdout + again.stderr);
});

test('quarantine floods: 300 junk files and a 50 MB junk file are refused and reported, none copied', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const bundles = join(n.drive, 'FERRY', 'bundles');
  mkdirSync(bundles, { recursive: true });
  const r = seededRandom(3);
  for (let i = 0; i < 300; i++) writeFileSync(join(bundles, `junk-${String(i).padStart(3, '0')}.ferry-bundle`), r(200 + i));
  const big = openSync(join(bundles, 'zz-big.ferry-bundle'), 'w');
  ftruncateSync(big, 50 * 1024 * 1024);
  closeSync(big);
  const res = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.is(res.bundles.length, 301);
  for (const b of res.bundles) {
    t.is(b.outcome, 'refused');
    t.true(b.reason!.code === 'not-a-ferry-file' || b.reason!.code.startsWith('zip-'), b.reason!.code);
    t.falsy(b.quarantined);
  }
  const q = join(n.hub.home, 'quarantine');
  t.deepEqual(existsSync(q) ? readdirSync(q) : [], [], 'quarantine holds none of them');
});

test('quarantine full: a refused bundle is reported with quarantine-full and audited, nothing copied', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  // A revoked facility's bundle: signed by a key this hub once trusted, so worth a copy.
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await revoke(n.hub, { id: 'RW-001', reason: 'laptop stolen' });
  const q = join(n.hub.home, 'quarantine');
  mkdirSync(q, { recursive: true });
  for (let i = 0; i < 200; i++) writeFileSync(join(q, `old-${i}.ferry-bundle`), 'kept from earlier imports');
  const r = cli(['--home', n.hub.home, 'import', '--from', n.drive]);
  t.is(r.code, 1);
  const b = r.json.bundles[0];
  t.is(b.reason.code, 'signer-revoked');
  t.falsy(b.quarantined);
  t.is(b.quarantine_error.code, 'quarantine-full');
  t.regex(b.quarantine_error.hint, /delete/);
  t.is(readdirSync(q).length, 200, 'nothing added');
  const audit = await auditLog(n.hub);
  t.true(audit.some((e) => e.action === 'import' && e.outcome === 'refused' && (e.detail as { quarantine?: string }).quarantine === 'quarantine-full'));
  const human = spawnSync(process.execPath, [FERRY_BIN, '--home', n.hub.home, 'import', '--from', n.drive], { encoding: 'utf8', env: { ...process.env, FERRY_HOME: '' } });
  t.regex(human.stdout, /NOT COPIED to quarantine: quarantine is full/);
});

/** A facility this hub never enrolled, with an EMR of its own: its bundle passes the manifest checks, then is refused (signer-unknown). */
async function strangerBundle(n: Network): Promise<string> {
  const home = join(n.root, 'stranger');
  const db = join(n.root, 'stranger-emr.db');
  sql(db, 'CREATE TABLE p (id TEXT PRIMARY KEY, v TEXT)');
  sql(db, "INSERT INTO p VALUES ('a', 'stranger')");
  await initNode(makeContext(home), { role: 'facility', id: 'RW-777', db });
  await trustPeer(makeContext(home), { card: n.hubCard });
  await track(makeContext(home), { tables: ['p'] });
  const drive = join(n.root, 'stranger-drive');
  mkdirSync(drive);
  await exportChanges(makeContext(home), { to: drive });
  const dir = join(drive, 'FERRY', 'bundles');
  return join(dir, readdirSync(dir)[0]!);
}

test('quarantine floods without a key: junk manifests, forged signatures and unknown senders cannot crowd out a real refused bundle, and make one audit entry', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  sql(site.db, 'CREATE TABLE p (id TEXT PRIMARY KEY, v TEXT)');
  sql(site.db, "INSERT INTO p VALUES ('a', 'real')");
  await track(site.ctx, { tables: ['p'] });
  await exportChanges(site.ctx, { to: n.drive });
  const bundles = join(n.drive, 'FERRY', 'bundles');
  const genuine = join(bundles, readdirSync(bundles)[0]!);
  await revoke(n.hub, { id: site.id, reason: 'laptop stolen' });
  // Names that sort before the genuine bundle's (RW-001.…): they are imported first.
  for (let i = 0; i < 210; i++) {
    writeFileSync(join(bundles, `A-junk-${String(i).padStart(3, '0')}.ferry-bundle`), buildZip([
      { name: BUNDLE_ENTRIES.manifest, data: Buffer.from(`{"not":"a manifest ${i}"}`) },
      { name: BUNDLE_ENTRIES.signature, data: Buffer.alloc(64) },
      { name: BUNDLE_ENTRIES.payload, data: Buffer.alloc(16) },
    ]));
  }
  // The revoked facility's real manifest under a signature nobody made: refused as signer-revoked
  // (before the signature is checked), but no key stands behind it.
  const real = await openBundle(genuine);
  for (let i = 0; i < 5; i++) {
    writeFileSync(join(bundles, `B-forged-${i}.ferry-bundle`), buildZip([
      { name: BUNDLE_ENTRIES.manifest, data: Buffer.from(real.manifestBytes) },
      { name: BUNDLE_ENTRIES.signature, data: Buffer.alloc(64, i + 1) },
      { name: BUNDLE_ENTRIES.payload, data: Buffer.alloc(real.manifest.payload.ciphertext_bytes) },
    ]));
  }
  const stranger = await strangerBundle(n);
  for (let i = 0; i < 25; i++) writeFileSync(join(bundles, `C-stranger-${String(i).padStart(2, '0')}.ferry-bundle`), readFileSync(stranger));
  const auditBefore = (await auditLog(n.hub)).length;

  const res = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.is(res.bundles.length, 241);
  const byName = (prefix: string) => res.bundles.filter((b) => basename(b.file).startsWith(prefix));
  for (const b of byName('A-junk-')) {
    t.is(b.reason!.code, 'manifest-invalid');
    t.falsy(b.quarantined);
  }
  for (const b of byName('B-forged-')) {
    t.is(b.reason!.code, 'signer-revoked');
    t.falsy(b.quarantined, 'a forged signature is not kept');
  }
  const strangers = byName('C-stranger-');
  t.true(strangers.every((b) => b.reason!.code === 'signer-unknown'));
  t.is(strangers.filter((b) => b.quarantined).length, 20, 'unknown senders: 20 kept for review');
  for (const b of strangers.slice(20)) {
    t.falsy(b.quarantined);
    t.is(b.quarantine_error!.code, 'quarantine-full');
    t.regex(b.quarantine_error!.message, /senders this hub does not know/);
    t.regex(b.quarantine_error!.hint!, /ferry trust CARD/);
  }
  const real1 = res.bundles.find((b) => b.file === genuine)!;
  t.is(real1.reason!.code, 'signer-revoked');
  t.truthy(real1.quarantined, 'the real refused bundle is kept');
  t.is(sha(real1.quarantined!), sha(genuine));
  const kept = listQuarantine(n.hub.home);
  t.is(kept.length, 21);
  t.is(kept.filter((e) => basename(e.file).startsWith('signer-unknown-')).length, 20);

  const audit = (await auditLog(n.hub)).slice(auditBefore);
  const imports = audit.filter((e) => e.action === 'import');
  t.is(imports.length, 22, 'one entry for the real bundle, one per kept unknown-sender copy, one for the rest');
  const rest = imports.filter((e) => e.outcome === 'refused-unverified');
  t.is(rest.length, 1);
  t.like(rest[0]!.detail, { files: 220, codes: { 'manifest-invalid': 210, 'signer-revoked': 5, 'signer-unknown': 5 }, quarantine: { 'quarantine-full': 5 }, first_file: join(bundles, 'A-junk-000.ferry-bundle') });
  t.true(imports.some((e) => e.outcome === 'refused' && e.bundle_id === real.manifest.bundle_id && (e.detail as { code?: string }).code === 'signer-revoked'));
});

test('quarantine(): bundles from unknown senders have a room of their own, within the total', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  mkdirSync(home);
  const caps: QuarantineLimits = { maxFiles: 4, maxBytes: 1024 * 1024, unknownSenderFiles: 2, unknownSenderBytes: 1024 * 1024 };
  const file = (name: string) => {
    const p = join(dir, `${name}.ferry-bundle`);
    writeFileSync(p, `content of ${name}`);
    return p;
  };
  const unknown = reason('signer-unknown');
  t.regex(basename((await quarantine(home, file('u1'), unknown, 'x', 'unknown-sender', caps)).file!), /^signer-unknown-[0-9a-f]{16}-u1\.ferry-bundle$/);
  t.truthy((await quarantine(home, file('u2'), unknown, 'x', 'unknown-sender', caps)).file);
  const third = await quarantine(home, file('u3'), unknown, 'x', 'unknown-sender', caps);
  t.is(third.error?.code, 'quarantine-full');
  t.regex(third.error!.message, /senders this hub does not know \(2 file\(s\)/);
  t.truthy((await quarantine(home, file('s1'), reason('signer-revoked'), 'x', 'signed', caps)).file, 'a signed bundle still fits');
  t.truthy((await quarantine(home, file('s2'), reason('signer-revoked'), 'x', 'signed', caps)).file);
  const over = await quarantine(home, file('s3'), reason('signer-revoked'), 'x', 'signed', caps);
  t.is(over.error?.code, 'quarantine-full', 'the total counts every kind');
  t.regex(over.error!.message, /^quarantine is full \(4 file/);
  // Over the size of the unknown senders' room, with files to spare.
  const big = join(dir, 'big.ferry-bundle');
  writeFileSync(big, Buffer.alloc(2 * 1024 * 1024));
  t.is((await quarantine(home, big, unknown, 'x', 'unknown-sender', { ...caps, maxFiles: 100, maxBytes: 1024 ** 3, unknownSenderFiles: 100 })).error?.code, 'quarantine-full');
});

const reason = (code: FerryError['code']) => refusedError(code, 'refused for the test');
const limits: QuarantineLimits = { maxFiles: 2, maxBytes: 64 * 1024 * 1024, unknownSenderFiles: 20, unknownSenderBytes: 64 * 1024 * 1024 };

test('quarantine(): copies a large zip-shaped file as a stream, byte for byte; the caps hold by count and by size', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  mkdirSync(home);
  // 48 MB: a real zip with a ferry bundle's entries, whose manifest is junk: refused after the container checks.
  const big = join(dir, 'big.ferry-bundle');
  writeFileSync(big, buildZip([
    { name: BUNDLE_ENTRIES.manifest, data: Buffer.from('{"not":"a manifest"}') },
    { name: BUNDLE_ENTRIES.signature, data: Buffer.alloc(64) },
    { name: BUNDLE_ENTRIES.payload, data: Buffer.alloc(48 * 1024 * 1024, 7) },
  ]));
  const refused = await t.throwsAsync(openBundle(big));
  t.is((refused as FerryError).code, 'manifest-invalid', 'past the container checks');
  t.deepEqual(await quarantine(home, big, refused as FerryError, '2025-01-01T00:00:00Z', 'unverified', limits), { notCopied: 'unverified' }, 'no key stands behind it');
  // As if a trusted key had signed it (the copying is what this test is about).
  const first = await quarantine(home, big, refused as FerryError, '2025-01-01T00:00:00Z', 'signed', limits);
  t.truthy(first.file);
  t.is(sha(first.file!), sha(big), 'the copy is exact');
  t.regex(basename(first.file!), /^[0-9a-f]{16}-big\.ferry-bundle$/);
  t.deepEqual(await quarantine(home, big, refused as FerryError, '2025-01-01T00:00:01Z', 'signed', { ...limits, maxFiles: 3, maxBytes: 200 * 1024 * 1024 }), first, 'the same content is kept once');
  const small = join(dir, 'small.ferry-bundle');
  writeFileSync(small, 'second');
  t.truthy((await quarantine(home, small, reason('signer-revoked'), 'x', 'signed', limits)).file);
  // A third file: over the count.
  const third = join(dir, 'third.ferry-bundle');
  writeFileSync(third, 'third');
  const full = await quarantine(home, third, reason('signer-revoked'), 'x', 'signed', limits);
  t.is(full.error?.code, 'quarantine-full');
  t.falsy(full.file);
  // Over the size, with room for more files.
  const bySize = await quarantine(home, third, reason('signer-revoked'), 'x', 'signed', { ...limits, maxFiles: 200, maxBytes: 48 * 1024 * 1024 });
  t.is(bySize.error?.code, 'quarantine-full');
  t.is(readdirSync(join(home, 'quarantine')).filter((f) => !f.endsWith('.reason.json')).length, 2, 'two copies, no temporary file');
});

test('quarantine(): junk refused by the container checks, a link and a FIFO are never copied', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  mkdirSync(home);
  const junk = join(dir, 'junk.ferry-bundle');
  writeFileSync(junk, 'junk');
  t.deepEqual(await quarantine(home, junk, reason(ErrorCodes.ZIP_INVALID), 'x', 'unverified'), { notCopied: 'unverified' });
  // Even when the caller says a trusted key signed it, a link or FIFO is not opened.
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'a file the link points to');
  symlinkSync(secret, join(dir, 'link.ferry-bundle'));
  t.deepEqual(await quarantine(home, join(dir, 'link.ferry-bundle'), reason('signer-revoked'), 'x', 'signed'), { notCopied: 'not-a-ferry-file' });
  mkfifo(join(dir, 'fifo.ferry-bundle'));
  t.deepEqual(await quarantine(home, join(dir, 'fifo.ferry-bundle'), reason('signer-revoked'), 'x', 'signed'), { notCopied: 'not-a-ferry-file' });
  const q = join(home, 'quarantine');
  t.deepEqual(existsSync(q) ? readdirSync(q) : [], []);
});

test('a bundle whose name is swapped for another file after it was opened is not read from the new file', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const ex = await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const file = ex.written[0]!.file;
  const b = await openBundle(file);
  const other = join(n.root, 'other');
  writeFileSync(other, readFileSync(file));
  renameSync(other, file); // same bytes, another file
  const err = await t.throwsAsync(b.payload.read());
  t.is((err as FerryError).code, 'not-a-ferry-file');
  t.regex((err as FerryError).message, /replaced/);
});

test('watch: a drive whose FERRY folder is a link is reported once per insertion as drive-unsafe, and not imported', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const media = join(n.root, 'media');
  const usb = join(media, 'USB');
  mkdirSync(usb, { recursive: true });
  symlinkSync(join(n.drive, 'FERRY'), join(usb, 'FERRY'));
  const events: WatchEvent[] = [];
  await watch(n.hub, { mountRoots: [media], intervalMs: 10, signal: new AbortController().signal, onEvent: (e) => events.push(e), maxPolls: 3 });
  t.is(events.length, 1, 'once, not at every poll');
  t.is(events[0]!.outcome, 'failed');
  t.is(events[0]!.error?.code, 'drive-unsafe');
  t.false(hubHasPatients(n));
});

test('a FERRY folder that cannot be read is not an empty drive: import fails with drive-io-error (exit 3), not "safe to remove"', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  const bundles = join(n.drive, 'FERRY', 'bundles');
  chmodSync(bundles, 0o000);
  t.teardown(() => chmodSync(bundles, 0o755));
  // Root reads any folder: drop that privilege (as a non-root user the mode alone stops readdir).
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', process.execPath] : [process.execPath];
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), FERRY_BIN, '--home', n.hub.home, 'import', '--from', n.drive, '--json'], { encoding: 'utf8', env: { ...process.env, FERRY_HOME: '' } });
  t.is(r.status, 3, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout);
  t.is(out.error?.code, 'drive-io-error', r.stdout);
  t.is(out.error?.where, bundles);
  t.notRegex(r.stdout, /Safe to remove/i);
  t.deepEqual(sql(n.hubDb, 'SELECT count(*) AS n FROM ferry_bundles'), [{ n: 0 }]);
});

test('a FERRY folder that is no longer a folder when the drive is listed is refused, not listed as empty', async (t) => {
  const drive = tempDir(t);
  mkdirSync(join(drive, 'FERRY'), { recursive: true });
  writeFileSync(join(drive, 'FERRY', 'bundles'), 'not a folder');
  t.like(t.throws(() => listDrive(driveLayout(drive))), { code: ErrorCodes.DRIVE_UNSAFE });
  rmSync(join(drive, 'FERRY'), { recursive: true });
  t.deepEqual(listDrive(driveLayout(drive)), { bundles: [], acks: [], rotations: [], receipts: [], requests: [], partial: [] }, 'a drive without FERRY/ is empty');
});
