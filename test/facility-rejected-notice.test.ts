/**
 * A change the hub received and could not apply stays pending at its facility, which would
 * otherwise look exactly like a drive not yet delivered: reading the hub's ack says so, and
 * where the reason is.
 */
import test from 'ava';
import { exportChanges } from '../src/facility/export.js';
import type { FacilityImportResult } from '../src/facility/read-acks.js';
import { track } from '../src/facility/track.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { importDrive } from '../src/roles/import.js';
import { facilityImportVerdict } from '../src/roles/verdict.js';
import { makeNetwork, sql } from './helpers/env.js';

test('a facility reading an ack that rejected some of its changes is told they stay pending and that the hub says why', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002'], emptyDb: true });
  const [a, b] = n.sites;
  for (const s of n.sites) {
    sql(s.db, 'CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT)');
    sql(s.db, 'CREATE TABLE visit (visit_id INTEGER PRIMARY KEY, note TEXT)');
    sql(s.db, "INSERT INTO location VALUES ('loc-1', 'Ward A')");
    sql(s.db, "INSERT INTO visit (note) VALUES ('first')");
  }
  // RW-001 makes location shared at the hub; RW-002 tracks it facility-owned: a scope mismatch.
  await track(a!.ctx, { tables: ['location'], shared: true });
  await track(b!.ctx, { tables: ['location', 'visit'] });
  for (const s of n.sites) await exportChanges(s.ctx, { to: n.drive });
  const hub = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.deepEqual(hub.bundles.map((x) => x.counts?.rejected), [0, 1]);

  const read = (await importDrive(b!.ctx, { from: n.drive })) as FacilityImportResult;
  const ack = read.acks.find((k) => k.outcome === 'accepted');
  t.is(ack?.rejected, 1);
  t.is(read.pending, 1, 'the rejected change stays pending; the visit was confirmed');
  const v = facilityImportVerdict(read);
  t.true(v.notices.some((x) => /the hub could not apply 1 change\(s\).*stay pending.*ferry status` at the hub says why/.test(x)), v.notices.join('\n'));

  // Read again: the same ack is not news a second time.
  const again = (await importDrive(b!.ctx, { from: n.drive })) as FacilityImportResult;
  t.false(facilityImportVerdict(again).notices.some((x) => /could not apply/.test(x)));
});
