/** The verdicts alone: pure functions of a result, the one place where an outcome is decided. */
import test from 'ava';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import type { HubImportResult, BundleReport } from '../src/hub/import-bundles.js';
import { exportVerdict, facilityImportVerdict, hubImportVerdict, stoppedVerdict, watchRunVerdict } from '../src/roles/verdict.js';

const applied: BundleReport = { file: '/d/FERRY/bundles/RW-1.1-9.a.ferry-bundle', sender: 'RW-1', seq: { first: 1, last: 9 }, outcome: 'applied', counts: { applied: 9, already_present: 0, conflicts: 0, rejected: 0 }, ack: '/d/FERRY/acks/a' };
const hub = (o: Partial<HubImportResult>): HubImportResult => ({ role: 'hub', drive: '/d', bundles: [applied], acks_written: ['/d/FERRY/acks/a'], gaps: [], rotations: [], keys_written: [], receipts: [], requests: [], ...o });
const readOnly = { code: 'drive-read-only' as const, kind: 'io' as const, message: 'cannot write to /d/FERRY/acks: the drive is read-only' };

test('hub: all applied and acknowledged is ok and safe to remove', (t) => {
  const v = hubImportVerdict(hub({}));
  t.like(v, { outcome: 'ok', safe_to_remove: true });
  t.is(v.next, undefined);
  t.regex(v.why, /1 applied; 1 signed ack\(s\) written/);
});

test('hub: an ack not written is partial and keeps the drive in, to import it again', (t) => {
  const v = hubImportVerdict(hub({ bundles: [{ ...applied, ack: undefined, ack_error: readOnly } as BundleReport], acks_written: [] }));
  t.like(v, { outcome: 'partial', safe_to_remove: false });
  t.regex(v.why, /^ACK NOT WRITTEN for 1 bundle\(s\): cannot write/);
  t.regex(v.next!, /import it again/);
});

test('hub: a refused key rotation notice is partial, like a refused bundle; the drive may go', (t) => {
  const v = hubImportVerdict(hub({ rotations: [{ file: '/d/FERRY/keys/x.ferry-rotation', outcome: 'refused', reason: { code: 'zip-invalid', kind: 'refused', message: 'junk', hint: 'not a ferry file' } }] }));
  t.like(v, { outcome: 'partial', safe_to_remove: true, next: 'not a ferry file' });
  t.regex(v.why, /^1 key rotation notice\(s\) refused/);
  t.deepEqual(v.notices, [], 'a refusal is listed with the items, as a refused bundle is; it is no news');
  const refused = hubImportVerdict(hub({ bundles: [{ ...applied, outcome: 'refused', reason: { code: 'signer-revoked', kind: 'refused', message: 'revoked' } }] }));
  t.like(refused, { outcome: 'partial', safe_to_remove: true });
});

test('hub: a drive pulled out mid-import is partial and must come back', (t) => {
  const v = hubImportVerdict(hub({ bundles: [{ ...applied, outcome: 'failed', reason: { code: 'drive-io-error', kind: 'io', message: 'gone', hint: 'plug the drive in again' } }], acks_written: [] }));
  t.like(v, { outcome: 'partial', safe_to_remove: false, next: 'plug the drive in again' });
});

test('hub: bundles for other hubs only, gaps and an unwritten notice are said, not failures', (t) => {
  const v = hubImportVerdict(hub({ bundles: [{ ...applied, outcome: 'skipped' }], acks_written: [], gaps: [{ origin: 'RW-1', first: 10, last: 20 }], keys_error: readOnly }));
  t.like(v, { outcome: 'ok', safe_to_remove: true, why: 'no bundles for this hub on the drive' });
  t.is(v.notices.length, 2);
});

const facility = (o: Partial<FacilityImportResult>): FacilityImportResult => ({
  role: 'facility', drive: '/d', acks: [{ file: '/d/FERRY/acks/a', hub: 'HUB', seq: { first: 1, last: 9 }, outcome: 'accepted' }], removed_bundles: [], pruned: 9, pending: 0, rotations: [], received: [], requests_answered: [], ...o,
});

