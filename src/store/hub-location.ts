/**
 * Where a hub's database is, as node.json's "db" names it: a SQLite file (the embedded default) or
 * a PostgreSQL database given as a libpq-style URL (postgresql:// or postgres://, a unix socket
 * with ?host=/run/postgresql). A URL never carries a password: it would sit in argv (where `ps`
 * shows it) and in node.json in clear. The password comes from PGPASSWORD, ~/.pgpass, or a file
 * only its owner may read, named by node.json's "db_password_file".
 */
import { resolve } from 'node:path';
import { ErrorCodes, usageError } from '../core/errors.js';

export type HubLocation =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'postgres';
      /** the URL as given (it has no password) */
      url: string;
      /** what status and messages show: user, host or socket folder, port, database; never a password */
      display: string;
      /** a file holding the password (0600), if node.json names one */
      passwordFile?: string;
    };

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

export const isPostgresUrl = (db: string): boolean => POSTGRES_URL.test(db);

/** node.json's db (and db_password_file) as a location; a SQLite path is made absolute. */
export function hubLocation(db: string, o: { passwordFile?: string | undefined } = {}): HubLocation {
  if (!isPostgresUrl(db)) return { kind: 'sqlite', path: resolve(db) };
  let u: URL;
  try {
    u = new URL(db);
  } catch {
    throw usageError(ErrorCodes.USAGE, 'the PostgreSQL URL given as the hub database is not a valid URL', {
      hint: 'write it as postgresql://USER@HOST:PORT/DATABASE or postgresql:///DATABASE?host=/run/postgresql&user=USER',
    });
  }
  if (u.password !== '' || u.searchParams.has('password')) {
    throw usageError(ErrorCodes.USAGE, 'the PostgreSQL URL holds a password; ferry never takes one from the command line or keeps it in node.json', {
      hint: 'remove it from the URL and give it in PGPASSWORD, in ~/.pgpass, or in a file only you can read (--db-password-file, chmod 600)',
    });
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database === '') {
    throw usageError(ErrorCodes.USAGE, 'the PostgreSQL URL names no database', { hint: 'end it with /DATABASE, e.g. postgresql://ferry@db.example/ferry_hub' });
  }
  const user = decodeURIComponent(u.username) || u.searchParams.get('user') || '(the login user)';
  const host = decodeURIComponent(u.hostname) || u.searchParams.get('host') || '(the default socket)';
  const port = u.port || u.searchParams.get('port') || '5432';
  return {
    kind: 'postgres',
    url: db,
    display: `PostgreSQL database ${database} as ${user} at ${host}:${port}`,
    ...(o.passwordFile ? { passwordFile: resolve(o.passwordFile) } : {}),
  };
}
