/**
 * Does the hub hold exactly the facilities' rows? The hub is read through its HubStore, as any
 * command reads it, never through its tables, so the harnesses keep working whichever store the
 * hub uses; the facilities' EMRs are read as fixtures.
 *
 * What "exactly" means depends on the table's scope (issue 14). A facility-owned table holds
 * each facility's rows under its ferry_origin: the hub's rows whose ferry_origin is F must be F's
 * rows, one for one, whatever ids other facilities use. A shared table merges every facility's
 * rows by key: the hub must hold each distinct row some facility holds, once, and nothing else.
 */
import type { OpContext } from '../../node/context.js';
import { withSession } from '../../node/node-session.js';
import type { TableScope } from '../../format/records.js';
import type { EncodedValue } from '../../format/values.js';
import { EmrFixture } from './emr-fixture.js';

/** The hub's column naming a facility-owned row's facility (docs/FORMAT.md). */
export const ORIGIN_COLUMN = 'ferry_origin';

export interface HarnessFacility {
  id: string;
  /** its EMR database */
  db: string;
}

export interface RowComparison {
  scope: TableScope;
  /** rows of the facilities that the hub does not hold as they are (under their facility, for a facility-owned table) */
  missing: number;
  /** rows at the hub that no facility holds as they are */
  extra: number;
  /** rows the facilities hold: the sum for a facility-owned table, distinct rows for a shared one */
  facilityRows: number;
  hubRows: number;
  /** facility-owned tables: per facility, the rows it holds and the rows the hub holds under its id */
  byOrigin?: Record<string, { facility: number; hub: number }>;
}

/**
 * Compare the hub's `table` with the facilities'. A row matches on every column the facilities
 * have, each value with its storage class, and (facility-owned) on ferry_origin; a column the
 * hub has beyond those (one another facility added) is not compared. `scope` is what the caller
 * tracked: a hub holding the table with the other scope is an error, not a mismatch to count.
 */
export async function compareHubRows(hub: OpContext, table: string, facilities: readonly HarnessFacility[], o: { scope?: TableScope } = {}): Promise<RowComparison> {
  return withSession(hub, 'hub', 'harness', async (s) => {
    const store = s.hubStore();
    const held = (await store.tables()).find((t) => t.name === table);
    if (held && o.scope && held.scope !== o.scope) throw new Error(`the hub holds ${table} as ${held.scope}, but it was tracked as ${o.scope}`);
    const scope = held?.scope ?? o.scope ?? 'facility';
    const owned = scope === 'facility';

    let columns: string[] | undefined;
    const text = (row: Record<string, EncodedValue>) => JSON.stringify((columns ?? []).map((c) => [c, row[c] ?? null]));
    const expected = new Map<string, number>();
    const byOrigin: Record<string, { facility: number; hub: number }> = {};
    for (const f of facilities) {
      byOrigin[f.id] = { facility: 0, hub: 0 };
      EmrFixture.with(
        f.db,
        (emr) => {
          for (const row of emr.rows(table)) {
            columns ??= [...(owned ? [ORIGIN_COLUMN] : []), ...Object.keys(row)];
            const t = text(owned ? { [ORIGIN_COLUMN]: f.id, ...row } : row);
            // A shared row two facilities hold alike is one row at the hub.
            expected.set(t, owned ? (expected.get(t) ?? 0) + 1 : 1);
            byOrigin[f.id]!.facility++;
          }
        },
        { readonly: true },
      );
    }
    const facilityRows = [...expected.values()].reduce((a, b) => a + b, 0);
    let extra = 0;
    let hubRows = 0;
    for await (const row of store.rows(table)) {
      hubRows++;
      if (owned) {
        const origin = row[ORIGIN_COLUMN];
        const counts = typeof origin === 'string' ? byOrigin[origin] : undefined;
        if (counts) counts.hub++;
      }
      const t = text(row);
      const n = expected.get(t) ?? 0;
      if (n === 0) extra++;
      else expected.set(t, n - 1);
    }
    const missing = [...expected.values()].reduce((a, b) => a + b, 0);
    return { scope, missing, extra, facilityRows, hubRows, ...(owned ? { byOrigin } : {}) };
  });
}
