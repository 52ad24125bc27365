/**
 * Free TCP ports on the loopback interface. A port is found by binding port 0 and reading what
 * the kernel chose; all sockets of one request stay open until every port is known, so one
 * request never returns the same port twice.
 */
import * as net from 'node:net';
import { PortInUseError } from './errors';

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
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = await listen(0, host);
      held.push(server);
      const port = (server.address() as net.AddressInfo).port;
      if (!exclude.has(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map(close));
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
