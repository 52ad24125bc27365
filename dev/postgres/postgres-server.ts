/**
 * A throwaway real PostgreSQL server for one test file, or one run of the fleet lab
 * (dev/fleet/) and the benchmarks built on it: initdb into a temporary directory,
 * postgres on 127.0.0.1 at a free port (its Unix socket in the same directory, never the
 * system's), trust authentication, durability off (the data dies with the test anyway).
 *
 * PostgreSQL refuses to run as root. When the tests run as root, initdb and postgres run as
 * the `postgres` system user (which Debian's package creates) through spawn's uid/gid, with the
 * directory handed to that user. Spawning with uid/gid rather than through runuser means the
 * pid held here is the postmaster itself, so a signal reaches it with nothing in between.
 *
 * The binaries come from Debian's layout (/usr/lib/postgresql/<major>/bin, newest major) or
 * PATH; toolchain/install.sh installs the package when they are missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { getFreePort, LOOPBACK } from '../process/free-port';
import { readLogTail } from '../process/log-tail';
import { isExecutable } from '../process/is-executable';

/** Where Debian's postgresql-<major> packages put the server binaries. */
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** A new, empty database; resolves to its URL. */
  createDatabase(): Promise<string>;
  /** Runs SQL as the superuser (default database: postgres). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<R[]>;
  /** Stops the server and removes its directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export function findPostgresBinDir(): string {
  const hasServer = (dir: string) => ['initdb', 'postgres'].every((b) => isExecutable(path.join(dir, b)));
  let majors: string[] = [];
  try {
    majors = fs.readdirSync(DEBIAN_POSTGRES_ROOT).filter((d) => /^\d+(\.\d+)?$/.test(d));
  } catch {
    // Not Debian's layout; PATH may still have them.
  }
  majors.sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const dir = path.join(DEBIAN_POSTGRES_ROOT, major, 'bin');
    if (hasServer(dir)) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && hasServer(dir)) return dir;
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, postgres) not found in ${DEBIAN_POSTGRES_ROOT}/<major>/bin or on PATH: run toolchain/install.sh, which installs Debian's postgresql package`,
  );
}


/** uid/gid to run the server as: the postgres user when we are root, ourselves otherwise. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no postgres system user to run PostgreSQL as: install Debian\'s postgresql package (toolchain/install.sh does)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(binary: string, args: string[], identity: { uid: number; gid: number } | undefined, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(binary, args, { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', LANG: 'C' }, ...identity });
    fs.closeSync(fd);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(binary)} failed (${signal ?? `exit ${code}`}); log ${logFile}:\n${readLogTail(logFile)}`));
    });
  });
}

export interface PostgresServerOptions {
  /**
   * Also listen on this address of the host and let `clients` (a CIDR) in without a password:
   * for pods on a test cluster's real nodes, whose traffic reaches the host from the node's
   * link. For the harness only, like the rest of this server. @default loopback only
   */
  readonly alsoListenOn?: { readonly address: string; readonly clients: string };
}

export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = findPostgresBinDir();
  const identity = serverIdentity();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-postgres-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  fs.writeFileSync(logFile, '');
  if (identity) for (const p of [dir, dataDir, logFile]) fs.chownSync(p, identity.uid, identity.gid);

  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  try {
    await run(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], identity, logFile);
    const also = options.alsoListenOn;
    if (also) fs.appendFileSync(path.join(dataDir, 'pg_hba.conf'), `host all all ${also.clients} trust\n`);
    const port = await getFreePort();
    const fd = fs.openSync(logFile, 'a');
    child = spawn(
      path.join(binDir, 'postgres'),
      // Fast and disposable: no fsync, no full-page writes; enough connections for several
      // stores (a pool and a listener each) at once.
      ['-D', dataDir, '-p', String(port), '-k', dir, '-c', `listen_addresses=${[LOOPBACK, ...(also ? [also.address] : [])].join(',')}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100'],
      { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', LANG: 'C' }, ...identity },
    );
    fs.closeSync(fd);
    // A test run that dies without stop() must not leave a postmaster behind.
    process.on('exit', killOnExit);
    const exited = new Promise<string>((resolve) => child!.once('exit', (code, signal) => resolve(`postgres exited (${signal ?? `code ${code}`})`)));
    await waitUntilAccepting(port, exited, logFile);
    return makeServer(port, child, exited, dir, () => process.off('exit', killOnExit));
  } catch (err) {
    process.off('exit', killOnExit);
    child?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function waitUntilAccepting(port: number, exited: Promise<string>, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let exitReason: string | undefined;
  void exited.then((r) => (exitReason = r));
  let last = '';
  while (Date.now() < deadline) {
    if (exitReason) throw new Error(`${exitReason} before accepting connections; log ${logFile}:\n${readLogTail(logFile)}`);
    const client = new Client({ host: LOOPBACK, port, user: 'postgres', database: 'postgres' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      last = (err as Error).message;
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`postgres did not accept connections on port ${port} within 30 s (last: ${last}); log ${logFile}:\n${readLogTail(logFile)}`);
}

function makeServer(port: number, child: ChildProcess, exited: Promise<string>, dir: string, untrack: () => void): PostgresServer {
  let databases = 0;
  let stopping: Promise<void> | undefined;
  const url = (database = 'postgres') => `postgres://postgres@${LOOPBACK}:${port}/${database}`;
  const query = async <R extends Record<string, unknown>>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<R[]> => {
    const client = new Client({ connectionString: url(database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as R[];
    } finally {
      await client.end();
    }
  };
  return {
    host: LOOPBACK,
    port,
    url,
    query,
    async createDatabase() {
      const name = `kubegate_test_${++databases}`;
      await query(`CREATE DATABASE ${name}`);
      return url(name);
    },
    stop() {
      stopping ??= (async () => {
        // SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting.
        child.kill('SIGINT');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)));
        if ((await Promise.race([exited, timedOut])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
        clearTimeout(timer);
        untrack();
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
