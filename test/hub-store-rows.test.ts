/**
 * The hub store's rows of a table (HubStore.rows), which the harnesses compare with the
 * facilities' rows instead of reading the hub's tables: every row once, in key order, across
 * pages, values with their storage class; and the comparison sees a row that differs.
 */
import test from 'ava';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import { withSession } from '../src/node/node-session.js';
import { importDrive } from '../src/roles/import.js';
import { SYNTHEA_TABLES } from '../src/tools/demo/synthea.js';
import { EmrFixture } from '../src/tools/harness/emr-fixture.js';
import { compareHubRows } from '../src/tools/harness/hub-rows.js';
import { makePair } from '../src/tools/harness/pair.js';
import { BENCH_COLUMNS, benchRows } from '../src/tools/harness/rows.js';
import { makeNetwork, tempDir } from './helpers/env.js';
import { mkdirSync } from 'node:fs';
import { hasPostgres, storeKinds, usePostgres, type StoreKind } from './helpers/postgres.js';

const postgres = hasPostgres() ? usePostgres(test) : undefined;

const hubDb = async (kind: StoreKind) => (kind === 'postgres' ? (await postgres!()).createDatabase('rows') : undefined);

for (const kind of storeKinds()) {
test(`${kind}: a table of 2,500 rows reads back whole from the hub store, in key order, and matches the facility row for row`, async (t) => {
  const dir = tempDir(t);
  const db = await hubDb(kind);
  const { hub, fac, emr } = await makePair(dir, { hub: 'HUB-1', facility: 'RW-001' }, db ? { hubDb: db } : {});
  EmrFixture.with(emr, (db) => db.insert('encounters', BENCH_COLUMNS.map(([c]) => c), benchRows(2500)));
  const drive = join(dir, 'drive');
  mkdirSync(drive);
  await exportChanges(fac, { to: drive });
  await importDrive(hub, { from: drive });

  const ids = await withSession(hub, 'hub', 'test', async (s) => {
    const out: string[] = [];
    for await (const row of s.hubStore().rows('ENCOUNTERS')) out.push(row.Id as string);
    return out;
  });
  t.is(ids.length, 2500);
  t.deepEqual(ids, [...ids].sort(), 'in key order: no page read twice or skipped');
  t.is(new Set(ids).size, 2500);
  t.like(await compareHubRows(hub, 'encounters', [{ id: 'RW-001', db: emr }]), { missing: 0, extra: 0, facilityRows: 2500, hubRows: 2500 });

  // An edit the hub has not seen: one facility row missing at the hub, one hub row the facility lacks.
  EmrFixture.with(emr, (db) => db.appendToRandomRows('encounters', 'DESCRIPTION', ' (edited)', 1));
  t.like(await compareHubRows(hub, 'encounters', [{ id: 'RW-001', db: emr }]), { missing: 1, extra: 1, facilityRows: 2500, hubRows: 2500 });
});

test(`${kind}: composite keys, REAL and NULL values: the Synthea tables at the hub are the facility rows`, async (t) => {
  const db = await hubDb(kind);
  const n = await makeNetwork(t, { trackAll: true, ...(db ? { hubDb: db } : {}) });
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await importDrive(n.hub, { from: n.drive });
  for (const table of SYNTHEA_TABLES) {
    const c = await compareHubRows(n.hub, table.name, [n.sites[0]!]);
    t.true(c.hubRows > 0, table.name);
    t.deepEqual({ missing: c.missing, extra: c.extra }, { missing: 0, extra: 0 }, table.name);
  }
});
}