test('facility: acks read with changes still pending is not safe to remove: export now', (t) => {
  const v = facilityImportVerdict(facility({ pending: 180_000 }));
  t.like(v, { outcome: 'ok', safe_to_remove: false, next: 'export to this drive now, then remove it' });
  t.regex(v.why, /changes still pending: export now \(180,000/);
  t.like(facilityImportVerdict(facility({})), { outcome: 'ok', safe_to_remove: true });
});

test('facility: a refused ack is partial; a retired-key ack is not', (t) => {
  const refused = facilityImportVerdict(facility({ acks: [{ file: '/d/a', outcome: 'refused', reason: { code: 'signature-invalid', kind: 'refused', message: 'forged', hint: 'it was not used' } }] }));
  t.like(refused, { outcome: 'partial', safe_to_remove: true, next: 'it was not used' });
  t.like(facilityImportVerdict(facility({ acks: [{ file: '/d/a', outcome: 'retired-key' }] })), { outcome: 'ok' });
});

test('facility: an ack the drive failed to give is not refused: partial, and the drive must come back', (t) => {
  const reason = { code: 'drive-io-error', kind: 'io', message: '/d/a: EIO', hint: 'plug it in again' } as const;
  const v = facilityImportVerdict(facility({ acks: [{ file: '/d/a', outcome: 'failed', reason }] }));
  t.like(v, { outcome: 'partial', safe_to_remove: false, next: 'plug it in again' });
  t.regex(v.why, /the drive failed while its acks were read/);
  t.regex(v.why, /1 could not be read/);
  t.notRegex(v.why, /refused/);
});

test('export: ok and safe once written; a restored EMR is a notice', (t) => {
  const v = exportVerdict({ drive: '/d', hub: 'HUB', pending: 5, written: [], already_on_drive: [], columns_updated: [], warnings: [], keys_written: [], requests_written: [], removed_superseded: [], restore_fence: { counter_was: 1, highest_sent: 9, renumbered: 2, renumbered_from: 10 } });
  t.like(v, { outcome: 'ok', safe_to_remove: true });
  t.regex(v.notices[0]!, /^WARNING: the EMR database went back in time .* 2 change\(s\) made since reused those numbers; they were renumbered from 10 /);
});

test('a stopped operation failed, with its hint as what to do; a cancelled one says so', (t) => {
  t.like(stoppedVerdict('export', { code: 'drive-full', kind: 'io', message: 'full', hint: 'free space' }), { outcome: 'failed', safe_to_remove: true, why: 'Export FAILED: full', next: 'free space' });
  t.is(stoppedVerdict('import', { code: 'cancelled', kind: 'cancelled', message: 'cancelled' }).why, 'Import cancelled: cancelled');
});

test('a bug that stopped an operation says it is a bug and how to report it, and never that nothing changed', (t) => {
  const hint = 'this is a bug in ferry; please report it with the command you ran (FERRY_DEBUG=1 shows the details)';
  for (const op of ['import', 'export'] as const) {
    const v = stoppedVerdict(op, { code: 'internal', kind: 'bug', message: 'internal error: TypeError', hint });
    t.like(v, { outcome: 'failed', next: hint });
    t.regex(v.why, /a bug in ferry/);
    t.regex(v.why, /internal error: TypeError/);
    t.notRegex(v.why, /nothing (was )?changed/i);
  }
  t.regex(stoppedVerdict('import', { code: 'internal', kind: 'bug', message: 'internal error: exit 1' }).next ?? '', /report it/, 'a report hint even when the error has none');
});

test('export: nothing pending, yet the drive may have changed: no "nothing written", and the notice said', (t) => {
  const v = exportVerdict({ drive: '/d', hub: 'HUB', pending: 0, written: [], already_on_drive: [], columns_updated: [], warnings: [], keys_written: ['/d/FERRY/keys/RW-1.A.to.B.ferry-rotation'], requests_written: [], removed_superseded: [] });
  t.like(v, { outcome: 'ok', safe_to_remove: true, why: 'nothing pending: every captured change has been acknowledged by the hub; no bundle written' });
  t.deepEqual(v.notices, ["wrote this node's key rotation notice RW-1.A.to.B.ferry-rotation for HUB"]);
});

test('a watch run is partial when any drive was not ok, even one that failed outright; ok with no drive at all', (t) => {
  const ok = { verdict: hubImportVerdict(hub({})) };
  const failed = { verdict: stoppedVerdict('import', readOnly) };
  t.like(watchRunVerdict([]), { outcome: 'ok' });
  t.like(watchRunVerdict([ok, ok]), { outcome: 'ok', why: '2 drive(s): 2 imported' });
  t.like(watchRunVerdict([ok, failed]), { outcome: 'partial', why: '2 drive(s): 1 imported, 1 failed' });
  t.like(watchRunVerdict([failed]), { outcome: 'partial' });
});
