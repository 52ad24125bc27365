/**
 * A real node joining a running 'full' LocalCluster: containerd and runc run the pods, the
 * kubelet registers a Node and serves logs, exec and port-forward, kube-proxy programs Services,
 * and the CNI bridge gives each pod an address, all inside a network namespace of the node's own
 * (node-network.ts) with its state under `stateDir`. Deployments of kubegate's images, pulled
 * from the local registry, really start and serve there.
 *
 *   const node = await RealNode.join(cluster, { name: 'node-0', stateDir, registry: registry.address });
 *   ...
 *   await node.stop();   // processes, containers, mounts, cgroups, namespace, host sysctls and dirs
 *
 * stop() puts the host back as it was: every process ended, every mount under the node's
 * directory gone, the node's cgroups and network namespace removed, and (once the last node of
 * this process has stopped) the kernel sysctls the kubelet changed and the host directories the
 * components created restored. README.md beside this file says what changes where.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createLogger, type Logger } from '../../control-plane/log/logger';
import type { LocalCluster } from '../local-cluster/local-cluster';
import { assertExecutable } from '../process/executable';
import type { ManagedProcess } from '../process/managed-process';
import { loadToolchain, type Toolchain } from '../toolchain/tools';
import { resolveNetworkTools, runToolSync } from '../netns/commands';
import { writeCniConfig } from './cni-config';
import { ctrBinary, startContainerd, type ContainerdPaths } from './containerd';
import { NodeLeftoversError, RealNodeConfigError, RealNodeNotRootError } from './errors';
import { acquireHostChanges, hostChangesHolders, recordedHostState, releaseHostChanges, removeNodeHostEntries, restoreHostChangesNow } from './host-changes';
import { KUBE_PROXY_USER, startKubeProxy } from './kube-proxy';
import { KUBELET_PORT, startKubelet } from './kubelet';
import { startLoopbackRelay, type LoopbackRelay } from './loopback-relay';
import { forgetNode, nodeReadiness, publishApiserverEndpoint, type ClusterAccess } from './node-api';
import { createCgroupRoot, processesInCgroupRoot, removeCgroupRoot } from './node-cgroups';
import { createNodeNetwork, processesInNode, removeNodeNetwork, type NodeNetwork } from './node-network';
import { inNodeNetwork, nodeEnvironment } from './node-process';
import { mountsUnder, processesNaming, removeAllContainers, unmountAllUnder } from './node-teardown';
import { openSiteForPods, readSiteNetworkState, restoreSiteNetworkState, type SiteNetworkState } from './site-node-firewall';
import { NODE_BRIDGE } from './cni-config';
import { HOST_PLACEMENT } from '../process/process-placement';
import type { FirewalledSite } from '../netns/firewalled-site';
import { currentOwner, removeNodeRecord, writeNodeRecord } from './node-records';
import { pushPauseImage } from './pause-image';
import { cleanupStaleNodes } from './stale-node-cleanup';

export interface RealNodeTimeouts {
  /** containerd's CRI plugin up, kube-proxy's first rules. @default 60000 */
  readonly componentReadyMs?: number;
  /** From the kubelet's start to a Ready, untainted Node. @default 120000 */
  readonly nodeReadyMs?: number;
  /** How long each process gets after SIGTERM before SIGKILL. @default 15000 */
  readonly stopMs?: number;
}

export interface RealNodeProps {
  /** The Node's name: lower-case letters, digits and dashes, at most 40 characters. */
  readonly name: string;
  /** Everything of the node (containerd's images and snapshots, the kubelet's root, logs) goes here. */
  readonly stateDir: string;
  /** 127.0.0.1:<port> of the local registry (dev/images/local-registry.ts) the node pulls from over plain HTTP. */
  readonly registry: string;
  /** @default loadToolchain() */
  readonly toolchain?: Toolchain;
  /** @default createLogger('real-node') */
  readonly logger?: Logger;
  /** @default see RealNodeTimeouts */
  readonly timeouts?: RealNodeTimeouts;
  /**
   * Run the node inside this firewalled site, where the cluster (started with the site's
   * placement) runs too: the node shares the site's namespace and firewall, dials out only
   * where the site may, and nothing connects in; its pods may open connections only to the
   * site's allowed destinations (site-node-firewall.ts). @default the node's own namespace
   */
  readonly site?: FirewalledSite;
}

