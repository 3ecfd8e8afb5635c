/**
 * The --json contract (README, "Scripts"): every command's document matches its schema in
 * schemas/cli/, failures match schemas/cli/error.schema.json, and every key ferry chooses is
 * snake_case (keys that are data, such as a row's column names, are left as they are).
 */
import test, { type ExecutionContext } from 'ava';
import AjvModule, { type Options, type ValidateFunction } from 'ajv';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../src/cli/main.js';
import { makeNetwork, ROOT, sql, tempDir, TEST_PASSPHRASE } from './helpers/env.js';
import { hubWithHostileConflict } from './helpers/hostile.js';
import { copyHubV1 } from './helpers/hub-v1.js';

type AjvInstance = InstanceType<typeof AjvModule.default>;
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: Options) => AjvInstance;

const SCHEMAS = join(ROOT, 'schemas');
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
for (const file of ['manifest', 'identity', 'change-record']) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, `${file}.schema.json`), 'utf8')));
for (const file of readdirSync(join(SCHEMAS, 'cli'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, 'cli', file), 'utf8')));
const schemaOf = (name: string): ValidateFunction => ajv.getSchema(`https://ferry.example/schemas/cli/${name}.schema.json`)!;

/** Every command, as its file in src/cli/commands names it. */
const COMMANDS = readdirSync(join(ROOT, 'src', 'cli', 'commands')).filter((f) => f !== 'index.ts').map((f) => f.replace(/\.ts$/, ''));
/** Commands whose only document is the error document (the TUI draws on a terminal). */
const NO_DOCUMENT = ['tui'];

/**
 * Where keys are data and not ferry's words: a row's column names, table names, node ids, error
 * codes. A path is the document's keys from the top, `*` for any array index or map key.
 */
const DATA_MAPS = ['tables', 'transfer.received', 'conflicts.*.current.row', 'conflicts.*.other.row', 'items.*.tables', 'homes', 'hub_rows', 'pending_after', 'entries.*.detail.codes', 'entries.*.detail.quarantine'];
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

function keysNotSnake(value: unknown, path: string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => keysNotSnake(v, [...path, '*']));
  if (value === null || typeof value !== 'object') return [];
  const isData = DATA_MAPS.includes(path.join('.'));
  return Object.entries(value).flatMap(([k, v]) => [...(isData || SNAKE.test(k) ? [] : [[...path, k].join('.')]), ...keysNotSnake(v, [...path, isData ? '*' : k])]);
}

const validated = new Map<string, number>();
// main() listens for EPIPE on stdout once per run.
process.stdout.setMaxListeners(100);

/** Run `ferry ARGS --json` in this process, check the document(s), and return them. */
async function ferry(t: ExecutionContext, args: string[], o: { expect?: 'ok' | 'error'; env?: Record<string, string> } = {}): Promise<any[]> {
  let stdout = '';
  const sink = (onData?: (s: string) => void) => new Writable({ write: (chunk, _enc, done) => (onData?.(String(chunk)), done()) });
  const saved = { ...process.env };
  Object.assign(process.env, o.env ?? {});
  let code: number;
  try {
    code = await main([...args, '--json'], { stdout: sink((s) => (stdout += s)), stderr: sink() });
  } finally {
    process.env = saved;
    process.exitCode = 0;
  }
  const command = args.find((a) => COMMANDS.includes(a))!;
  // watch prints one document per line; every other command one document.
  const docs = command === 'watch' && o.expect !== 'error' ? stdout.trim().split('\n').map((l) => JSON.parse(l)) : [JSON.parse(stdout)];
  t.true(docs.length > 0, `${args.join(' ')}: no document`);
  for (const doc of docs) {
    const failed = o.expect === 'error';
    // A watch line may say ok: false for one drive that failed; the watch itself went on.
    if (command !== 'watch' || failed) t.is(doc.ok, !failed, `${args.join(' ')} (exit ${code}): ${stdout}`);
    const name = failed ? 'error' : command;
    const validate = schemaOf(name);
    t.truthy(validate, `schemas/cli/${name}.schema.json`);
    t.true(validate(doc), `${args.join(' ')} against ${name}.schema.json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(doc).slice(0, 2000)}`);
    t.deepEqual(keysNotSnake(doc), [], `${args.join(' ')}: keys not in snake_case`);
    validated.set(name, (validated.get(name) ?? 0) + 1);
  }
  return docs;
}

