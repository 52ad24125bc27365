/**
 * A real node's own network namespace, so that what the kubelet and kube-proxy do to iptables
 * and `net.*` sysctls, the CNI bridge and the pods' addresses stay inside it and vanish with it,
 * and two nodes on one machine use the same ports without meeting. The namespace reaches the
 * host over one veth pair in a /24 of its own (host end .1, node end .2, the node's InternalIP,
 * where the apiserver reaches its kubelet); the node's pods get another /24, routed by the host
 * through the node, and forwarding is switched on for the host end of the veth only (the host's
 * global ip_forward is left as it was), so nodes and their pods reach each other through the host.
 * Only network namespaces: processes run with `nsenter --net`, never `ip netns exec`, which
 * would also give each one a mount namespace and a fresh /sys without the cgroup mounts.
 */
import * as fs from 'node:fs';
import type { Logger } from '../../control-plane/log/logger';
import { resolveNetworkTools, runTool, type NetworkTools } from '../netns/commands';
import { NetnsCommandError } from '../netns/errors';
import { hostRoutes, linkExists, namespaceExists } from '../netns/host-network';
import { ownerTag } from '../netns/site-netns-name';
import { overlappingRoutes } from '../netns/subnet';
import { NoFreeNodeSubnetError } from './errors';

/** Node links are 10.215.<i>.0/24; the pods of node i are 10.216.<i>.0/24. */
export const NODE_LINK_POOL = '10.215.0.0/16';
export const POD_POOL = '10.216.0.0/16';
/** Every real node's namespace starts with this. */
export const NODE_NETNS_PREFIX = 'kgnode-';

export interface NodeNetwork {
  readonly index: number;
  /** kgnode-<index>-<pid>-<start time> */
  readonly netns: string;
  /** /run/netns/<netns>, what `nsenter --net=` takes. */
  readonly netnsPath: string;
  /** 10.215.<i>.1, on the host. */
  readonly hostAddress: string;
  /** 10.215.<i>.2, the node's InternalIP. */
  readonly nodeAddress: string;
  readonly hostInterface: string;
  readonly nodeInterface: string;
  /** 10.216.<i>.0/24 */
  readonly podCidr: string;
  readonly tools: NetworkTools;
}

const MIN_INDEX = 1;
const MAX_INDEX = 254;

function addressesFor(index: number) {
  return {
    linkCidr: `10.215.${index}.0/24`,
    hostAddress: `10.215.${index}.1`,
    nodeAddress: `10.215.${index}.2`,
    hostInterface: `kn10-215-${index}h`,
    nodeInterface: `kn10-215-${index}n`,
    podCidr: `10.216.${index}.0/24`,
  };
}

/**
 * Claims a free index (creating the veth pair, whose name derives from it, is the claim, so two
 * processes never get the same one), then builds the namespace around it. Undone if any step fails.
 */
export async function createNodeNetwork(logger: Logger): Promise<NodeNetwork> {
  const tools = resolveNetworkTools();
  const span = MAX_INDEX - MIN_INDEX + 1;
  const start = (process.pid * 7) % span;
  for (let i = 0; i < span; i++) {
    const index = MIN_INDEX + ((start + i) % span);
    const a = addressesFor(index);
    const routes = await hostRoutes(tools);
    if (overlappingRoutes(a.linkCidr, routes).length > 0 || overlappingRoutes(a.podCidr, routes).length > 0) continue;
    try {
      await runTool(tools.ip, ['link', 'add', a.hostInterface, 'type', 'veth', 'peer', 'name', a.nodeInterface]);
    } catch (err) {
      if (err instanceof NetnsCommandError && /File exists/i.test(err.stderr)) continue;
      throw err;
    }
    const netns = `${NODE_NETNS_PREFIX}${index}-${ownerTag()}`;
    const network: NodeNetwork = { index, netns, netnsPath: `/run/netns/${netns}`, ...a, tools };
    try {
      await buildAround(network);
    } catch (err) {
      await removeNodeNetwork(network, logger).catch((cleanupErr: unknown) => logger.error('cleanup after a failed node network failed', { netns, error: cleanupErr }));
      throw err;
    }
    logger.info('node network ready', { netns, nodeAddress: network.nodeAddress, podCidr: network.podCidr });
    return network;
  }
  throw new NoFreeNodeSubnetError(NODE_LINK_POOL);
}

async function buildAround(n: NodeNetwork): Promise<void> {
  const { ip } = n.tools;
  const inside = (...args: string[]) => runTool(ip, ['-n', n.netns, ...args]);
  await runTool(ip, ['netns', 'add', n.netns]);
  await runTool(ip, ['link', 'set', 'dev', n.nodeInterface, 'netns', n.netns]);
  // No IPv6 on the link: nothing in the tests uses it, and no link-local address then appears.
  await runTool(ip, ['link', 'set', 'dev', n.hostInterface, 'addrgenmode', 'none']);
  await inside('link', 'set', 'dev', n.nodeInterface, 'addrgenmode', 'none');
  await runTool(ip, ['addr', 'add', `${n.hostAddress}/24`, 'dev', n.hostInterface]);
  await inside('addr', 'add', `${n.nodeAddress}/24`, 'dev', n.nodeInterface);
  await inside('link', 'set', 'dev', 'lo', 'up');
  await runTool(ip, ['link', 'set', 'dev', n.hostInterface, 'up']);
  await inside('link', 'set', 'dev', n.nodeInterface, 'up');
  await inside('route', 'add', 'default', 'via', n.hostAddress, 'dev', n.nodeInterface);
  // Bound to the host end of the veth: both go away with the link.
  await runTool(ip, ['route', 'add', n.podCidr, 'via', n.nodeAddress, 'dev', n.hostInterface]);
  fs.writeFileSync(`/proc/sys/net/ipv4/conf/${n.hostInterface}/forwarding`, '1\n');
  // /proc/sys/net belongs to the namespace of whoever opens it: written from inside.
  await runTool(ip, ['netns', 'exec', n.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
}

/** Pids of the processes whose network namespace is the node's. */
export async function processesInNode(n: Pick<NodeNetwork, 'tools' | 'netns'>): Promise<number[]> {
  try {
    const { stdout } = await runTool(n.tools.ip, ['netns', 'pids', n.netns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

/** Kills what is left inside, then removes the veth pair (and with it the routes) and the namespace. Idempotent. */
export async function removeNodeNetwork(n: NodeNetwork, logger: Logger): Promise<void> {
  if (await namespaceExists(n.tools, n.netns)) {
    for (const pid of await processesInNode(n)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  if (await linkExists(n.tools, n.hostInterface)) await runTool(n.tools.ip, ['link', 'del', 'dev', n.hostInterface]);
  if (await namespaceExists(n.tools, n.netns)) await runTool(n.tools.ip, ['netns', 'del', n.netns]);
  logger.info('node network removed', { netns: n.netns });
}
