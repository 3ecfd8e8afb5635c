/**
 * Changes the hub rejects wait at their facility until the cause is fixed, and the operator must
 * be told why and what to do: `ferry import` says each reason once under its bundle (text and
 * --json, first import and a re-import alike), and hub `ferry status` lists what still waits per
 * facility, table and reason with the attempts. Never a row value: the reasons name tables, key
 * columns and seqs only. The documents are checked against their schemas here, rejections and all.
 */
import test, { type ExecutionContext } from 'ava';
import AjvModule, { type Options } from 'ajv';
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type nacl from 'tweetnacl';
import type { PayloadRecord } from '../src/format/records.js';
import { makeContext, type OpContext } from '../src/node/context.js';
import { withSession } from '../src/node/node-session.js';
import { fixedPassphrase } from '../src/node/passphrase.js';
import { tableRecord, writeBundle, type TestKeys } from './helpers/bundles.js';
import { makeNetwork, ROOT, runCli, sql, TEST_PASSPHRASE, type CliResult } from './helpers/env.js';

const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: Options) => InstanceType<typeof AjvModule.default>;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
for (const file of ['manifest', 'identity', 'change-record']) ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schemas', `${file}.schema.json`), 'utf8')));
for (const file of readdirSync(join(ROOT, 'schemas', 'cli'))) ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schemas', 'cli', file), 'utf8')));

/** A --json document, checked against its command's schema. */
function documentOf(t: ExecutionContext, command: string, r: CliResult): any {
  t.truthy(r.json, `${command} --json printed no document: ${r.stdout}${r.stderr}`);
  const validate = ajv.getSchema(`https://ferry.example/schemas/cli/${command}.schema.json`)!;
  t.true(validate(r.json), `${command} --json against its schema: ${ajv.errorsText(validate.errors)}`);
  return r.json;
}

const SCOPE_REASON = /table location is shared at this hub but facility-owned at the sender; its changes wait at the facility until the scope is the same at both \(docs\/OPERATIONS\.md "Changing a table's scope"\)/;

test('a table sent with another scope than the hub\'s: import and status say which changes wait, why, and what to do', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  const [a, b] = n.sites as [(typeof n.sites)[0], (typeof n.sites)[0]];
  const H = ['--home', n.hub.home];
  // RW-001 makes location shared at the hub; RW-002 tracks it as its own (the default).
  for (const s of [a, b]) sql(s.db, 'CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT)');
  sql(a.db, "INSERT INTO location VALUES ('loc-1', 'Kigali')");
  t.is(runCli(['--home', a.ctx.home, 'track', '--table', 'location', '--shared']).code, 0);
  t.is(runCli(['--home', a.ctx.home, 'export', '--to', n.drive]).code, 0);
  t.is(runCli([...H, 'import', '--from', n.drive]).code, 0);
  for (const [uuid, name] of [['loc-2', 'Huye'], ['loc-3', 'Musanze'], ['loc-4', 'Rubavu']]) sql(b.db, 'INSERT INTO location VALUES (?, ?)', uuid, name);
  t.is(runCli(['--home', b.ctx.home, 'track', '--table', 'location']).code, 0);
  t.is(runCli(['--home', b.ctx.home, 'export', '--to', n.drive]).code, 0);

  const text = runCli([...H, 'import', '--from', n.drive]);
  t.regex(text.stdout, /applied .*from RW-002.*3 rejected/);
  t.regex(text.stdout, new RegExp(`\\n {9}rejected 3 change\\(s\\) of table location \\(changes 1–3\\): ${SCOPE_REASON.source}\\n`), text.stdout);
  t.is(text.stdout.match(/rejected 3 change\(s\)/g)?.length, 1, 'the reason once, not once per change');

  // Imported again: nothing applied, and the bundle still says what it leaves out.
  const again = documentOf(t, 'import', runCli([...H, 'import', '--from', n.drive, '--json']));
  const fromB = again.bundles.find((x: { sender: string }) => x.sender === 'RW-002');
  t.is(fromB.outcome, 'already-applied');
  t.is(fromB.rejections.length, 1);
  t.like(fromB.rejections[0], { table: 'location', changes: 3, first_seq: 1, last_seq: 3 });
  t.regex(fromB.rejections[0].reason, SCOPE_REASON);
  t.is(again.bundles.find((x: { sender: string }) => x.sender === 'RW-001').rejections, undefined, 'a bundle with nothing rejected has no rejections');

  const status = runCli([...H, 'status']);
  t.regex(status.stdout, /rejected changes: 3 \(they wait at their facility/);
  t.regex(status.stdout, new RegExp(`\\n  RW-002: 3 change\\(s\\) of table location \\(changes 1–3\\), tried 1 time\\(s\\), last \\S+: ${SCOPE_REASON.source}\\n`), status.stdout);
  const doc = documentOf(t, 'status', runCli([...H, 'status', '--json']));
  t.is(doc.rejected_changes, 3);
  t.is(doc.rejections.length, 1);
  t.like(doc.rejections[0], { facility: 'RW-002', table: 'location', changes: 3, first_seq: 1, last_seq: 3, attempts: 1 });
  t.regex(doc.rejections[0].reason, SCOPE_REASON);
  for (const out of [text.stdout, JSON.stringify(again), status.stdout, JSON.stringify(doc)]) t.notRegex(out, /Huye|Musanze|Rubavu/, 'no row value');
});

