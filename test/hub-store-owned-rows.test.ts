/** The facility-owned rows of two facilities, through the store API alone: the same on both stores. */
import test from 'ava';
import type { PayloadRecord, TableRecord } from '../src/format/records.js';
import type { EncodedValue } from '../src/format/values.js';
import { table } from './helpers/bundles.js';
import { applyAs, rowsOf, storeKinds, storeOf } from './helpers/hub-store.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const EARLIER = NOW.getTime() - 3_600_000;
const insert = (t: TableRecord, origin: string, seq: number, row: EncodedValue[], wall = EARLIER): PayloadRecord => ({ kind: 'change', origin, seq, clock: [wall, 0], table: t.table, op: 'insert', row });
const patient = table('patient', [['patient_id', 'INTEGER'], ['name', 'TEXT']], ['patient_id']);

for (const kind of storeKinds()) {
  test(`${kind}: two facilities' rows with the same keys are two rows, each under its facility, with its own applied ranges`, async (t) => {
    const { store } = await storeOf(kind, t, NOW);
    const a = await applyAs(store, 'RW-A', [patient, insert(patient, 'RW-A', 1, [1, 'Alice']), insert(patient, 'RW-A', 2, [2, 'Bob'])], NOW);
    const b = await applyAs(store, 'RW-B', [patient, insert(patient, 'RW-B', 1, [1, 'Claire'])], NOW);
    t.deepEqual(a.counts, { applied: 2, already_present: 0, conflicts: 0, rejected: 0 });
    t.deepEqual(b.counts, { applied: 1, already_present: 0, conflicts: 0, rejected: 0 });
    t.deepEqual(await rowsOf(store, 'patient'), [
      { ferry_origin: 'RW-A', patient_id: 1, name: 'Alice' },
      { ferry_origin: 'RW-A', patient_id: 2, name: 'Bob' },
      { ferry_origin: 'RW-B', patient_id: 1, name: 'Claire' },
    ]);
    t.deepEqual(await store.rowsByFacility(), [
      { table: 'patient', scope: 'facility', origin: 'RW-A', rows: 2 },
      { table: 'patient', scope: 'facility', origin: 'RW-B', rows: 1 },
    ]);
    t.deepEqual(await store.appliedRanges('RW-A'), [[1, 2]]);
  });
}
