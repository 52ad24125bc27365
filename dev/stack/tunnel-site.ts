/**
 * One cluster the local stack reaches only through reverse tunnels, as a cluster behind a
 * firewall. By default everything of the cluster runs inside its own firewalled network
 * namespace (dev/netns), which drops every inbound connection and lets out only the
 * connections to the control plane's agent port and the edge's tunnel listener:
 *
 *   - a real control plane (etcd, kube-apiserver, kube-scheduler, kube-controller-manager) and a
 *     kwok node, so Deployments get Pods and exec, logs and port-forward are real;
 *   - the kubegate namespaces and RBAC the agent needs, applied as a cluster admin would;
 *   - the agent, as its own process (`dist/agent/main.js`), joined with a one-time token and
 *     authenticated to the cluster with its own ServiceAccount's token;
 *   - the in-cluster Envoy the control plane programs.
 *
 * The harness itself looks inside the way an operator with a shell in the cluster would (kubectl
 * and probes run under `ip netns exec`), never over the network.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../control-plane/log/logger';
import type { Store } from '../../control-plane/store/store';
import type { Toolchain } from '../toolchain/tools';
import { startLocalCluster, type LocalCluster } from '../local-cluster/local-cluster';
import type { LocalClusterControlPlane } from '../local-cluster/local-cluster-props';
import { EnvoyProcess } from '../process/envoy-process';
import type { KwokPodIoProps } from '../local-cluster/kwok';
import { getFreePorts } from '../process/free-port';
import type { ManagedProcess } from '../process/managed-process';
import { HOST_PLACEMENT, type ProcessPlacement } from '../process/process-placement';
import { FirewalledSite } from '../netns/firewalled-site';
import { newJoinToken, hashJoinSecret } from '../../control-plane/agent-gateway/join-token';
import { AGENT_SERVICE_ACCOUNT } from '../../agent/rbac/rbac-names';
import { agentRbacManifests } from '../../constructs/agent-rbac';
import { SYSTEM_NAMESPACE } from '../../agent/protocol/identities';
import { controlPlaneCaFileOf, secretsDirectoryOf } from '../../agent/runtime/agent';
import { inClusterEnvoyBootstrap } from '../../agent/runtime/in-cluster-envoy-bootstrap';
import { compiledEntry } from '../toolchain/compiled-entry';
import { SitePod, type SitePodOptions } from './site-pod';

/** ClusterRoles a local cluster's admin lets kubegate bind. */
export const LOCAL_ALLOWED_CLUSTER_ROLES = ['cluster-admin', 'admin', 'edit', 'view', 'kubegate-e2e-reader', 'kubegate-e2e-editor'];

/** The agent's ServiceAccount token lasts this long and is replaced after half of it. */
const AGENT_TOKEN_LIFETIME_S = 24 * 3600;

/**
 * 'network-namespace': the cluster's processes run in a firewalled site (needs root);
 * 'none': on the host's loopback, for measurements that compare with a direct baseline.
 */
export type TunnelSiteIsolation = 'network-namespace' | 'none';

export interface TunnelSiteProps {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly stateDir: string;
  readonly toolchain: Toolchain;
  readonly store: Store;
  /** The control plane's agent port and the internal CA agents verify it with. */
  readonly controlPlane: { readonly port: number; readonly caPem: string };
  /** The edge's tunnel listener port; the in-cluster Envoy dials it. */
  readonly edgeTunnelPort: number;
  /** The id of the agent's current session at the control plane, undefined while it has none. */
  readonly agentSessionId: () => number | undefined;
  /** Told the host address the firewalled site reaches the edge at, as soon as it exists. */
  readonly onFirewalled?: (hostAddress: string) => void;
  /** @default 'network-namespace' */
  readonly isolation?: TunnelSiteIsolation;
  /** @default 'full' (with one kwok node) */
  readonly controlPlaneComponents?: LocalClusterControlPlane;
  /** What the kwok node's exec, logs and port-forward use (see KwokPodIoProps). @default kwok's defaults */
  readonly podIo?: KwokPodIoProps;
  readonly logger: Logger;
}

