/**
 * A throwaway PostgreSQL server for a benchmark of durable writes: Debian's binaries, a fresh
 * data directory, loopback only, and PostgreSQL's durability as shipped (fsync, a WAL flush at
 * every COMMIT, full-page writes), stated on the command line so no configuration file can
 * weaken it. The tests' server (dev/postgres/postgres-server.ts) turns all of that off to be
 * fast, which is right for them and would make a commit here cost nothing.
 *
 * PostgreSQL refuses to run as root. As root, initdb and the server run as Debian's `postgres`
 * user through setpriv, which execs rather than forks: the pid held here is the postmaster's,
 * so stopping and CPU sampling reach it directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { findPostgresBinDir } from '../dev/postgres/postgres-server';
import { startReadyProcess } from '../dev/process/start-ready-process';
import { getFreePort, LOOPBACK } from '../dev/process/free-port';
import type { Logger } from '../control-plane/log/logger';

const run = promisify(execFile);

/** What the server reports for the settings a durable commit depends on. */
const DURABILITY_SETTINGS = ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method'] as const;

export interface DurablePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** The postmaster; its backends are its children. */
  readonly pid: number;
  readonly settings: Readonly<Record<(typeof DURABILITY_SETTINGS)[number], string>>;
  /** Stops the server (close every client first) and removes its directory. */
  stop(): Promise<void>;
}

/** The command prefix that runs a binary as the postgres user, and that user's ids; none unless root. */
async function postgresUser(): Promise<{ prefix: string[]; uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { prefix: ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'], uid: await id('-u'), gid: await id('-g') };
}

function command(prefix: readonly string[], binary: string, args: readonly string[]): { binary: string; args: string[] } {
  return prefix.length ? { binary: prefix[0]!, args: [...prefix.slice(1), binary, ...args] } : { binary, args: [...args] };
}

/** Starts the server in `dir` (an empty directory, created if missing) and resolves once it accepts connections. */
export async function startDurablePostgres(dir: string, logger: Logger): Promise<DurablePostgres> {
  const bin = findPostgresBinDir();
  const user = await postgresUser();
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user) {
    // The parent (a mkdtemp directory) is root's and private: postgres must be able to reach
    // its data directory and the socket it puts next to it.
    fs.chmodSync(dir, 0o755);
    fs.chownSync(dir, user.uid, user.gid);
    fs.chownSync(dataDir, user.uid, user.gid);
  }
  const env = { PATH: process.env.PATH ?? '', LC_ALL: 'C', LANG: 'C' };
  const initdb = command(user?.prefix ?? [], path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
  await run(initdb.binary, initdb.args, { env });

  const port = await getFreePort();
  const url = `postgres://postgres@${LOOPBACK}:${port}/postgres`;
  const server = command(user?.prefix ?? [], path.join(bin, 'postgres'), [
    '-D', dataDir,
    '-p', String(port),
    '-k', dir,
    '-c', `listen_addresses=${LOOPBACK}`,
    '-c', 'fsync=on',
    '-c', 'synchronous_commit=on',
    '-c', 'full_page_writes=on',
  ]);
  const query = async (sql: string) => {
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, string>[];
    } finally {
      await client.end();
    }
  };
  const proc = await startReadyProcess(
    { component: 'postgres', binary: server.binary, args: server.args, logFile: path.join(dir, 'postgres.log'), env, logger, stopTimeoutMs: 15_000 },
    {
      url,
      timeoutMs: 60_000,
      check: async () => {
        try {
          await query('SELECT 1');
          return null;
        } catch (err) {
          return (err as Error).message;
        }
      },
    },
  );
  const settings = {} as Record<(typeof DURABILITY_SETTINGS)[number], string>;
  for (const name of DURABILITY_SETTINGS) settings[name] = String(Object.values((await query(`SHOW ${name}`))[0] ?? {})[0]);
  return {
    url,
    pid: proc.pid!,
    settings,
    stop: async () => {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
