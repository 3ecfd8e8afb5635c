/**
 * Does the hub hold exactly the facilities' rows? The hub is read through its HubStore, as any
 * command reads it, never through its tables, so the harnesses keep working whichever store the
 * hub uses; the facilities' EMRs are read as fixtures.
 */
import type { OpContext } from '../../node/context.js';
import { withSession } from '../../node/node-session.js';
import type { EncodedValue } from '../../format/values.js';
import { EmrFixture } from './emr-fixture.js';

export interface RowComparison {
  /** rows of the facilities that the hub does not hold as they are */
  missing: number;
  /** rows at the hub that no facility holds as they are */
  extra: number;
  facilityRows: number;
  hubRows: number;
}

/**
 * Compare the hub's `table` with the union of the facilities' (their keys must not overlap).
 * A row matches on every column the facilities have, each value with its storage class; a
 * column the hub has beyond those (another facility's) is not compared.
 */
export async function compareHubRows(hub: OpContext, table: string, facilityEmrs: string[]): Promise<RowComparison> {
  const expected = new Map<string, number>();
  let columns: string[] | undefined;
  let facilityRows = 0;
  const text = (row: Record<string, EncodedValue>) => JSON.stringify((columns ?? Object.keys(row)).map((c) => [c, row[c] ?? null]));
  for (const path of facilityEmrs) {
    EmrFixture.with(
      path,
      (emr) => {
        for (const row of emr.rows(table)) {
          columns ??= Object.keys(row);
          const t = text(row);
          expected.set(t, (expected.get(t) ?? 0) + 1);
          facilityRows++;
        }
      },
      { readonly: true },
    );
  }
  let extra = 0;
  let hubRows = 0;
  await withSession(hub, 'hub', 'harness', async (s) => {
    for await (const row of s.hubStore().rows(table)) {
      hubRows++;
      const t = text(row);
      const n = expected.get(t) ?? 0;
      if (n === 0) extra++;
      else expected.set(t, n - 1);
    }
  });
  const missing = [...expected.values()].reduce((a, b) => a + b, 0);
  return { missing, extra, facilityRows, hubRows };
}
