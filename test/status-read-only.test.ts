/**
 * `ferry status` only reads (the TUI runs it on every refresh, beside a running export): a
 * tracked table that gained a column is reported, not re-tracked, and the EMR is left as it was.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { acquireLock } from '../src/node/lock.js';
import { status } from '../src/roles/status.js';
import { makeNetwork, sql } from './helpers/env.js';

const bytes = (path: string) => (existsSync(path) ? readFileSync(path) : Buffer.alloc(0));

test('status on a facility whose tracked table gained a column leaves the EMR byte for byte as it was, and needs no lock', async (t) => {
  const n = await makeNetwork(t, { trackAll: true });
  const site = n.sites[0]!;
  sql(site.db, 'ALTER TABLE patients ADD COLUMN PHONE TEXT');
  const schema = sql(site.db, 'SELECT type, name, sql FROM sqlite_master ORDER BY name');
  const before = [bytes(site.db), bytes(`${site.db}-wal`)];
  // Another ferry holds the node's lock (an export running): status neither waits nor fails.
  const lock = await acquireLock(site.ctx.home, 'export', 0);
  try {
    const st = await status(site.ctx);
    t.is(st.role, 'facility');
    if (st.role !== 'facility') return;
    t.deepEqual(st.tracking_needs_refresh, ['patients'], 'the change is reported for the next export to pick up');
    t.true(st.pending > 0);
  } finally {
    lock.release();
  }
  t.true(bytes(site.db).equals(before[0]!), 'the EMR file is unchanged');
  t.true(bytes(`${site.db}-wal`).equals(before[1]!), 'and so is its write-ahead log');
  t.deepEqual(sql(site.db, 'SELECT type, name, sql FROM sqlite_master ORDER BY name'), schema, 'no log column, no trigger changed');
});

test('status on a facility whose EMR ferry has not tracked yet creates nothing in it', async (t) => {
  const n = await makeNetwork(t, {});
  const site = n.sites[0]!;
  const before = sql(site.db, 'SELECT name FROM sqlite_master ORDER BY name');
  const st = await status(site.ctx);
  t.like(st, { role: 'facility', pending: 0, tracked: [] });
  t.deepEqual(sql(site.db, 'SELECT name FROM sqlite_master ORDER BY name'), before, 'no ferry_clock or ferry_tables made by a read');
});
