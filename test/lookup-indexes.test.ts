/**
 * The indexes a hub makes for lookups are bounded: a facility (or whoever holds its key) that
 * declares dozens of foreign keys on a table, or asks by many columns, gets its references kept
 * but at most MAX_LOOKUP_INDEXES indexes on that table, so every facility's imports into it stay
 * as fast as they were.
 */
import test from 'ava';
import { join } from 'node:path';
import { ensureTable, openHubDb } from '../src/store/sqlite/hub-db.js';
import { hubReferences, indexForLookup, noteReferences } from '../src/store/sqlite/outgoing.js';
import { MAX_LOOKUP_INDEXES } from '../src/store/outgoing-store.js';
import type { TableRecord } from '../src/format/records.js';
import { tempDir } from './helpers/env.js';

test('a table with 20 declared foreign keys keeps all 20 references but at most the cap of indexes; a requested column then finds the cap full', (t) => {
  const db = openHubDb(join(tempDir(t), 'hub.db'), { create: true });
  t.teardown(() => db.close());
  const columns = [{ name: 'id', type: 'INTEGER' }, ...Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, type: 'INTEGER' }))];
  const record: TableRecord = { kind: 'table', table: 'visit', columns, key: ['id'], scope: 'facility' };
  const ensured = ensureTable(db, record);
  t.false('refused' in ensured);
  noteReferences(db, 'visit', 'facility', columns.slice(1).map((c) => ({ columns: [c.name], table: 'visit', to: ['id'] })));
  t.is(hubReferences(db).length, 20, 'every reference is kept');
  const indexes = () => (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'visit' AND name LIKE 'ferry%'").all() as Array<{ name: string }>).map((r) => r.name);
  t.is(indexes().length, MAX_LOOKUP_INDEXES);
  indexForLookup(db, 'visit', 'c19');
  t.is(indexes().length, MAX_LOOKUP_INDEXES, 'no index beyond the cap for a requested column either');
});

test('a requested column is indexed once, and only on a facility-owned table', (t) => {
  const db = openHubDb(join(tempDir(t), 'hub.db'), { create: true });
  t.teardown(() => db.close());
  ensureTable(db, { kind: 'table', table: 'patient_identifier', columns: [{ name: 'id', type: 'INTEGER' }, { name: 'identifier', type: 'TEXT' }], key: ['id'], scope: 'facility' });
  ensureTable(db, { kind: 'table', table: 'location', columns: [{ name: 'uuid', type: 'TEXT' }, { name: 'name', type: 'TEXT' }], key: ['uuid'], scope: 'shared' });
  indexForLookup(db, 'patient_identifier', 'IDENTIFIER');
  indexForLookup(db, 'patient_identifier', 'identifier');
  indexForLookup(db, 'location', 'name');
  const indexes = db.prepare("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ferry_req%' ORDER BY name").all();
  t.deepEqual(indexes, [{ tbl_name: 'patient_identifier', name: 'ferry_req_patient_identifier_identifier' }]);
  t.deepEqual(db.prepare("SELECT name FROM pragma_index_info('ferry_req_patient_identifier_identifier')").all(), [{ name: 'ferry_origin' }, { name: 'identifier' }]);
});