export class TunnelSite {
  private agentProcess: ManagedProcess | undefined;
  private envoyProcess: EnvoyProcess | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly props: TunnelSiteProps,
    readonly cluster: LocalCluster,
    /** The firewalled site, unless isolation is 'none'. */
    readonly firewall: FirewalledSite | undefined,
    private readonly envoyAdminPort: number,
  ) {}

  /** Where the cluster's processes run and the harness looks at them from. */
  get placement(): ProcessPlacement {
    return this.firewall?.placement ?? HOST_PLACEMENT;
  }

  /** The address the cluster reaches the host (edge, control plane) at. */
  get hostAddress(): string {
    return this.firewall?.hostAddress ?? '127.0.0.1';
  }

  get agentStateDir(): string {
    return path.join(this.props.stateDir, 'agent');
  }

  /** The agent's files for the in-cluster Envoy (certificate, apiserver credential). */
  get secretsDirectory(): string {
    return secretsDirectoryOf(this.agentStateDir);
  }

  get agent(): ManagedProcess {
    if (!this.agentProcess) throw new Error(`the agent of "${this.props.name}" is not running`);
    return this.agentProcess;
  }

  get envoy(): EnvoyProcess {
    if (!this.envoyProcess) throw new Error(`the in-cluster Envoy of "${this.props.name}" is not running`);
    return this.envoyProcess;
  }

  static async start(props: TunnelSiteProps): Promise<TunnelSite> {
    const isolation = props.isolation ?? 'network-namespace';
    let firewall: FirewalledSite | undefined;
    let cluster: LocalCluster | undefined;
    let site: TunnelSite | undefined;
    try {
      if (isolation === 'network-namespace') {
        firewall = await new FirewalledSite({
          name: props.name.slice(0, 24).replace(/-+$/, ''),
          allowOutboundTo: [{ port: props.controlPlane.port }, { port: props.edgeTunnelPort }],
          logger: props.logger.child('firewall'),
        }).create();
        props.onFirewalled?.(firewall.hostAddress);
      }
      const placement = firewall?.placement ?? HOST_PLACEMENT;
      cluster = await startLocalCluster({
        name: props.name,
        stateDir: props.stateDir,
        toolchain: props.toolchain,
        logger: props.logger,
        placement,
        controlPlane: props.controlPlaneComponents ?? 'full',
        ...(props.podIo && (props.controlPlaneComponents ?? 'full') === 'full' ? { podIo: props.podIo } : {}),
      });
      const manifests = agentRbacManifests({ allowedClusterRoles: LOCAL_ALLOWED_CLUSTER_ROLES });
      const applied = await cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
      if (applied.code !== 0) throw new Error(`could not install kubegate's agent RBAC in cluster "${props.name}": ${applied.stderr.trim()}`);
      // Ports inside a namespace are the namespace's own; a free host port is free there too.
      const [adminPort] = await getFreePorts(1);
      site = new TunnelSite(props, cluster, firewall, adminPort!);
      const join = newJoinToken();
      const now = Date.now();
      await props.store.createJoinToken({ id: join.id, cluster: props.name, secretHash: hashJoinSecret(join.secret), createdAt: now, createdBy: 'kubegate dev up', expiresAt: now + 3600_000 });
      await site.startAgent(join.text);
      await site.startInClusterEnvoy();
      return site;
    } catch (err) {
      await site?.stopAgentSide().catch(() => undefined);
      await cluster?.stop().catch(() => undefined);
      await firewall?.destroy().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Starts the agent process (again): with a join token the first time, from its stored
   * certificate afterwards. Resolves once the control plane holds a new session from it.
   */
  async startAgent(joinToken?: string): Promise<ManagedProcess> {
    if (this.agentProcess) throw new Error(`the agent of "${this.props.name}" is already running`);
    const dir = this.agentStateDir;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    await this.refreshAgentToken();
    const joinTokenFile = path.join(dir, 'join-token');
    if (joinToken) fs.writeFileSync(joinTokenFile, joinToken, { mode: 0o600 });
    const args = this.agentArgs(dir, joinToken ? ['--join-token-file', joinTokenFile] : []);
    try {
      this.agentProcess = await this.startAgentProcess(args, 'agent');
    } finally {
      // The join token is used up (or useless) once the agent has run with it.
      fs.rmSync(joinTokenFile, { force: true });
    }
    this.tokenTimer ??= setInterval(() => {
      this.refreshAgentToken().catch((err: Error) => this.props.logger.warn('could not renew the agent token', { cluster: this.props.name, error: err.message }));
    }, (AGENT_TOKEN_LIFETIME_S * 1000) / 2);
    this.tokenTimer.unref();
    return this.agentProcess;
  }

  /**
   * The agent's command line with its state in `dir` (created, with the CA files it needs), as
   * every agent process of this site runs it; `extra` adds flags.
   */
  agentArgs(dir: string, extra: readonly string[]): string[] {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const caFile = path.join(dir, 'control-plane-ca.pem');
    fs.writeFileSync(caFile, this.props.controlPlane.caPem);
    const kubeCaFile = path.join(dir, 'kube-ca.pem');
    fs.writeFileSync(kubeCaFile, this.cluster.caPem);
    return [
      compiledEntry('agent/main.js'),
      '--cluster', this.props.name,
      ...Object.entries(this.props.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      '--state-dir', dir,
      '--control-plane', `${this.hostAddress}:${this.props.controlPlane.port}`,
      '--control-plane-ca-file', caFile,
      '--kube-server', this.cluster.apiserverUrl,
      '--kube-ca-file', kubeCaFile,
      '--kube-token-file', this.agentTokenFile,
      ...LOCAL_ALLOWED_CLUSTER_ROLES.flatMap((r) => ['--allowed-cluster-role', r]),
      ...extra,
    ];
  }

  /** Starts an agent process of this site; resolves once the control plane holds a new session (its newest). */
  async startAgentProcess(args: readonly string[], component: string): Promise<ManagedProcess> {
    const before = this.props.agentSessionId();
    return this.placement.startReady(
      { component: `${component}.${this.props.name}`, binary: process.execPath, args, logFile: path.join(this.props.stateDir, 'logs', `${component}.log`), logger: this.props.logger.child(component), stopTimeoutMs: 30_000 },
      {
        url: `session of cluster ${this.props.name} at the control plane`,
        timeoutMs: 60_000,
        check: async () => {
          const now = this.props.agentSessionId();
          return now !== undefined && now !== before ? null : 'no new session yet';
        },
      },
    );
  }

  /** The bootstrap of an in-cluster Envoy of this site (node id, admin port, the agent's secrets). */
  envoyBootstrap(nodeId: string, adminPort: number, agentStateDir: string): object {
    return inClusterEnvoyBootstrap({
      nodeId,
      cluster: this.props.name,
      adminPort,
      controlPlane: { host: this.hostAddress, port: this.props.controlPlane.port },
      controlPlaneCaFile: controlPlaneCaFileOf(agentStateDir),
      secretsDirectory: secretsDirectoryOf(agentStateDir),
    });
  }

  /**
   * Another agent pod of this cluster, as a rolling update starts one: its own agent process
   * (the same certificate, copied as the pod would read it from the identity Secret) and its own
   * in-cluster Envoy, a node of its own at the hub. See site-pod.ts.
   */
  startPod(index: number, options: SitePodOptions = {}): Promise<SitePod> {
    return SitePod.start(this, index, options);
  }

  async stopAgent(): Promise<void> {
    await this.agentProcess?.stop();
    this.agentProcess = undefined;
  }

  async startInClusterEnvoy(): Promise<EnvoyProcess> {
    this.envoyProcess = await EnvoyProcess.start({
      binary: this.props.toolchain.envoy,
      placement: this.placement,
      bootstrap: this.envoyBootstrap(`${this.props.name}-envoy-0`, this.envoyAdminPort, this.agentStateDir),
      adminPort: this.envoyAdminPort,
      workDir: path.join(this.props.stateDir, 'in-cluster-envoy'),
      component: `in-cluster-envoy.${this.props.name}`,
      logger: this.props.logger.child('in-cluster-envoy'),
    });
    return this.envoyProcess;
  }

  async stopInClusterEnvoy(): Promise<void> {
    await this.envoyProcess?.stop();
    this.envoyProcess = undefined;
  }

  async stopAgentSide(): Promise<void> {
    if (this.tokenTimer) clearInterval(this.tokenTimer);
    this.tokenTimer = undefined;
    await this.stopInClusterEnvoy();
    await this.stopAgent();
  }

  /** Stops everything of the site: agent, in-cluster Envoy, the cluster and its namespace. */
  async stop(): Promise<void> {
    await this.stopAgentSide();
    await this.cluster.stop();
    await this.firewall?.destroy();
  }

  get agentTokenFile(): string {
    return path.join(this.agentStateDir, 'kube-token');
  }

  /**
   * What a pod's projected token would be: a bound token of the agent's own ServiceAccount,
   * nothing more. Written atomically (rename), so the agent re-reads it whole.
   */
  private async refreshAgentToken(): Promise<void> {
    const r = await this.cluster.kubectl(['create', 'token', AGENT_SERVICE_ACCOUNT, '-n', SYSTEM_NAMESPACE, `--duration=${AGENT_TOKEN_LIFETIME_S}s`]);
    if (r.code !== 0 || !r.stdout.trim()) throw new Error(`could not create a token for the agent of "${this.props.name}": ${r.stderr.trim()}`);
    const tmp = `${this.agentTokenFile}.tmp`;
    fs.writeFileSync(tmp, r.stdout.trim(), { mode: 0o600 });
    fs.renameSync(tmp, this.agentTokenFile);
  }
}

export const startTunnelSite = (props: TunnelSiteProps) => TunnelSite.start(props);
