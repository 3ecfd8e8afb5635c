/**
 * No row value in any message, log, audit entry or quarantine reason: a change refused or
 * rejected in any way is described by table, column, seq and key hash at most. Each bundle here
 * is signed by the enrolled facility's real key and carries a patient marker where the change
 * goes wrong; the marker must appear nowhere the operator (or a log collector) can read.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type nacl from 'tweetnacl';
import type { PayloadRecord } from '../src/format/records.js';
import { makeContext, type OpContext } from '../src/node/context.js';
import { withSession } from '../src/node/node-session.js';
import { fixedPassphrase } from '../src/node/passphrase.js';
import { tableRecord, writeBundle, type TestKeys } from './helpers/bundles.js';
import { makeNetwork, runCli, sql, TEST_PASSPHRASE, type CliResult } from './helpers/env.js';

/** Letters of the base64 alphabet only, so that it also fits a (non-canonical) blob. */
const MARKER = 'ZZPATIENTMARKERZZ';

async function realKeys(ctx: OpContext): Promise<TestKeys> {
  const k = await withSession(makeContext(ctx.home, { passphrase: fixedPassphrase(TEST_PASSPHRASE) }), undefined, 'test', (s) => s.nodeKeys());
  const sign: nacl.SignKeyPair = { publicKey: k.identity.signingKey, secretKey: k.signingSecretKey };
  const box: nacl.BoxKeyPair = { publicKey: k.identity.encryptionKey, secretKey: k.encryptionSecretKey };
  return { id: k.identity.id, sign, box, fingerprint: k.identity.fingerprint };
}

const change = (seq: number, o: Partial<PayloadRecord> & Record<string, unknown>): PayloadRecord =>
  ({ kind: 'change', origin: 'RW-001', seq, clock: [1700000000000 + seq, 0], table: 't', op: 'insert', row: [seq, 'fine'], ...o }) as PayloadRecord;

/** Each way a change carrying the marker is refused or rejected today. */
const CASES: Array<{ name: string; records: PayloadRecord[] }> = [
  // applied bundle, this change rejected by the hub (D3): its reason names the key column only
  { name: 'null-key', records: [tableRecord(), change(1, { row: [null, MARKER] })] },
  // a value the schema refuses (an "int" that is not digits)
  { name: 'int-not-digits', records: [tableRecord(), change(11, { row: [11, { int: MARKER }] })] },
  // a value the schema lets through but that is no value (non-canonical base64)
  { name: 'blob-not-canonical', records: [tableRecord(), change(21, { row: [21, { blob: MARKER }] })] },
  // a row with more values than the table has columns
  { name: 'row-too-long', records: [tableRecord(), change(31, { row: [31, MARKER, MARKER] })] },
  // a delete whose key has the wrong number of values
  { name: 'delete-key-wrong', records: [tableRecord(), change(41, { op: 'delete', row: null, key: [MARKER, MARKER] })] },
];

function noMarker(t: ExecutionContext, what: string, text: string) {
  const at = text.indexOf(MARKER);
  t.is(at, -1, `${what} shows a row value: …${text.slice(Math.max(0, at - 120), at + 40)}…`);
}
const noMarkerIn = (t: ExecutionContext, what: string, r: CliResult) => {
  noMarker(t, `${what} (stdout)`, r.stdout);
  noMarker(t, `${what} (stderr)`, r.stderr);
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
}

test('a change refused or rejected at the hub leaves no row value in import, log, status, audit or quarantine', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const facility = await realKeys(n.sites[0]!.ctx);
  const hub = await realKeys(n.hub);
  const bundles = join(n.drive, 'FERRY', 'bundles');
  mkdirSync(bundles, { recursive: true });
  for (const [i, c] of CASES.entries()) {
    const tmp = join(n.root, `${c.name}.tmp`);
    await writeBundle(tmp, c.records, { sender: facility, recipient: hub, seed: 1000 + i, created: new Date() });
    renameSync(tmp, join(bundles, `RW-001.${c.name}.ferry-bundle`));
  }

  const human = runCli(['--home', n.hub.home, 'import', '--from', n.drive]);
  t.is(human.code, 1, 'some bundles refused');
  noMarkerIn(t, 'ferry import', human);
  const json = runCli(['--home', n.hub.home, 'import', '--from', n.drive, '--json']);
  noMarkerIn(t, 'ferry import --json', json);
  const outcomes = Object.fromEntries((json.json.bundles as Array<{ file: string; outcome: string }>).map((b) => [b.file.split('.').at(-2), b.outcome]));
  t.like(outcomes, { 'int-not-digits': 'refused', 'blob-not-canonical': 'refused', 'row-too-long': 'refused', 'delete-key-wrong': 'refused' }, JSON.stringify(outcomes));
  t.true(['applied', 'already-applied'].includes(outcomes['null-key']!), 'the bundle with the NULL key is taken; its change is rejected');
  t.is(sql<{ n: number }>(n.hubDb, 'SELECT count(*) AS n FROM ferry_rejected')[0]!.n, 1, 'the NULL-key change is held as rejected');

  t.regex(human.stdout, /rejected 1 change\(s\) of table t \(change 1\): the key id holds an empty \(NULL\) value/, 'the reason is shown, without the value');
  t.regex(runCli(['--home', n.hub.home, 'status']).stdout, /RW-001: 1 change\(s\) of table t \(change 1\), tried 1 time\(s\)/, 'status lists it, without the value');
  for (const args of [['log'], ['log', '--json'], ['status'], ['status', '--json'], ['inspect', n.drive], ['inspect', n.drive, '--json']]) {
    noMarkerIn(t, `ferry ${args.join(' ')}`, runCli(['--home', n.hub.home, ...args]));
  }
  // Everything in the hub's home: the audit log (state.db), the quarantine reasons, hub.db's ledgers.
  const files = filesUnder(n.hub.home);
  t.true(files.some((f) => f.endsWith('.reason.json')), 'refused bundles are in quarantine with their reason');
  for (const f of files) noMarker(t, f, readFileSync(f).toString('latin1'));
});

test('an EMR value too large for a bundle is refused at export without the value', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  sql(site.db, 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
  sql(site.db, 'INSERT INTO notes VALUES (1, ?)', `${MARKER} ${'x'.repeat(100_000)}`);
  t.is(runCli(['--home', site.ctx.home, 'track', '--table', 'notes']).code, 0);
  for (const json of [false, true]) {
    const r = runCli(['--home', site.ctx.home, 'export', '--to', n.drive, '--max-bundle-bytes', '65536', ...(json ? ['--json'] : [])]);
    t.not(r.code, 0, 'refused');
    noMarkerIn(t, `ferry export${json ? ' --json' : ''}`, r);
    if (json) t.is(r.json.error.code, 'record-too-large');
  }
  for (const args of [['log'], ['log', '--json'], ['status'], ['status', '--json']]) noMarkerIn(t, `ferry ${args.join(' ')}`, runCli(['--home', site.ctx.home, ...args]));
  for (const f of filesUnder(site.ctx.home)) noMarker(t, f, readFileSync(f).toString('latin1'));
});
