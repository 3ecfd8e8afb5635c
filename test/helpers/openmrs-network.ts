/** OpenMRS-shaped networks for the tests: a hub and health centres whose integer ids collide (fixtures/openmrs). */
import type { ExecutionContext } from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportChanges } from '../../src/facility/export.js';
import type { HubImportResult } from '../../src/hub/import-bundles.js';
import type { FacilityImportResult } from '../../src/facility/read-acks.js';
import { importDrive } from '../../src/roles/import.js';
import type { OpContext } from '../../src/node/context.js';
import { setUpNetwork, type NetworkSite } from '../../src/tools/harness/network.js';
import { buildOpenmrsEmr, openmrsSite, trackOpenmrs } from '../../src/tools/harness/openmrs.js';
import { tempDir } from './env.js';
import { withSession } from '../../src/node/node-session.js';

export interface OpenmrsNetwork {
  root: string;
  hub: OpContext;
  hubDb: string;
  sites: NetworkSite[];
  site: (id: string) => NetworkSite;
  /** a new empty drive folder */
  drive: (name: string) => string;
}

/** `hubDb`: a PostgreSQL URL for a hub on PostgreSQL; by default a SQLite hub.db in the hub's home. */
export async function openmrsNetwork(t: ExecutionContext, ids: string[], o: { hubDb?: string } = {}): Promise<OpenmrsNetwork> {
  const root = tempDir(t, 'ferry-openmrs-');
  const facilities = ids.map((id) => {
    const db = join(root, `${id.toLowerCase()}-openmrs.db`);
    buildOpenmrsEmr(db, openmrsSite(id));
    return { id, db };
  });
  const n = await setUpNetwork(root, { hub: { id: 'HUB-KGL', name: 'Kigali hub', ...(o.hubDb ? { db: o.hubDb } : {}) }, facilities });
  for (const s of n.sites) await trackOpenmrs(s.ctx);
  return {
    root,
    hub: n.hub,
    hubDb: o.hubDb ?? join(root, 'hub', 'hub.db'),
    sites: n.sites,
    site: (id) => n.sites.find((s) => s.id === id)!,
    drive: (name) => {
      const d = join(root, name);
      mkdirSync(d);
      return d;
    },
  };
}

export const hubImport = async (n: OpenmrsNetwork, drive: string) => (await importDrive(n.hub, { from: drive })) as HubImportResult;
export const facImport = async (s: NetworkSite, drive: string) => (await importDrive(s.ctx, { from: drive })) as FacilityImportResult;

/** Export at these sites onto one new drive, import it at the hub, take the acks home. */
export async function round(n: OpenmrsNetwork, name: string, ids: string[] = n.sites.map((s) => s.id)): Promise<HubImportResult> {
  const drive = n.drive(name);
  for (const id of ids) await exportChanges(n.site(id).ctx, { to: drive });
  const r = await hubImport(n, drive);
  for (const id of ids) await facImport(n.site(id), drive);
  return r;
}


/** Rows a table holds at the hub, through its store (SQLite or PostgreSQL alike). */
export const hubRowCount = (n: OpenmrsNetwork, table: string): Promise<number> => withSession(n.hub, 'hub', 'test', (s) => s.hubStore().rowCount(table));
