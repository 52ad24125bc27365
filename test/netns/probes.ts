/**
 * Connection probes for the firewalled-site tests: TCP clients and servers on the host (in the
 * test process) and inside a site (`node -e` scripts run through the site), each reporting
 * exactly how an attempt ended: connected, refused/unreachable (an error code), or no answer
 * within the client's timeout (dropped).
 */
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import type { FirewalledSite } from '../../dev/netns/firewalled-site';
import type { ManagedProcess } from '../../dev/process/managed-process';
import { readLogTail } from '../../dev/process/log-tail';

/** Client-side limit for one attempt: a functional check that nothing answers, not a latency figure. */
export const CONNECT_TIMEOUT_MS = 2000;

export type Outcome = { outcome: 'connected'; received: string } | { outcome: 'error'; code: string } | { outcome: 'timeout' };

/** A TCP connect from the host, reading the first line the server sends. */
export function connectFromHost(host: string, port: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = '';
    const done = (o: Outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ outcome: 'timeout' }), timeoutMs);
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (received.includes('\n')) done({ outcome: 'connected', received: received.trim() });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done({ outcome: 'error', code: err.code ?? err.message }));
  });
}

/** The same client, run inside the site: connects, sends `message` and a newline, prints the outcome and the first line back. */
const SITE_CLIENT = `
const [host, port, message, timeoutMs] = process.argv.slice(1);
const net = require('node:net');
const print = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
const socket = net.connect({ host, port: Number(port) });
let received = '';
setTimeout(() => print({ outcome: 'timeout' }), Number(timeoutMs));
socket.on('connect', () => socket.write(message + '\\n'));
socket.on('data', (d) => { received += d; if (received.includes('\\n')) print({ outcome: 'connected', received: received.trim() }); });
socket.on('error', (e) => print({ outcome: 'error', code: e.code }));
`;

export async function connectFromSite(site: FirewalledSite, host: string, port: number, message = 'hello', timeoutMs = CONNECT_TIMEOUT_MS): Promise<Outcome> {
  const r = await site.exec(process.execPath, ['-e', SITE_CLIENT, host, String(port), message, String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 });
  if (r.code !== 0) throw new Error(`site client failed (code ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Outcome;
}

/** A server in the test process: answers each line with `echo:<line>` and records who connected. */
export interface HostServer {
  readonly port: number;
  readonly peers: string[];
  readonly server: net.Server;
  close(): Promise<void>;
}

export function startHostServer(host: string, port = 0): Promise<HostServer> {
  const peers: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    peers.push(socket.remoteAddress ?? '?');
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        socket.write(`echo:${buffered.slice(0, i)}\n`);
        buffered = buffered.slice(i + 1);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        peers,
        server,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** A server inside the site on host:port that greets each connection and logs it. */
const SITE_SERVER = `
const [host, port] = process.argv.slice(1);
require('node:net').createServer((s) => {
  console.log('connection from ' + s.remoteAddress);
  s.on('error', () => {});
  s.end('hello from inside the site\\n');
}).listen(Number(port), host, () => console.log(['site-server', 'listening'].join('-')));
`;

export function startSiteServer(site: FirewalledSite, host: string, port: number, logDir: string): Promise<ManagedProcess> {
  const logFile = path.join(logDir, `site-server-${site.name}-${port}.log`);
  return site.startReady(
    { component: `site-server-${site.name}`, binary: process.execPath, args: ['-e', SITE_SERVER, host, String(port)], logFile },
    { url: `log ${logFile}`, timeoutMs: 10_000, check: async () => (readLogTail(logFile).includes('site-server-listening') ? null : 'not listening yet') },
  );
}

/** Connections a site server has logged. */
export function siteServerConnections(proc: ManagedProcess): string[] {
  return readLogTail(proc.logFile, 1000)
    .split('\n')
    .filter((l) => l.startsWith('connection from '));
}

/** Runs a host command (ip, iptables-save) to completion; rejects on a non-zero exit. */
export function hostCommand(command: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Packets a site's final INPUT rule ("no inbound connections") has dropped so far. */
export async function inboundDrops(site: FirewalledSite): Promise<number> {
  const r = await site.exec('iptables', ['-w', '-v', '-S', 'INPUT']);
  const line = r.stdout.split('\n').find((l) => l.includes('kubegate: no inbound connections'));
  const m = line && / -c (\d+) \d+/.exec(line);
  if (!m) throw new Error(`no counter for the inbound drop rule in:\n${r.stdout}`);
  return Number(m[1]);
}
