/**
 * The format's limits from end to end, through the real export (change log, pending changes,
 * bundle writer) and a hub's import: what an honest facility sends always reads, and what no
 * bundle may carry is refused at export, by name, with no value in the message.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCodes, FerryError } from '../src/core/errors.js';
import { openBundle } from '../src/format/bundle-reader.js';
import { maxStreamBytes } from '../src/format/constants.js';
import { exportChanges } from '../src/facility/export.js';
import { importDrive } from '../src/roles/import.js';
import type { HubImportResult } from '../src/hub/import-bundles.js';
import { track } from '../src/facility/track.js';
import { makeNetwork, sql } from './helpers/env.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function facilityWith(t: import('ava').ExecutionContext, ddl: string, fill: (db: Database.Database) => void) {
  const n = await makeNetwork(t, { emptyDb: true });
  const site = n.sites[0]!;
  const db = new Database(site.db);
  db.exec(ddl);
  db.close();
  await track(site.ctx, { tables: ['files'] });
  const db2 = new Database(site.db);
  try {
    fill(db2);
  } finally {
    db2.close();
  }
  return { n, site };
}

test.serial('an honest 16 MiB BLOB exports and imports at the hub, byte for byte', async (t) => {
  const blob = randomBytes(16 * MiB);
  const { n, site } = await facilityWith(t, 'CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB)', (db) => db.prepare('INSERT INTO files VALUES (1, ?)').run(blob));
  const exported = await exportChanges(site.ctx, { to: n.drive });
  t.is(exported.written.length, 1);
  const imported = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.deepEqual(imported.bundles.map((b) => [b.outcome, b.reason?.code]), [['applied', undefined]]);
  const [row] = sql<{ ty: string; data: Buffer }>(n.hubDb, 'SELECT typeof(data) AS ty, data FROM files WHERE id = 1');
  t.is(row?.ty, 'blob');
  t.is(sha(row!.data), sha(blob));
});

test.serial('highly compressible rows: export cuts bundles within the stream ratio, and the hub imports them all', async (t) => {
  // 70 rows of 1 MiB of one letter: about 1000:1, so one bundle would pass max(64 MiB, 100 × compressed).
  const { n, site } = await facilityWith(t, 'CREATE TABLE files (id INTEGER PRIMARY KEY, body TEXT)', (db) => {
    const ins = db.prepare('INSERT INTO files VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= 70; i++) ins.run(i, 'a'.repeat(MiB));
    })();
  });
  const exported = await exportChanges(site.ctx, { to: n.drive });
  t.true(exported.written.length >= 2, `${exported.written.length} bundle(s)`);
  for (const b of exported.written) {
    const p = (await openBundle(b.file)).manifest.payload;
    t.true(p.stream_bytes <= maxStreamBytes(p.plaintext_bytes), `${p.stream_bytes} bytes of stream from ${p.plaintext_bytes} compressed`);
  }
  const imported = (await importDrive(n.hub, { from: n.drive })) as HubImportResult;
  t.deepEqual(
    imported.bundles.map((b) => b.outcome),
    exported.written.map(() => 'applied'),
    JSON.stringify(imported.bundles.map((b) => b.reason)),
  );
  t.deepEqual(sql(n.hubDb, 'SELECT count(*) AS n, sum(length(body)) AS bytes FROM files'), [{ n: 70, bytes: 70 * MiB }]);
});

test.serial('a change too large for any bundle stops the export with record-too-large, naming table and seq, never the value', async (t) => {
  // 50 MiB of BLOB is about 67 MiB of base64: over the 64 MiB a record may hold.
  const { n, site } = await facilityWith(t, 'CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB)', (db) => db.prepare('INSERT INTO files VALUES (1, zeroblob(?))').run(50 * MiB));
  const err = (await t.throwsAsync(exportChanges(site.ctx, { to: n.drive }))) as FerryError;
  t.true(err instanceof FerryError, err?.stack);
  t.is(err.code, ErrorCodes.RECORD_TOO_LARGE, err.message);
  t.regex(err.message, /change 1 \(table files\)/);
  t.regex(err.hint ?? '', /too large to carry/);
  t.false(/AAAA/.test(`${err.message} ${err.hint}`), 'no value in the message');
});