async function realKeys(ctx: OpContext): Promise<TestKeys> {
  const k = await withSession(makeContext(ctx.home, { passphrase: fixedPassphrase(TEST_PASSPHRASE) }), undefined, 'test', (s) => s.nodeKeys());
  const sign: nacl.SignKeyPair = { publicKey: k.identity.signingKey, secretKey: k.signingSecretKey };
  const box: nacl.BoxKeyPair = { publicKey: k.identity.encryptionKey, secretKey: k.encryptionSecretKey };
  return { id: k.identity.id, sign, box, fingerprint: k.identity.fingerprint };
}

const NULL_REASON = /the key id holds an empty \(NULL\) value; such a change can never apply: give the row its key in the facility's EMR \(docs\/OPERATIONS\.md Troubleshooting, "A facility's pending count never reaches 0"\)/;

test('a change whose key is NULL: import and status say so and what to do, without the row\'s values', async (t) => {
  const n = await makeNetwork(t, { emptyDb: true });
  const H = ['--home', n.hub.home];
  const change = (seq: number, row: unknown[]): PayloadRecord =>
    ({ kind: 'change', origin: 'RW-001', seq, clock: [1700000000000 + seq, 0], table: 't', op: 'insert', row }) as PayloadRecord;
  const bundles = join(n.drive, 'FERRY', 'bundles');
  mkdirSync(bundles, { recursive: true });
  const tmp = join(n.root, 'null-key.tmp');
  await writeBundle(tmp, [tableRecord(), change(1, [1, 'fine']), change(2, [null, 'Kibagabaga']), change(3, [null, 'Nyamata'])], {
    sender: await realKeys(n.sites[0]!.ctx),
    recipient: await realKeys(n.hub),
    seed: 7,
    created: new Date(),
  });
  renameSync(tmp, join(bundles, 'RW-001.null-key.ferry-bundle'));

  const first = documentOf(t, 'import', runCli([...H, 'import', '--from', n.drive, '--json']));
  t.like(first.bundles[0], { outcome: 'applied', counts: { applied: 1, already_present: 0, conflicts: 0, rejected: 2 } });
  t.deepEqual(first.bundles[0].rejections.map((r: { table: string; changes: number; first_seq: number; last_seq: number }) => [r.table, r.changes, r.first_seq, r.last_seq]), [['t', 2, 2, 3]]);
  t.regex(first.bundles[0].rejections[0].reason, NULL_REASON);
  const again = runCli([...H, 'import', '--from', n.drive]);
  t.regex(again.stdout, /had it .*\n {9}rejected 2 change\(s\) of table t \(changes 2–3\): the key id holds an empty \(NULL\) value; such a change can never apply/, again.stdout);

  const status = runCli([...H, 'status']);
  t.regex(status.stdout, new RegExp(`\\n  RW-001: 2 change\\(s\\) of table t \\(changes 2–3\\), tried 1 time\\(s\\), last \\S+: ${NULL_REASON.source}\\n`), status.stdout);
  const doc = documentOf(t, 'status', runCli([...H, 'status', '--json']));
  t.like(doc, { rejected_changes: 2 });
  t.like(doc.rejections[0], { facility: 'RW-001', table: 't', changes: 2, first_seq: 2, last_seq: 3, attempts: 1 });
  for (const out of [JSON.stringify(first), again.stdout, status.stdout, JSON.stringify(doc)]) t.notRegex(out, /Kibagabaga|Nyamata/, 'no row value');
});
