/**
 * What belongs to a record (src/hub/record-closure.ts), on a small made-up schema held by a fake
 * store: up from the record, down from everything so far, then what those reference without going
 * down again; shared tables never followed; a record past the bound refused with what to do.
 */
import test from 'ava';
import { recordClosure } from '../src/hub/record-closure.js';
import type { HubReference, OutgoingStore } from '../src/store/outgoing-store.js';
import type { EncodedValue } from '../src/format/values.js';

type Row = Record<string, EncodedValue>;
const ref = (table: string, columns: string[], refTable: string, to: string[], refScope: 'facility' | 'shared' = 'facility'): HubReference => ({ table, scope: 'facility', tableKey: [KEYS[table]!], columns, refTable, refScope, to });

/** person 1 and 2; patient 1 (is person 1), 2; encounters of each; obs of each encounter; a provider each encounter references; a shared location. */
const ROWS: Record<string, Row[]> = {
  person: [{ person_id: 1 }, { person_id: 2 }],
  patient: [{ patient_id: 1 }, { patient_id: 2 }],
  encounter: [
    { encounter_id: 10, patient_id: 1, provider_id: 7, location_id: 3 },
    { encounter_id: 11, patient_id: 1, provider_id: 8, location_id: 3 },
    { encounter_id: 20, patient_id: 2, provider_id: 7, location_id: 3 },
  ],
  obs: [
    { obs_id: 100, encounter_id: 10, person_id: 1 },
    { obs_id: 101, encounter_id: 11, person_id: 1 },
    { obs_id: 200, encounter_id: 20, person_id: 2 },
  ],
  provider: [{ provider_id: 7 }, { provider_id: 8 }],
  identifier: [{ identifier_id: 50, patient_id: 1 }],
  location: [{ location_id: 3 }],
};
const KEYS: Record<string, string> = { person: 'person_id', patient: 'patient_id', encounter: 'encounter_id', obs: 'obs_id', provider: 'provider_id', location: 'location_id', identifier: 'identifier_id' };
const REFS = [
  ref('patient', ['patient_id'], 'person', ['person_id']),
  ref('encounter', ['patient_id'], 'patient', ['patient_id']),
  ref('encounter', ['provider_id'], 'provider', ['provider_id']),
  ref('encounter', ['location_id'], 'location', ['location_id'], 'shared'),
  ref('obs', ['encounter_id'], 'encounter', ['encounter_id']),
  ref('obs', ['person_id'], 'person', ['person_id']),
  ref('identifier', ['patient_id'], 'patient', ['patient_id']),
];

function fakeStore(refs = REFS): Pick<OutgoingStore, 'references' | 'rowsWhere'> & { lookups: number } {
  const store = {
    lookups: 0,
    references: async () => refs,
    rowsWhere: async (table: string, _origin: string | null, columns: string[], values: EncodedValue[]) => {
      store.lookups++;
      return (ROWS[table] ?? []).filter((r) => columns.every((c, i) => r[c] === values[i])).map((row) => ({ key: [row[KEYS[table]!]!], row }));
    },
  };
  return store;
}

const root = (table: string, id: number) => ({ table, key: [id], row: ROWS[table]!.find((r) => r[KEYS[table]!] === id)! });
const keysOf = (rows: Array<{ table: string; key: EncodedValue[] }>) => rows.map((r) => `${r.table}:${r.key.join()}`).sort();

test('a patient: its person, its encounters and their observations, and the providers they name; not the other patient, not the shared location', async (t) => {
  const r = await recordClosure(fakeStore(), 'RW-017', root('patient', 1));
  t.deepEqual(keysOf(r.rows), ['encounter:10', 'encounter:11', 'identifier:50', 'obs:100', 'obs:101', 'patient:1', 'person:1', 'provider:7', 'provider:8']);
  t.deepEqual(r.tables, { patient: 1, person: 1, identifier: 1, encounter: 2, obs: 2, provider: 2 });
  const byIdentifier = await recordClosure(fakeStore(), 'RW-017', root('identifier', 50));
  t.deepEqual(keysOf(byIdentifier.rows), keysOf(r.rows), 'an identifier leads to its patient\'s whole record (a request by the number on a card)');
});

test('an encounter references its patient and its provider: it is a record itself; the provider\'s other encounters (another patient\'s) never come in', async (t) => {
  const r = await recordClosure(fakeStore(), 'RW-017', root('encounter', 20));
  t.deepEqual(keysOf(r.rows), ['encounter:20', 'obs:200', 'patient:2', 'person:2', 'provider:7'], 'the encounter, what hangs off it, and what it references as context');
});

test('a row that details one other (an identifier, a patient that is a person) leads to the record it belongs to', async (t) => {
  const r = await recordClosure(fakeStore(), 'RW-017', root('obs', 100));
  // obs 100 references encounter 10 and person 1: two rows, so it is the record; what references it: nothing
  t.deepEqual(keysOf(r.rows), ['encounter:10', 'obs:100', 'patient:1', 'person:1', 'provider:7']);
  const p = await recordClosure(fakeStore(), 'RW-017', root('patient', 2));
  t.deepEqual(keysOf(p.rows), ['encounter:20', 'obs:200', 'patient:2', 'person:2', 'provider:7'], 'patient 2 is person 2: the anchor; everything of person 2 and patient 2, and no row of patient 1');
});

test('a table whose schema declares no foreign key travels as the row named', async (t) => {
  const r = await recordClosure(fakeStore([]), 'RW-017', root('patient', 1));
  t.deepEqual(keysOf(r.rows), ['patient:1']);
});

test('a record past the bound is refused with what to do, never a bug', async (t) => {
  const e = await t.throwsAsync(recordClosure(fakeStore(), 'RW-017', root('patient', 1), { maxRows: 4 }));
  t.like(e, { code: 'record-too-large', kind: 'usage' });
  t.regex(e!.message, /more than 4 rows belong to it/);
  t.regex((e as unknown as { hint: string }).hint, /--all-from/);
});
