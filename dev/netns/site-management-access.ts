/**
 * Why: a platform team reaches its own clusters through their management endpoints (the
 * Pulumi CLI on the host installs software on each member cluster), but a firewalled site
 * accepts no inbound connection, and opening its firewall would void what the tests claim
 * (the hub never dials in). A Unix socket is a file, and files are shared across network
 * namespaces: a small relay started inside the site listens on a socket in a private temp
 * directory and connects each accepted stream to the target on the site's own loopback; a
 * server on the host's 127.0.0.1 pipes each connection to that socket. No packet ever enters
 * the site's network, its firewall stays as it is, and TLS passes through untouched, so a
 * kubeconfig pointing at https://127.0.0.1:<hostPort> works with the apiserver's own
 * certificate (whose SANs include 127.0.0.1).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { silentLogger, type Logger } from '../../control-plane/log/logger';
import type { ManagedProcess } from '../process/managed-process';
import { readLogTail } from '../process/log-tail';
import type { FirewalledSite } from './firewalled-site';

/**
 * The relay, run inside the site with `node -e`: argv is the socket path, the target host and
 * port. Each connection on the socket is piped both ways to a new TCP connection to the
 * target; either side closing or failing closes the other. It ends when its parent (the
 * process that started it) is gone, even by SIGKILL. One line once listening (spelt so
 * that the command line, which ManagedProcess writes atop the log, does not contain it).
 * Joined into one line below, so the log's header is one line too.
 */
const READY_LINE = 'site-management-relay-listening';
const RELAY_PROGRAM = `
const net = require('node:net');
const [socketPath, host, port] = process.argv.slice(1);
const server = net.createServer((client) => {
  const upstream = net.connect({ host, port: Number(port) });
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  upstream.on('error', (err) => console.error('cannot reach ' + host + ':' + port + ': ' + err.message));
  client.on('error', close); upstream.on('error', close);
  client.on('close', close); upstream.on('close', close);
});
server.on('error', (err) => { console.error('relay cannot listen on ' + socketPath + ': ' + err.message); process.exit(1); });
server.listen(socketPath, () => console.log(['site-management-relay', 'listening'].join('-')));
process.on('SIGTERM', () => process.exit(0));
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000);
`.replace(/\n/g, ' ');

/** The relay's own output, without the command-line header ManagedProcess writes. */
const relayOutput = (logFile: string, lines: number) => readLogTail(logFile, lines + 1).split('\n').filter((l) => !l.startsWith('==== ')).slice(-lines).join('\n');

// Socket directories of accesses not stopped yet, removed by one 'exit' listener if this
// process ends first (the relay itself dies with it: ManagedProcess kills children on exit).
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function trackDir(dir: string): void {
  if (!exitHookInstalled) {
    process.on('exit', () => {
      for (const d of liveDirs) fs.rmSync(d, { recursive: true, force: true });
    });
    exitHookInstalled = true;
  }
  liveDirs.add(dir);
}

export interface SiteManagementAccessProps {
  /** The site whose loopback holds the target (a FirewalledSite after create()). */
  readonly site: Pick<FirewalledSite, 'name' | 'startReady'>;
  /** A TCP endpoint as seen from inside the site, e.g. the apiserver at 127.0.0.1:<port>. */
  readonly target: { readonly host: string; readonly port: number };
  /** Port on the host's 127.0.0.1. @default one the kernel picks */
  readonly hostPort?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** How long the relay may take to listen. @default 15000 */
  readonly readyTimeoutMs?: number;
}

export interface SiteManagementAccess {
  /** https://127.0.0.1:<port>: the target, for a host process, if it speaks TLS. */
  readonly url: string;
  /** The host's listening port on 127.0.0.1. */
  readonly port: number;
  /** The relay process inside the site (its ManagedProcess: pid, exited, logFile). */
  readonly relay: ManagedProcess;
  /** The Unix socket joining the two sides (in a private directory stop() removes). */
  readonly socketPath: string;
  /** Closes the host server and every connection, stops the relay, removes the socket directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startSiteManagementAccess(props: SiteManagementAccessProps): Promise<SiteManagementAccess> {
  const logger = props.logger ?? silentLogger;
  const { site, target } = props;
  const where = { site: site.name, target: `${target.host}:${target.port}` };
  // mkdtemp makes it 0700: only root (this process and the relay) can reach the socket.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-site-access-'));
  trackDir(dir);
  const socketPath = path.join(dir, 'relay.sock');
  const logFile = path.join(dir, 'relay.log');
  let relay: ManagedProcess;
  try {
    relay = await site.startReady(
      { component: `site-management-relay-${site.name}`, binary: process.execPath, args: ['-e', RELAY_PROGRAM, socketPath, target.host, String(target.port)], logFile, logger, stopTimeoutMs: 5_000 },
      { url: `log ${logFile}`, timeoutMs: props.readyTimeoutMs ?? 15_000, check: async () => (relayOutput(logFile, 20).includes(READY_LINE) ? null : 'not listening yet') },
    );
  } catch (err) {
    removeDir(dir);
    throw err;
  }

  let stopping = false;
  const sockets = new Set<net.Socket>();
  void relay.exited.then((exit) => {
    if (stopping) return;
    // Open connections end with it; new ones are reset at once (below) rather than left hanging.
    logger.error('site management relay exited; connections to the site are refused', { ...where, ...exit, relayOutput: relayOutput(logFile, 5) });
  });

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (relay.exit) {
      logger.error('connection refused: the site management relay is gone', { ...where, ...relay.exit });
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ path: socketPath });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', (err) => {
      logger.error('cannot reach the site management relay', { ...where, socketPath, error: err });
      client.resetAndDestroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: props.hostPort ?? 0, exclusive: true }, () => resolve((server.address() as net.AddressInfo).port));
    });
  } catch (err) {
    stopping = true;
    await relay.stop();
    removeDir(dir);
    throw err;
  }
  const url = `https://127.0.0.1:${port}`;
  logger.info('site management access ready', { ...where, url, socketPath, relayPid: relay.pid });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await relay.stop();
      removeDir(dir);
      logger.info('site management access stopped', { ...where, url });
    })());

  return { url, port, relay, socketPath, stop };
}

function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/**
 * The text of a kubeconfig (e.g. a LocalCluster's admin one) with every cluster's server set to
 * the access's URL: same CA, credentials and contexts. Nothing is written; the caller decides
 * where it goes (it carries a private key: mode 0600).
 */
export function kubeconfigThroughAccess(cluster: { readonly adminKubeconfigPath: string }, access: Pick<SiteManagementAccess, 'url'>): string {
  const config = parse(fs.readFileSync(cluster.adminKubeconfigPath, 'utf8')) as { clusters?: Array<{ cluster?: { server?: string } }> };
  const clusters = config.clusters ?? [];
  if (clusters.length === 0) throw new Error(`${cluster.adminKubeconfigPath} names no cluster`);
  for (const c of clusters) if (c.cluster) c.cluster.server = access.url;
  return stringify(config);
}
