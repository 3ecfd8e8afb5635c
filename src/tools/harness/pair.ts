/** A hub and a facility that trust each other, the facility tracking an empty `encounters` table shaped like BENCH_COLUMNS. */
import { join } from 'node:path';
import type { OpContext } from '../../node/context.js';
import { track } from '../../facility/track.js';
import { EmrFixture } from './emr-fixture.js';
import { setUpNetwork } from './network.js';
import { BENCH_COLUMNS } from './rows.js';

export const ENCOUNTERS_DDL = `CREATE TABLE encounters (${BENCH_COLUMNS.map(([c, t]) => `"${c}" ${t}`).join(', ')}, PRIMARY KEY ("Id"))`;

export function createEncountersDb(path: string): void {
  EmrFixture.create(path, ENCOUNTERS_DDL, { wal: true }).close();
}

export async function makePair(dir: string, ids: { hub: string; facility: string }, o: { hubDb?: string } = {}): Promise<{ hub: OpContext; fac: OpContext; emr: string }> {
  const emr = join(dir, 'emr.db');
  createEncountersDb(emr);
  const { hub, sites } = await setUpNetwork(dir, { hub: { id: ids.hub, ...(o.hubDb ? { db: o.hubDb } : {}) }, facilities: [{ id: ids.facility, db: emr }] });
  const fac = sites[0]!.ctx;
  await track(fac, { tables: ['encounters'] });
  return { hub, fac, emr };
}
