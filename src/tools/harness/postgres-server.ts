/**
 * A real, throwaway PostgreSQL server for the tests, the bench and the power-cut harness: a cluster
 * made by initdb in a temporary folder, listening only on a unix socket in another one, stopped
 * and removed by stop(). No mock, no network port. Unless `durable`, it runs without fsync (tests
 * kill stations, never the server); the bench asks for a durable one, as a hub runs.
 *
 * The binaries are Debian's (`apt-get install postgresql`: /usr/lib/postgresql/N/bin, the newest
 * N), or those in FERRY_PG_BIN, or initdb/postgres on PATH. initdb refuses to run as root, so as
 * root the cluster belongs to the `postgres` user (which Debian's package creates) and the server
 * runs as that user; the socket folder is readable by everyone, so root connects to it.
 *
 * Authentication: every role logs in over the socket without a password (trust), except the role
 * PASSWORD_ROLE, which must give its password (scram-sha-256): the tests of a refused login use it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** A role that must log in with a password (its password is PASSWORD_ROLE_SECRET). */
export const PASSWORD_ROLE = 'ferry_pw';
export const PASSWORD_ROLE_SECRET = 'correct horse battery staple';

export interface PostgresServer {
  /** the folder holding the unix socket */
  socketDir: string;
  port: number;
  /** the superuser, which logs in without a password */
  user: string;
  /** a libpq URL of `database` on this server, as the superuser, over the socket */
  url(database?: string): string;
  /** run SQL as the superuser with psql (setup only: CREATE DATABASE, roles) */
  psql(sql: string, database?: string): string;
  /** a new, empty database with a unique name; its URL */
  createDatabase(prefix?: string): string;
  stop(): Promise<void>;
}

export class PostgresMissing extends Error {}

/** Where Debian (or FERRY_PG_BIN, or PATH) keeps initdb and postgres; undefined when PostgreSQL is not installed. */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FERRY_PG_BIN) return existsSync(join(env.FERRY_PG_BIN, 'initdb')) ? env.FERRY_PG_BIN : undefined;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  for (const dir of (env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  return undefined;
}

interface RunAs {
  uid?: number;
  gid?: number;
  user: string;
}

/** As root: the postgres user (initdb refuses root). Otherwise: whoever runs this. */
function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { user: userInfo().username };
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new PostgresMissing('running as root, but there is no `postgres` user to run PostgreSQL as (Debian\'s postgresql package creates it)');
  }
  return { uid, gid, user: 'postgres' };
}

const own = (path: string, as: RunAs) => {
  if (as.uid !== undefined) chownSync(path, as.uid, as.gid!);
};

/**
 * An initdb'd cluster kept as a template in the temp folder (initdb takes a second or two; a
 * copy, a tenth of that), made once per machine and binary folder.
 */
function templateCluster(bin: string, as: RunAs): string {
  const template = join(tmpdir(), `ferry-pg-template-${bin.replace(/[^A-Za-z0-9]/g, '_')}-${as.user}`);
  if (existsSync(join(template, 'PG_VERSION')) && existsSync(join(template, '.ferry-ready'))) return template;
  const work = mkdtempSync(join(tmpdir(), 'ferry-pg-initdb-'));
  const data = join(work, 'data');
  mkdirSync(data, { mode: 0o700 });
  own(work, as);
  own(data, as);
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', as.user, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], {
    stdio: 'pipe',
    ...(as.uid !== undefined ? { uid: as.uid, gid: as.gid } : {}),
  });
  writeFileSync(join(data, 'pg_hba.conf'), `local all ${PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n`);
  own(join(data, 'pg_hba.conf'), as);
  writeFileSync(join(data, '.ferry-ready'), '');
  try {
    renameSync(data, template);
  } catch {
    // another process made it meanwhile: use theirs
  }
  rmSync(work, { recursive: true, force: true });
  return template;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a throwaway server; PostgresMissing when PostgreSQL is not installed. */
export async function startPostgres(o: { env?: NodeJS.ProcessEnv; durable?: boolean } = {}): Promise<PostgresServer> {
  const env = o.env ?? process.env;
  const bin = postgresBinDir(env);
  if (!bin) throw new PostgresMissing('PostgreSQL is not installed (apt-get install postgresql, or set FERRY_PG_BIN to a folder with initdb and postgres)');
  const as = runAs();
  const template = templateCluster(bin, as);
  const root = mkdtempSync(join(tmpdir(), 'ferry-pg-'));
  const data = join(root, 'data');
  const socketDir = join(root, 'socket');
  cpSync(template, data, { recursive: true, preserveTimestamps: true });
  mkdirSync(socketDir, { mode: 0o755 });
  for (const p of [root, socketDir]) own(p, as);
  execFileSync('chmod', ['-R', 'go-rwx', data]);
  if (as.uid !== undefined) execFileSync('chown', ['-R', `${as.uid}:${as.gid}`, data]);
  execFileSync('chmod', ['755', root]);
  // Any free number: nothing listens on TCP, the port only names the socket file.
  const port = 20000 + Math.floor(Math.random() * 30000);
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      ...['-D', data, '-k', socketDir, '-p', String(port), '-c', 'listen_addresses=', '-c', 'max_connections=100', '-c', 'shared_buffers=128MB'],
      // Tests kill stations, never the server: they need no fsync. The bench measures a durable server, as a hub runs.
      ...(o.durable ? ['-c', 'fsync=on'] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(as.uid !== undefined ? { uid: as.uid, gid: as.gid } : {}) },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const psqlBin = join(bin, 'psql');
  const psql = (sql: string, database = 'postgres') =>
    execFileSync(psqlBin, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', as.user, '-d', database, '-At', '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`PostgreSQL did not start:\n${log}`);
    try {
      psql('SELECT 1');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`PostgreSQL did not accept connections within 30 s:\n${log}`);
      }
      await sleep(50);
    }
  }
  psql(`CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD '${PASSWORD_ROLE_SECRET}'`);
  let made = 0;
  const url = (database = 'postgres') => `postgresql:///${database}?host=${encodeURIComponent(socketDir)}&port=${port}&user=${as.user}`;
  return {
    socketDir,
    port,
    user: as.user,
    url,
    psql,
    createDatabase(prefix = 'ferry') {
      const name = `${prefix}_${process.pid}_${++made}_${Math.floor(Math.random() * 1e6)}`;
      psql(`CREATE DATABASE ${name} STRATEGY = FILE_COPY`);
      return url(name);
    },
    async stop() {
      if (!exited) {
        child.kill('SIGINT'); // fast shutdown: connections are cut, nothing waits
        for (let i = 0; i < 200 && !exited; i++) await sleep(25);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
