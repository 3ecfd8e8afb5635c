/** A hub and a facility that trust each other, the facility tracking an empty `encounters` table shaped like BENCH_COLUMNS. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { makeContext, type OpContext } from '../../node/context.js';
import { showIdentity } from '../../node/identity.js';
import { initNode } from '../../node/init.js';
import { track } from '../../facility/track.js';
import { trustPeer } from '../../node/trust.js';
import { BENCH_COLUMNS } from './rows.js';

export const ENCOUNTERS_DDL = `CREATE TABLE encounters (${BENCH_COLUMNS.map(([c, t]) => `"${c}" ${t}`).join(', ')}, PRIMARY KEY ("Id"))`;

export function createEncountersDb(path: string): void {
  const d = new Database(path);
  d.pragma('journal_mode = WAL');
  d.exec(ENCOUNTERS_DDL);
  d.close();
}

export async function makePair(dir: string, ids: { hub: string; facility: string }): Promise<{ hub: OpContext; fac: OpContext; emr: string }> {
  const hub = makeContext(join(dir, 'hub'));
  const fac = makeContext(join(dir, 'facility'));
  const emr = join(dir, 'emr.db');
  createEncountersDb(emr);
  await initNode(hub, { role: 'hub', id: ids.hub });
  await initNode(fac, { role: 'facility', id: ids.facility, db: emr });
  await showIdentity(hub, { out: join(dir, 'hub.card') });
  await showIdentity(fac, { out: join(dir, 'fac.card') });
  await trustPeer(fac, { card: join(dir, 'hub.card') });
  await trustPeer(hub, { card: join(dir, 'fac.card') });
  await track(fac, { tables: ['encounters'] });
  return { hub, fac, emr };
}
