/**
 * Issue 16 through the real CLI (scripts/openmrs-transfer.sh, the commands docs/OPERATIONS.md
 * shows): RW-017's patient 5 arrives at RW-021, whose officer asks for the record by the
 * identifier on the card; one courier round later RW-021's received database holds it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, sql, tempDir } from './helpers/env.js';

test('scripts/openmrs-transfer.sh: a request by identifier, answered by the hub, brings the patient\'s record to the next facility', (t) => {
  const dir = tempDir(t, 'ferry-transfer-cli-');
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'openmrs-transfer.sh'), dir], { encoding: 'utf8', env: { ...process.env, FERRY_HOME: '' } });
  t.is(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr}`);
  t.regex(r.stdout, /would send RW-017's patient record and what belongs to it to RW-021: 11 row\(s\) now \(.*obs 5.*\); nothing was queued/);
  t.regex(r.stdout, /^ {2}OK +request RW-021\.to\.HUB-KGL\.[0-9a-f]{16}\.ferry-request$/m, 'inspect lists the request on the drive');
  t.regex(r.stdout, /RW-021 -> HUB-KGL +a record request \(what it asks for is sealed to the hub\)/);
  const courier = r.stdout.slice(r.stdout.indexOf('$ ferry inspect drive'), r.stdout.indexOf('$ ferry --home hub import'));
  t.false(courier.includes('RW-MUH-017-000005'), 'the identifier asked for is not on the courier\'s screen');
  t.regex(r.stdout, /^ {2}request {2}#1 from RW-021: answered$/m);
  t.regex(r.stdout, /^ {2}received HUB-KGL\.to\.RW-021\.1-\d+\.[0-9a-f]+\.ferry-bundle: \d+ row\(s\) from the hub into the received database$/m);
  t.regex(r.stdout, /^ {2}receipt {2}RW-021\.to\.HUB-KGL\.[^:]+: RW-021 holds \d+ more row\(s\) sent to it$/m);
  t.regex(r.stdout, /^ {4}obs +from RW-017: 5 row\(s\)/m);
  t.regex(r.stdout, /^RW-017\|5\|RW-MUH-017-000005\|Esther\|Mutesi\|2\|5$/m, 'sqlite3 on received.db shows the transferred patient');
  // The patient's own centre still has its patient 5; RW-021's EMR was not touched.
  t.deepEqual(sql(join(dir, 'rw-021.db'), "SELECT count(*) AS n FROM patient_identifier WHERE identifier LIKE 'RW-MUH-%'"), [{ n: 0 }]);
});
