/**
 * The hub's public address in the fleet lab (fleet-lab.ts) and the deployment tests: what a
 * cloud load balancer in front of the hub's Services would be. TCP ports on one address of the
 * host (a firewalled site's host end, which the site may dial and every other network
 * namespace reaches through the host) forwarded to the same ports of the hub node, where the
 * NodePorts are. Users, operators and member clusters all use this one address, as they
 * would a load balancer's.
 */
import * as net from 'node:net';

export interface PublicAddress {
  readonly address: string;
  stop(): Promise<void>;
}

export async function startPublicAddress(props: { address: string; ports: readonly number[]; target: string }): Promise<PublicAddress> {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  for (const port of props.ports) {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: props.target, port });
      track(client);
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, props.address, resolve);
    });
    servers.push(server);
  }
  return {
    address: props.address,
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
