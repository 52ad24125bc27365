/**
 * Makes ports on the host's loopback (kube-apiserver, the local registry) answer on the same
 * address and port inside a node's network namespace, so the kubelet, kube-proxy and containerd
 * use the URLs and image references everyone else uses (https://127.0.0.1:<port>,
 * 127.0.0.1:<port>/kubegate/agent@sha256:...) and certificates keep matching. Sockets cannot
 * cross namespaces, but a Unix socket is a file: one relay process on the host connects each
 * Unix socket to its loopback port, one inside the node listens on the TCP port and connects to
 * the Unix socket. Nothing on the host listens on anything but those files. The node-side
 * relay also serves plain forwards inside the node (an address of the node to its own loopback),
 * for a node that shares its namespace with a cluster's apiserver (a firewalled site).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../control-plane/log/logger';
import type { ManagedProcess } from '../process/managed-process';
import { startReadyProcess } from '../process/start-ready-process';
import { nodeEnvironment, nodeProcessProps } from './node-process';

type Endpoint = { readonly host: string; readonly port: number } | { readonly path: string };
interface RelaySpec {
  readonly listen: Endpoint;
  readonly connect: Endpoint;
}

/**
 * The relay program, run with `node -e`: one argument, a JSON list of {listen, connect}. Each
 * accepted connection is piped both ways to a new connection to `connect`; either side closing
 * or failing closes the other. Prints one line once every listener is bound.
 */
const RELAY_PROGRAM = `
const net = require('node:net');
const fs = require('node:fs');
const specs = JSON.parse(process.argv[1]);
let bound = 0;
for (const spec of specs) {
  if (spec.listen.path) fs.rmSync(spec.listen.path, { force: true });
  const server = net.createServer((client) => {
    const upstream = net.connect(spec.connect);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('error', close); upstream.on('error', close);
    client.on('close', close); upstream.on('close', close);
  });
  server.on('error', (err) => { console.error('relay cannot listen on ' + JSON.stringify(spec.listen) + ': ' + err.message); process.exit(1); });
  server.listen(spec.listen, () => { if (++bound === specs.length) console.log('relay ready'); });
}
process.on('SIGTERM', () => process.exit(0));
`;

export interface RelayedPort {
  /** The port on the host's 127.0.0.1 and inside the node. */
  readonly port: number;
  /** Inside the node, listen on every address (0.0.0.0), not only loopback. @default false */
  readonly allAddresses?: boolean;
}

/** Inside the node only: `address:port` leads to 127.0.0.1:port of the node's own namespace. */
export interface LocalForward {
  readonly address: string;
  readonly port: number;
}

export interface LoopbackRelay {
  readonly processes: readonly ManagedProcess[];
  stop(): Promise<void>;
}

export interface LoopbackRelayProps {
  readonly netnsPath: string;
  /** Holds the Unix sockets and the relays' logs. */
  readonly dir: string;
  readonly ports: readonly RelayedPort[];
  /** @default [] */
  readonly localForwards?: readonly LocalForward[];
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
}

export async function startLoopbackRelay(props: LoopbackRelayProps): Promise<LoopbackRelay> {
  fs.mkdirSync(props.dir, { recursive: true });
  const socket = (port: number) => path.join(props.dir, `${port}.sock`);
  const hostSide: RelaySpec[] = props.ports.map((p) => ({ listen: { path: socket(p.port) }, connect: { host: '127.0.0.1', port: p.port } }));
  const nodeSide: RelaySpec[] = [
    ...props.ports.map((p) => ({ listen: { host: p.allAddresses ? '0.0.0.0' : '127.0.0.1', port: p.port }, connect: { path: socket(p.port) } })),
    ...(props.localForwards ?? []).map((f) => ({ listen: { host: f.address, port: f.port }, connect: { host: '127.0.0.1', port: f.port } })),
  ];
  const start = (name: string, specs: RelaySpec[], inNode: boolean) => {
    const logFile = path.join(props.dir, `${name}.log`);
    const base = { component: name, binary: process.execPath, args: ['-e', RELAY_PROGRAM, JSON.stringify(specs)], logFile, logger: props.logger, env: nodeEnvironment(), stopTimeoutMs: 5_000 };
    return startReadyProcess(inNode ? nodeProcessProps(props.netnsPath, base) : base, {
      url: logFile,
      timeoutMs: props.readyTimeoutMs,
      check: async () => (fs.readFileSync(logFile, 'utf8').includes('relay ready') ? null : 'no "relay ready" line yet'),
    });
  };
  const host = hostSide.length > 0 ? await start('relay-host', hostSide, false) : undefined;
  let node: ManagedProcess;
  try {
    node = await start('relay-node', nodeSide, true);
  } catch (err) {
    await host?.stop();
    throw err;
  }
  return {
    processes: host ? [host, node] : [node],
    stop: async () => {
      await Promise.all([node.stop(), host?.stop()]);
    },
  };
}
