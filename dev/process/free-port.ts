/**
 * Free TCP ports on the loopback interface, for servers the harness starts a moment later.
 *
 * Ports are picked at random below the kernel's ephemeral range (ephemeral-port-range.ts) and
 * checked by binding them: a port from inside that range (what binding port 0 gives) can be
 * taken by any outgoing connection in the seconds before its server binds it, and the harness
 * makes many (kube-apiserver to etcd, kubectl, probes): an edge Envoy once failed to start on
 * an admin port a connection held. Where the kernel's range leaves no room below it, port 0 is
 * used as before. All sockets of one request stay open until every port is known, so one
 * request never returns the same port twice.
 */
import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import { PortInUseError } from './errors';
import { hostEphemeralRange, serverPortRange, type PortRange } from './ephemeral-port-range';

export const LOOPBACK = '127.0.0.1';

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `count` distinct free ports on `host`. `exclude` lists ports the caller already plans to use
 * (fixed ports not yet bound), which the kernel could otherwise hand out.
 */
export async function getFreePorts(count: number, options: { host?: string; exclude?: readonly number[] } = {}): Promise<number[]> {
  const host = options.host ?? LOOPBACK;
  const exclude = new Set(options.exclude ?? []);
  const range = serverPortRange(hostEphemeralRange());
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    let attempts = 0;
    while (ports.length < count) {
      const server = range && attempts < MAX_RANDOM_ATTEMPTS ? await listenOnRandom(range, host) : await listen(0, host);
      attempts++;
      if (!server) continue;
      held.push(server);
      const port = (server.address() as net.AddressInfo).port;
      if (!exclude.has(port) && !ports.includes(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map(close));
  }
}

/** Random picks tried before falling back to port 0 (a crowded range). */
const MAX_RANDOM_ATTEMPTS = 200;

/** A server on a random port of `range`, or undefined when that port is taken. */
async function listenOnRandom(range: PortRange, host: string): Promise<net.Server | undefined> {
  try {
    return await listen(randomInt(range.low, range.high + 1), host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') return undefined;
    throw err;
  }
}

export async function getFreePort(options: { host?: string; exclude?: readonly number[] } = {}): Promise<number> {
  const [port] = await getFreePorts(1, options);
  return port!;
}

/** Throws PortInUseError, naming `component`, if `port` cannot be bound on `host` right now. */
export async function assertPortFree(port: number, component: string, host = LOOPBACK): Promise<void> {
  let server: net.Server;
  try {
    server = await listen(port, host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, component, host);
    throw err;
  }
  await close(server);
}