/** The pods' range of a node in a firewalled site: routed nowhere outside the site, so every site may use it. */
export const SITE_POD_CIDR = '10.217.0.0/24';

const NAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const DEFAULT_TIMEOUTS: Required<RealNodeTimeouts> = { componentReadyMs: 60_000, nodeReadyMs: 120_000, stopMs: 15_000 };

// Nodes still up when this process exits are taken apart synchronously (best effort), as far
// as that can be done without the event loop: processes killed, mounts detached, namespace,
// cgroups and host changes undone.
const liveNodes = new Set<RealNode>();
let exitHookInstalled = false;
function trackNode(node: RealNode, logger: Logger): void {
  if (!exitHookInstalled) {
    process.on('exit', () => {
      for (const n of liveNodes) n.teardownSync();
      restoreHostChangesNow(logger);
    });
    exitHookInstalled = true;
  }
  liveNodes.add(node);
}

interface Parts {
  /** The node's own namespace, or the site's (ownNetwork false). */
  network?: NodeNetwork;
  ownNetwork?: boolean;
  /** The site's tables and sysctls before the node, put back by stop(). */
  siteState?: SiteNetworkState;
  cgroupRoot?: string;
  relay?: LoopbackRelay;
  containerd?: { process: ManagedProcess; paths: ContainerdPaths };
  kubelet?: ManagedProcess;
  kubeProxy?: ManagedProcess;
}

