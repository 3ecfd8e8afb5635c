/**
 * Connections to a PostgreSQL hub database, with node-postgres (`pg`), loaded only here and only
 * when a hub uses PostgreSQL. The password comes from the password file node.json names (which
 * only its owner may read), else from PGPASSWORD or ~/.pgpass (pg reads both when it is given
 * none: see fromPgpass): never from the URL (hub-location.ts refuses one that holds it).
 *
 * Every failure to reach or log in to the server becomes a FerryError naming the database as
 * location.display does (never the password): unreachable is exit 3 (retry when the server is
 * back), a refused login is a configuration error, exit 2.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { ErrorCodes, FerryError, ioError, usageError } from '../../core/errors.js';
import type { HubLocation } from '../hub-location.js';

export type PgLocation = Extract<HubLocation, { kind: 'postgres' }>;

/** The password in node.json's db_password_file: refused when others may read the file. */
function passwordFromFile(file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `the database password file ${file} cannot be read`, {
      where: file,
      cause: err,
      hint: 'fix "db_password_file" in node.json, or put the password in ~/.pgpass or PGPASSWORD instead',
    });
  }
  if ((mode & 0o077) !== 0) {
    throw usageError(ErrorCodes.CONFIG_INVALID, `the database password file ${file} may be read by others (mode ${(mode & 0o777).toString(8)})`, {
      where: file,
      hint: `chmod 600 ${file}`,
    });
  }
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

/** The password ~/.pgpass (or PGPASSFILE) gives for this connection, as libpq finds it. */
async function fromPgpass(params: { host?: string; port?: number; database?: string; user?: string }): Promise<string | undefined> {
  const pgpass = (await import('pgpass')).default;
  return new Promise((resolve) => pgpass(params, resolve));
}

/**
 * A client that closes its socket when it fails to connect. pg leaves it open, and a server that
 * asked for a password waits for one (authentication_timeout, a minute) before closing it: the
 * command that was refused would hang that long before it exits.
 */
function closingClient(Base: typeof import('pg').Client): typeof import('pg').Client {
  type Connect = (this: InstanceType<typeof Base>, callback?: (err: Error | undefined) => void) => Promise<unknown> | undefined;
  const connect = Base.prototype.connect as unknown as Connect;
  class ClosingClient extends Base {}
  const closing: Connect = function (callback) {
    const close = () => (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    if (callback) {
      return connect.call(this, (err) => {
        if (err) close();
        callback(err);
      });
    }
    return connect.call(this)!.catch((err: unknown) => {
      close();
      throw err;
    });
  };
  (ClosingClient.prototype as unknown as { connect: Connect }).connect = closing;
  return ClosingClient;
}

/** A pool for the hub database: `max` connections, each checked out by one call at a time. */
export async function openPool(location: PgLocation, o: { max?: number; readOnly?: boolean } = {}): Promise<Pool> {
  const pg = (await import('pg')).default;
  const { parse } = await import('pg-connection-string');
  const config: PoolConfig = {
    // Parsed here rather than given as connectionString, which would replace the password function below.
    ...(parse(location.url) as PoolConfig),
    max: o.max ?? 4,
    // ferry's own name in pg_stat_activity: what an operator looks for (docs/OPERATIONS.md)
    application_name: 'ferry',
    connectionTimeoutMillis: 15_000,
    idleTimeoutMillis: 10_000,
    // status, the log, the TUI's refreshes: the server itself refuses any write
    ...(o.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  };
  const fromFile = location.passwordFile ? passwordFromFile(location.passwordFile) : undefined;
  // Asked only when the server wants a password. None to give is a clear refusal at once: with
  // none, pg would start an exchange the server then waits out (a minute) before closing.
  const password = async (params: { host?: string; port?: number; database?: string; user?: string }) => {
    const given = fromFile ?? (process.env.PGPASSWORD || undefined) ?? (await fromPgpass(params));
    if (given !== undefined) return given;
    throw usageError(ErrorCodes.DB_LOGIN, `the hub's ${location.display} asks for a password, and none is given`, {
      hint: 'give it in PGPASSWORD, in ~/.pgpass, or in a file only you can read named by "db_password_file" in node.json (ferry init --db-password-file)',
    });
  };
  // pg calls it with the connection's parameters, which its types leave out.
  config.password = password as unknown as () => Promise<string>;
  const pool = new pg.Pool({ ...config, Client: closingClient(pg.Client) });
  // An idle connection the server drops (restart, admin kill) must not crash the process: the
  // next call gets a new one, or a clear error.
  pool.on('error', () => {});
  return pool;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);
const LOGIN_CODES = new Set(['28P01', '28000', '3D000', '42501']);

/** Is this a failure to reach or log in to the server (or a lost connection), rather than a bug? */
export function connectionFailure(err: unknown, location: PgLocation): FerryError | undefined {
  if (err instanceof FerryError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (LOGIN_CODES.has(code) || /password must be a string|password authentication|no password supplied|SASL/i.test(message)) {
    const why = code === '3D000' ? 'the database does not exist' : code === '42501' ? 'the role may not connect to it' : 'the login was refused';
    return usageError(ErrorCodes.DB_LOGIN, `cannot log in to the hub's ${location.display}: ${why}`, {
      cause: err,
      hint:
        code === '3D000'
          ? 'create it (docs/OPERATIONS.md "PostgreSQL hub"), or fix "db" in node.json'
          : 'check the role and its password (PGPASSWORD, ~/.pgpass, or the 0600 file named by "db_password_file" in node.json) and pg_hba.conf; nothing was changed',
    });
  }
  if (code === '40P01' || code === '40001') {
    return ioError(ErrorCodes.DB_BUSY, 'another import station was changing the same hub tables at the same moment, and PostgreSQL stopped this bundle to let it finish', {
      cause: err,
      hint: 'nothing of this bundle was applied; import the drive again (the other station\'s work is done by then)',
    });
  }
  if (UNREACHABLE_CODES.has(code) || /Connection terminated|connect ECONN|timeout expired|terminating connection/i.test(message)) {
    return ioError(ErrorCodes.DB_UNREACHABLE, `cannot reach the hub's ${location.display}`, {
      cause: err,
      hint: 'is the PostgreSQL server running and the host or socket right? nothing was changed that is not whole; run the command again when it is back',
    });
  }
  return undefined;
}

/** Run `fn` with a connection from the pool, turning connection failures into FerryErrors. */
export async function withClient<T>(pool: Pool, location: PgLocation, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw connectionFailure(err, location) ?? err;
  }
  // The server may drop the connection while no query is in flight (an import reading its drive
  // between batches; a restart or an operator's pg_terminate_backend): pg then emits 'error' on the
  // client, which the pool listens for only while the client is idle, and unheard it would crash
  // the process with a stack trace. The next query on the client fails, and this loss is its cause.
  let lost: unknown;
  const onLost = (err: unknown) => {
    lost ??= err;
  };
  client.on('error', onLost);
  let broken = false;
  try {
    return await fn(client);
  } catch (err) {
    broken = true;
    throw (lost === undefined ? undefined : connectionFailure(lost, location)) ?? connectionFailure(err, location) ?? err;
  } finally {
    client.off('error', onLost);
    // A connection whose call failed (perhaps inside a transaction) is not given to the next caller.
    client.release(broken ? true : undefined);
  }
}
