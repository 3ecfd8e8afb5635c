/**
 * The hub stores a test file runs against, and the real PostgreSQL server behind the second one
 * (src/tools/harness/postgres-server.ts: a throwaway cluster on a unix socket, one per test file,
 * started before its first test and removed after its last).
 *
 * Without PostgreSQL installed, a machine outside CI runs the SQLite half and says once
 * "skipped: PostgreSQL not installed"; in CI (CI set) a missing PostgreSQL fails the run.
 */
import type { TestFn } from 'ava';
import { postgresBinDir, startPostgres, type PostgresServer } from '../../src/tools/harness/postgres-server.js';

export type StoreKind = 'sqlite' | 'postgres';

let said = false;

/** ['sqlite', 'postgres'], or ['sqlite'] outside CI on a machine without PostgreSQL. */
export function storeKinds(): StoreKind[] {
  if (postgresBinDir()) return ['sqlite', 'postgres'];
  if (process.env.CI) throw new Error('PostgreSQL is not installed, and CI must run the PostgreSQL tests: apt-get install postgresql (.ci/run does)');
  if (!said) {
    said = true;
    console.log('skipped: PostgreSQL not installed (the PostgreSQL half of the hub tests; apt-get install postgresql to run it)');
  }
  return ['sqlite'];
}

export const hasPostgres = (): boolean => storeKinds().includes('postgres');

let server: Promise<PostgresServer> | undefined;
let hooked = false;

/**
 * The file's PostgreSQL server, started on first use; `test` registers its removal after the
 * file's last test (call once per file, at the top: usePostgres(test)).
 */
export function usePostgres(test: TestFn<unknown>): () => Promise<PostgresServer> {
  if (!hooked) {
    hooked = true;
    test.after.always(async () => {
      if (server) await (await server).stop();
    });
  }
  return () => (server ??= startPostgres());
}

/** A new, empty database on the file's server: its URL (no password; the superuser logs in over the socket). */
export async function newPostgresDatabase(test: TestFn<unknown>): Promise<string> {
  return (await usePostgres(test)()).createDatabase();
}