test.serial('every command\'s --json document matches its schema, with snake_case keys', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'] });
  const [site, other] = n.sites;
  const F = ['--home', site!.ctx.home];
  const H = ['--home', n.hub.home];
  const media = join(n.root, 'media');
  const drive = join(media, 'USB');
  mkdirSync(drive, { recursive: true });

  await ferry(t, ['--home', join(n.root, 'hub-2'), 'init', '--role', 'hub', '--id', 'HUB-2']);
  await ferry(t, [...F, 'identity', '--out', join(n.root, 'again.card.json')]);
  await ferry(t, [...H, 'trust', site!.card]);
  await ferry(t, [...F, 'track', '--table', 'patients']);
  await ferry(t, [...F, 'status']);
  sql(site!.db, 'ALTER TABLE patients ADD COLUMN phone TEXT');
  const [drifted] = await ferry(t, [...F, 'status']);
  t.deepEqual(drifted.tracking_needs_refresh, ['patients'], 'a table whose columns changed is reported, in its schema');
  const [exported] = await ferry(t, [...F, 'export', '--to', drive]);
  t.is(exported.verdict.outcome, 'ok');
  await ferry(t, [...F, 'inspect', drive]);
  const [hubImport] = await ferry(t, [...H, 'import', '--from', drive]);
  t.is(hubImport.bundles[0].outcome, 'applied');
  await ferry(t, [...H, 'watch', '--once', '--mount-root', media]);
  const [read] = await ferry(t, [...F, 'import', '--from', drive]);
  t.is(read.role, 'facility');
  const [watched] = await ferry(t, [...F, 'watch', '--once', '--mount-root', media]);
  t.is(watched.result.role, 'facility');
  await ferry(t, [...H, 'status']);
  // Records travel back: a send, the standing sends, the hub's export, a facility's request.
  const [dry] = await ferry(t, [...H, 'send', '--to', other!.id, '--all-from', site!.id, '--dry-run']);
  t.true(dry.rows > 0 && dry.dry_run);
  await ferry(t, [...H, 'send', '--to', other!.id, '--from-facility', site!.id, '--table', 'patients', '--where', `Id=${sql<{ Id: string }>(site!.db, 'SELECT Id FROM patients LIMIT 1')[0]!.Id}`, '--reason', 'transfer']);
  await ferry(t, [...H, 'sends']);
  const hubDrive = join(n.root, 'hub-drive');
  mkdirSync(hubDrive);
  const [out] = await ferry(t, [...H, 'export', '--to', hubDrive]);
  t.deepEqual(out.facilities.map((f: { facility: string }) => f.facility), [other!.id], 'RW-001 sent RW-002 everything it has; no shared table here');
  await ferry(t, [...H, 'send', '--to', other!.id, '--stop', '--table', 'patients']);
  await ferry(t, [...H, 'requests', 'policy', 'approve']);
  await ferry(t, [...F, 'request', '--table', 'patients', '--where', 'Id=someone', '--reason', 'transfer', '--to', hubDrive]);
  await ferry(t, [...F, 'requests']);
  await ferry(t, [...H, 'import', '--from', hubDrive]);
  const [held] = await ferry(t, [...H, 'requests']);
  t.is(held.requests.length, 1);
  await ferry(t, [...H, 'requests', 'deny', String(held.requests[0].id), '--reason', 'unknown patient']);
  const [current] = await ferry(t, [...H, 'migrate']);
  t.false(current.migrated, 'a hub init made is at the current version');
  const [migrated] = await ferry(t, ['--home', copyHubV1(t).hub.home, 'migrate', '--shared', 'location']);
  t.like(migrated, { migrated: true, from_version: 1 });
  const [rescoped] = await ferry(t, [...H, 'rescope', '--table', 'patients', '--scope', 'shared']);
  t.like(rescoped, { changed: true, to_scope: 'shared' });
  await ferry(t, [...H, 'log']);
  await ferry(t, [...F, 'untrack', '--table', 'patients']);
  await ferry(t, [...F, 'rotate-keys', '--drive', drive]);
  await ferry(t, [...H, 'revoke', site!.id, '--reason', 'test']);
  await ferry(t, [...F, 'passphrase'], { env: { FERRY_NEW_PASSPHRASE: `${TEST_PASSPHRASE} 2` } });

  const c = await hubWithHostileConflict(t);
  const [list] = await ferry(t, ['--home', c.hub.home, 'conflicts']);
  t.is(list.conflicts.length, 1);
  t.true(Object.keys(list.conflicts[0].current.row).includes('FIRST'), 'column names are data, kept as the EMR spells them');
  await ferry(t, ['--home', c.hub.home, 'conflicts', 'resolve', String(list.conflicts[0].id), '--keep', 'other']);

  await ferry(t, ['demo', '--dir', join(tempDir(t), 'demo')]);

  await ferry(t, [...F, 'export', '--to', join(n.root, 'no-such-drive')], { expect: 'error' });
  await ferry(t, ['--home', join(n.root, 'nobody'), 'status'], { expect: 'error' });
  await ferry(t, [...H, 'tui'], { expect: 'error' });
  await ferry(t, ['watch', '--once', '--no-such-flag'], { expect: 'error' });

  for (const command of COMMANDS.filter((x) => !NO_DOCUMENT.includes(x))) t.true(validated.has(command), `${command} --json was not checked`);
  t.true(validated.has('error'));
});

test('the snake_case check finds camelCase outside data maps, and leaves data maps alone', (t) => {
  t.deepEqual(keysNotSnake({ removedBundles: [], ok: true, items: [{ tables: { MyTable: 1 }, checkedBy: 'x' }] }), ['removedBundles', 'items.*.checkedBy']);
  t.deepEqual(keysNotSnake({ conflicts: [{ current: { row: { FIRST: 'a', lastName: 'b' } } }] }), []);
});