export class RealNode {
  readonly name: string;
  readonly stateDir: string;
  readonly logDir: string;
  /** Milliseconds from join() to a Ready Node (for the figures in reports). */
  readyAfterMs = 0;
  private readonly parts: Parts = {};
  private hostChangesHeld = false;
  private readonly owner = currentOwner();
  /** The CNI network's name; libcni's cache files on the host carry it. */
  private get cniNetwork(): string {
    return `kubegate-${this.name}-${this.owner}`;
  }
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly cluster: LocalCluster,
    private readonly props: RealNodeProps,
    private readonly toolchain: Toolchain,
    private readonly logger: Logger,
  ) {
    this.name = props.name;
    this.stateDir = path.resolve(props.stateDir);
    this.logDir = path.join(this.stateDir, 'logs');
  }

  /** Starts the node's components and resolves once its Node is Ready and kube-proxy serves Services. */
  static async join(cluster: LocalCluster, props: RealNodeProps): Promise<RealNode> {
    const euid = process.geteuid?.() ?? -1;
    if (euid !== 0) throw new RealNodeNotRootError(euid);
    if (!NAME_PATTERN.test(props.name)) throw new RealNodeConfigError(`name ${JSON.stringify(props.name)} must be lower-case letters, digits and dashes (at most 40), starting with a letter`);
    if (cluster.controlPlane !== 'full') throw new RealNodeConfigError(`cluster ${cluster.name} runs controlPlane '${cluster.controlPlane}': a real node needs 'full' (a scheduler and controllers)`);
    if (!/^127\.0\.0\.1:\d+$/.test(props.registry)) throw new RealNodeConfigError(`registry ${JSON.stringify(props.registry)} must be 127.0.0.1:<port>, the local registry`);
    const toolchain = props.toolchain ?? loadToolchain();
    for (const [component, binary] of [['kubelet', toolchain.kubelet], ['kube-proxy', toolchain.kubeProxy], ['containerd', toolchain.containerd], ['runc', toolchain.runc], ['pause', toolchain.pause], ['ctr', ctrBinary(toolchain.containerd)]] as const) assertExecutable(component, binary);
    const node = new RealNode(cluster, props, toolchain, props.logger ?? createLogger('real-node'));
    try {
      await node.start();
    } catch (err) {
      node.logger.error('real node failed to start; taking it apart', { node: node.name, error: err });
      await node.stop().catch((stopErr: unknown) => node.logger.error('taking the failed node apart failed', { node: node.name, error: stopErr }));
      throw err;
    }
    return node;
  }

  /** The cluster's API as seen from where the cluster runs (the host or the site). */
  private get access(): ClusterAccess {
    return { cluster: this.cluster, placement: this.props.site?.placement ?? HOST_PLACEMENT };
  }

  /** The node's InternalIP (its end of the link to the host). */
  get address(): string {
    return this.parts.network!.nodeAddress;
  }

  /** The host's end of the node's link: where the node's pods reach a service on the host. */
  get hostAddress(): string {
    return this.parts.network!.hostAddress;
  }

  /** The /24 its pods get addresses from. */
  get podCidr(): string {
    return this.parts.network!.podCidr;
  }

  /** The node's network namespace (under /run/netns). */
  get netns(): string {
    return this.parts.network!.netns;
  }

  /** The node's cgroup root in every hierarchy, e.g. /kubegate-node-0-1234. */
  get cgroupRoot(): string {
    return this.parts.cgroupRoot!;
  }

  get pids(): { containerd: number; kubelet: number; kubeProxy: number; relays: number[] } {
    const p = this.parts;
    return { containerd: p.containerd!.process.pid!, kubelet: p.kubelet!.pid!, kubeProxy: p.kubeProxy!.pid!, relays: p.relay!.processes.map((r) => r.pid!) };
  }

  /** The command line that runs `binary args` inside the node's network namespace (e.g. to reach a ClusterIP). */
  command(binary: string, args: readonly string[]): { binary: string; args: string[] } {
    return inNodeNetwork(this.parts.network!.netnsPath, binary, args);
  }

  private async start(): Promise<void> {
    const started = Date.now();
    const { toolchain, cluster, logger, parts } = this;
    const timeouts = { ...DEFAULT_TIMEOUTS, ...this.props.timeouts };
    const dir = this.stateDir;
    fs.mkdirSync(this.logDir, { recursive: true });
    logger.info('real node joining', { node: this.name, cluster: cluster.name, stateDir: dir });
    // Before the first node records the host as it is: a crashed run's changes are not the host's own.
    if (hostChangesHolders() === 0) await cleanupStaleNodes({ logger });
    trackNode(this, logger);
    acquireHostChanges();
    this.hostChangesHeld = true;
    this.saveRecord();

    const site = this.props.site;
    const network = (parts.network = site ? siteNetwork(site) : await createNodeNetwork(logger));
    parts.ownNetwork = !site;
    this.saveRecord();
    parts.cgroupRoot = `/kubegate-${this.name}-${this.owner}`;
    this.saveRecord();
    createCgroupRoot(parts.cgroupRoot);
    const apiserverPort = cluster.ports.apiserver;
    const registryPort = Number(this.props.registry.split(':')[1]);
    parts.relay = await startLoopbackRelay({
      netnsPath: network.netnsPath,
      dir: path.join(dir, 'relay'),
      // The apiserver's end inside the node also listens on the node's address: the endpoint of
      // the `kubernetes` Service. In a site the apiserver is on the node's own loopback already.
      ports: site ? [{ port: registryPort }] : [{ port: apiserverPort, allAddresses: true }, { port: registryPort }],
      localForwards: site ? [{ address: network.nodeAddress, port: apiserverPort }] : [],
      logger,
      readyTimeoutMs: timeouts.componentReadyMs,
    });

    if (site) {
      parts.siteState = await readSiteNetworkState(network.netnsPath);
      await openSiteForPods(network.netnsPath, NODE_BRIDGE);
    }
    const sandboxImage = await pushPauseImage({ crane: toolchain.crane, pause: toolchain.pause, registry: this.props.registry, workDir: path.join(dir, 'work') });
    const cniConfigDir = path.join(dir, 'cni', 'net.d');
    writeCniConfig({ configDir: cniConfigDir, ipamDir: path.join(dir, 'cni', 'ipam'), podCidr: network.podCidr, networkName: this.cniNetwork });
    parts.containerd = await startContainerd({
      binary: toolchain.containerd,
      runc: toolchain.runc,
      netnsPath: network.netnsPath,
      dir: path.join(dir, 'containerd'),
      logDir: this.logDir,
      cniPluginDir: toolchain.cniPluginDir,
      cniConfigDir,
      sandboxImage,
      plainHttpRegistries: [this.props.registry],
      logger: logger.child('containerd'),
      readyTimeoutMs: timeouts.componentReadyMs,
      stopTimeoutMs: timeouts.stopMs,
    });

    await publishApiserverEndpoint(this.access, this.name, network.nodeAddress, apiserverPort);
    parts.kubelet = (
      await startKubelet({
        binary: toolchain.kubelet,
        netnsPath: network.netnsPath,
        nodeName: this.name,
        nodeAddress: network.nodeAddress,
        dir: path.join(dir, 'kubelet'),
        logDir: this.logDir,
        apiserverUrl: cluster.apiserverUrl,
        clusterName: cluster.name,
        caPem: cluster.caPem,
        clientCertificate: cluster.issueClientCertificate(`system:node:${this.name}`, ['system:nodes']),
        servingCertificate: cluster.issueServingCertificate(this.name, { dnsNames: [this.name], ipAddresses: [network.nodeAddress] }),
        containerdSocket: parts.containerd.paths.socket,
        cgroupRoot: parts.cgroupRoot,
        logger: logger.child('kubelet'),
        stopTimeoutMs: timeouts.stopMs,
        readiness: { url: `${cluster.apiserverUrl}/api/v1/nodes/${this.name}`, timeoutMs: timeouts.nodeReadyMs, check: () => nodeReadiness(this.access, this.name) },
      })
    ).process;
    this.readyAfterMs = Date.now() - started;
    parts.kubeProxy = await startKubeProxy({
      binary: toolchain.kubeProxy,
      netnsPath: network.netnsPath,
      nodeName: this.name,
      podCidr: network.podCidr,
      dir: path.join(dir, 'kube-proxy'),
      logDir: this.logDir,
      apiserverUrl: cluster.apiserverUrl,
      clusterName: cluster.name,
      caPem: cluster.caPem,
      clientCertificate: cluster.issueClientCertificate(KUBE_PROXY_USER, []),
      inSite: !!site,
      logger: logger.child('kube-proxy'),
      readyTimeoutMs: timeouts.componentReadyMs,
      stopTimeoutMs: timeouts.stopMs,
    });
    logger.info('real node ready', { node: this.name, address: network.nodeAddress, kubeletPort: KUBELET_PORT, podCidr: network.podCidr, readySeconds: Math.round(this.readyAfterMs / 100) / 10 });
  }

  /**
   * Stops everything of the node and puts the host back; throws NodeLeftoversError naming
   * anything that could not be removed. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    const { parts, logger } = this;
    logger.info('real node stopping', { node: this.name });
    await Promise.all([parts.kubeProxy?.stop(), parts.kubelet?.stop()]);
    if (parts.containerd) await removeAllContainers(ctrBinary(this.toolchain.containerd), parts.containerd.paths.socket, logger);
    await parts.containerd?.process.stop();
    // Shims, pause and container processes containerd could not take down.
    await this.killLeftoverProcesses();
    const leftovers: string[] = [];
    leftovers.push(...(await unmountAllUnder(this.stateDir, logger)).map((m) => `mount ${m}`));
    if (parts.cgroupRoot) leftovers.push(...removeCgroupRoot(parts.cgroupRoot));
    removeNodeHostEntries([...(parts.cgroupRoot ? [parts.cgroupRoot.slice(1)] : []), this.cniNetwork], this.stateDir, logger);
    await parts.relay?.stop();
    if (parts.network && parts.ownNetwork) await removeNodeNetwork(parts.network, logger);
    if (parts.network && parts.siteState) await restoreSiteNetworkState(parts.network.netnsPath, parts.siteState, NODE_BRIDGE);
    await forgetNode(this.access, this.name).catch((err: unknown) => logger.warn('could not remove the Node and its endpoint from the cluster', { node: this.name, error: err }));
    if (this.hostChangesHeld) {
      this.hostChangesHeld = false;
      leftovers.push(...releaseHostChanges(logger));
    }
    removeNodeRecord({ owner: this.owner, node: this.name });
    // Images and snapshots are big; the logs stay.
    for (const big of ['containerd', path.join('kubelet', 'root')]) fs.rmSync(path.join(this.stateDir, big), { recursive: true, force: true });
    liveNodes.delete(this);
    if (leftovers.length > 0) throw new NodeLeftoversError(this.name, leftovers);
    logger.info('real node stopped', { node: this.name });
  }

  /** What a later run needs to undo this node if this process is SIGKILLed (node-records.ts). */
  private saveRecord(): void {
    const { network, cgroupRoot } = this.parts;
    const before = recordedHostState();
    writeNodeRecord({
      node: this.name,
      owner: this.owner,
      stateDir: this.stateDir,
      ...(network && this.parts.ownNetwork ? { netns: network.netns, hostInterface: network.hostInterface } : {}),
      ...(cgroupRoot ? { cgroupRoot } : {}),
      sysctlsBefore: before.sysctls,
      dirsBefore: before.dirs,
    });
  }

  private async killLeftoverProcesses(): Promise<void> {
    const { network, cgroupRoot, ownNetwork } = this.parts;
    // In a site, the namespace also holds the cluster: only what names the node's directory (shims, relays) or is in its cgroups.
    const find = async () => [...new Set([...(network && ownNetwork ? await processesInNode(network) : []), ...(cgroupRoot ? processesInCgroupRoot(cgroupRoot) : []), ...processesNaming(this.stateDir)])];
    const deadline = Date.now() + 10_000;
    for (let pids = await find(); pids.length > 0; pids = await find()) {
      if (Date.now() > deadline) {
        this.logger.warn('processes of the node survived SIGKILL', { node: this.name, pids });
        return;
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Best-effort synchronous teardown for the process 'exit' hook. */
  teardownSync(): void {
    const { network, cgroupRoot, ownNetwork } = this.parts;
    const pids = [...processesNaming(this.stateDir), ...(network && ownNetwork ? runToolSync(network.tools.ip, ['netns', 'pids', network.netns]).stdout.split(/\s+/).filter(Boolean).map(Number) : []), ...(cgroupRoot ? processesInCgroupRoot(cgroupRoot) : [])];
    for (const pid of pids) {
      try {
        if (pid !== process.pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const point of mountsUnder(this.stateDir)) spawnSync('umount', ['-l', point], { env: nodeEnvironment() });
    if (cgroupRoot) removeCgroupRoot(cgroupRoot);
    if (network && ownNetwork) {
      runToolSync(network.tools.ip, ['link', 'del', 'dev', network.hostInterface]);
      runToolSync(network.tools.ip, ['netns', 'del', network.netns]);
    }
    removeNodeRecord({ owner: this.owner, node: this.name });
    liveNodes.delete(this);
  }
}

/** The site's namespace as the node's network: its address is the node's; the site owns and removes it. */
function siteNetwork(site: FirewalledSite): NodeNetwork {
  return {
    index: 0,
    netns: site.netns,
    netnsPath: `/run/netns/${site.netns}`,
    hostAddress: site.hostAddress,
    nodeAddress: site.siteAddress,
    hostInterface: site.subnet.hostInterface,
    nodeInterface: site.subnet.siteInterface,
    podCidr: SITE_POD_CIDR,
    tools: resolveNetworkTools(),
  };
}
