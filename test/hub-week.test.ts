/**
 * A cron-driven hub left alone for a simulated week: three facilities change their data every
 * day, one courier drive serves the route, the hub runs `ferry watch --once --json` (the cron
 * line of docs/OPERATIONS.md) each day. Day 3 the drive is lost; day 5 a bundle is damaged in
 * transit. At the end the hub holds exactly the facilities' data and nothing is pending.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYNTHEA_TABLES } from '../src/tools/demo/synthea.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import { makeNetwork, runCliAsync, seededRandom, sql } from './helpers/env.js';

test('a week of drives at an unattended hub converges; exit codes tell the script what happened', async (t) => {
  const n = await makeNetwork(t, { facilities: ['RW-001', 'RW-002', 'RW-003'], patients: [(i) => i < 9, (i) => i >= 9 && i < 18, (i) => i >= 18], trackAll: true });
  const media = join(n.root, 'media');
  const usb = join(media, 'COURIER');
  const rnd = seededRandom(2026);
  const pick = (k: number) => rnd(1)[0]! % k;
  const exitCodes: number[] = [];
  for (let day = 1; day <= 7; day++) {
    // The facilities' EMRs at work.
    for (const s of n.sites) {
      const emr = new Database(s.db);
      const patients = emr.prepare('SELECT Id FROM patients').all() as Array<{ Id: string }>;
      for (let k = 0; k < 20; k++) {
        const p = patients[pick(patients.length)]!.Id;
        emr.prepare('INSERT INTO encounters (Id, START, PATIENT, DESCRIPTION, TOTAL_CLAIM_COST) VALUES (?, ?, ?, ?, ?)').run(`${s.id}-d${day}-${k}`, `2026-11-${10 + day}T08:00:00Z`, p, 'Outpatient visit', 12.5 * (k + 1));
      }
      emr.prepare('UPDATE patients SET ADDRESS = ? WHERE Id = ?').run(`Day ${day} street`, patients[pick(patients.length)]!.Id);
      emr.prepare('DELETE FROM observations WHERE rowid IN (SELECT rowid FROM observations LIMIT 2)').run();
      emr.close();
    }
    // The courier's round: facilities first (acks from yesterday, then export), then the hub.
    mkdirSync(usb, { recursive: true });
    for (const s of n.sites) {
      await importDrive(s.ctx, { from: usb });
      await exportChanges(s.ctx, { to: usb });
    }
    if (day === 3) {
      rmSync(usb, { recursive: true, force: true }); // lost on the road
      continue;
    }
    if (day === 5) {
      const dir = join(usb, 'FERRY', 'bundles');
      const victim = join(dir, readdirSync(dir).find((f) => f.startsWith('RW-002'))!);
      const bytes = readFileSync(victim);
      bytes[bytes.length >> 1] ^= 0x55;
      writeFileSync(victim, bytes);
    }
    const cron = await runCliAsync(['--home', n.hub.home, '--wait', '60', 'watch', '--once', '--mount-root', media, '--json']);
    exitCodes.push(cron.code);
    const line = JSON.parse(cron.stdout.trim().split('\n')[0]!);
    t.is(line.command, 'watch');
    if (day === 5) {
      t.is(cron.code, 1, 'the damaged bundle is reported');
      t.true(line.result.bundles.some((b: { outcome: string; reason?: { code: string } }) => b.outcome === 'refused' && b.reason?.code === 'payload-hash-mismatch'));
      rmSync(join(usb, 'FERRY', 'bundles', readdirSync(join(usb, 'FERRY', 'bundles')).find((f) => f.startsWith('RW-002'))!)); // the courier discards it
    } else {
      t.is(cron.code, 0, cron.stdout);
    }
  }
  // The last visit: acks go home; anything still pending makes one more trip.
  for (let round = 0; round < 2; round++) {
    for (const s of n.sites) {
      await importDrive(s.ctx, { from: usb });
      await exportChanges(s.ctx, { to: usb });
    }
    await runCliAsync(['--home', n.hub.home, 'watch', '--once', '--mount-root', media, '--json']);
  }
  for (const s of n.sites) {
    const f = await importDrive(s.ctx, { from: usb });
    t.is(f.role === 'facility' && f.pending, 0, `${s.id} has nothing pending`);
  }
  for (const tb of SYNTHEA_TABLES) {
    const hub = new Database(n.hubDb);
    let facilityRows = 0;
    for (const s of n.sites) {
      hub.prepare('ATTACH DATABASE ? AS fac').run(s.db);
      const cols = (hub.prepare('SELECT name FROM pragma_table_info(?, ?)').all(tb.name, 'fac') as Array<{ name: string }>).map((c) => `typeof("${c.name}"), quote("${c.name}")`).join(', ');
      // Every Synthea table is facility-owned here: the facility's rows are its own rows at the hub.
      const missing = (hub.prepare(`SELECT count(*) AS n FROM (SELECT ${cols} FROM fac."${tb.name}" EXCEPT SELECT ${cols} FROM main."${tb.name}" WHERE ferry_origin = ?)`).get(s.id) as { n: number }).n;
      t.is(missing, 0, `${s.id}.${tb.name} fully at the hub`);
      facilityRows += (hub.prepare(`SELECT count(*) AS n FROM fac."${tb.name}"`).get() as { n: number }).n;
      hub.prepare('DETACH DATABASE fac').run();
    }
    hub.close();
    const atHub = sql<{ n: number }>(n.hubDb, `SELECT count(*) AS n FROM "${tb.name}"`)[0]!.n;
    t.is(atHub, facilityRows, `${tb.name}: nothing extra at the hub (deletes applied), and the organisations all three hold are each facility's own`);
  }
  t.deepEqual(exitCodes, [0, 0, 0, 1, 0, 0]);
  t.deepEqual(sql(n.hubDb, 'SELECT count(*) AS n FROM ferry_conflicts'), [{ n: 0 }], 'facility-owned rows never conflict');
  const st = await runCliAsync(['--home', n.hub.home, 'status', '--json']);
  t.deepEqual(st.json.gaps, []);
  t.is(st.json.quarantined.length, 1);
});
