/**
 * One cluster the local stack reaches only through reverse tunnels, as a cluster behind a
 * firewall: a real control plane, the kubegate namespaces and RBAC the agent needs (applied as a
 * cluster admin would), the agent (joined with a one-time token, authenticated to the cluster
 * with its own ServiceAccount's token) and the in-cluster Envoy the control plane programs.
 */
import * as path from 'node:path';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import type { Toolchain } from '../toolchain/tools';
import { startLocalCluster, type LocalCluster } from '../local-cluster/local-cluster';
import { EnvoyProcess } from '../envoy/envoy-process';
import { getFreePorts } from '../process/free-port';
import { newJoinToken, hashJoinSecret } from '../agents/join-token';
import { KubeClient } from '../../agent/kubernetes/kube-client';
import { AGENT_SERVICE_ACCOUNT, agentRbacManifests } from '../../agent/rbac/agent-rbac';
import { SYSTEM_NAMESPACE } from '../../agent/protocol/identities';
import { startAgent, controlPlaneCaFileOf, secretsDirectoryOf, type RunningAgent } from '../../agent/runtime/agent';
import { inClusterEnvoyBootstrap } from '../../agent/runtime/in-cluster-envoy-bootstrap';
import { ADMIN_COMMON_NAME, ADMIN_GROUP } from '../local-cluster/cluster-pki';

/** ClusterRoles a local cluster's admin lets kubegate bind. */
export const LOCAL_ALLOWED_CLUSTER_ROLES = ['cluster-admin', 'admin', 'edit', 'view', 'kubegate-e2e-reader', 'kubegate-e2e-editor'];

export interface TunnelSiteProps {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly stateDir: string;
  readonly toolchain: Toolchain;
  readonly store: Store;
  readonly controlPlane: { readonly host: string; readonly port: number; readonly caPem: string };
  readonly logger: Logger;
}

export class TunnelSite {
  constructor(
    readonly props: TunnelSiteProps,
    readonly cluster: LocalCluster,
    private agentProcess: RunningAgent | undefined,
    private envoyProcess: EnvoyProcess | undefined,
    private readonly envoyAdminPort: number,
  ) {}

  get agent(): RunningAgent {
    if (!this.agentProcess) throw new Error(`the agent of "${this.props.name}" is not running`);
    return this.agentProcess;
  }

  get envoy(): EnvoyProcess {
    if (!this.envoyProcess) throw new Error(`the in-cluster Envoy of "${this.props.name}" is not running`);
    return this.envoyProcess;
  }

  /** Waits until `isConnected` holds (the agent's session is up). */
  async connected(isConnected: () => boolean, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!isConnected()) {
      if (Date.now() > until) throw new Error(`the agent of cluster "${this.props.name}" did not connect within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async startInClusterEnvoy(): Promise<EnvoyProcess> {
    const stateDir = path.join(this.props.stateDir, 'agent');
    this.envoyProcess = await EnvoyProcess.start({
      binary: this.props.toolchain.envoy,
      bootstrap: inClusterEnvoyBootstrap({
        nodeId: `${this.props.name}-envoy-0`,
        cluster: this.props.name,
        adminPort: this.envoyAdminPort,
        controlPlane: { host: this.props.controlPlane.host, port: this.props.controlPlane.port },
        controlPlaneCaFile: controlPlaneCaFileOf(stateDir),
        secretsDirectory: secretsDirectoryOf(stateDir),
      }),
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

  /** Starts the agent again from its stored certificate (no join token needed). */
  async startAgent(): Promise<RunningAgent> {
    this.agentProcess = await startAgentFor(this.props, this.cluster, undefined);
    return this.agentProcess;
  }

  async stopAgent(): Promise<void> {
    await this.agentProcess?.stop();
    this.agentProcess = undefined;
  }

  async stopAgentSide(): Promise<void> {
    await this.stopInClusterEnvoy();
    await this.stopAgent();
  }
}

async function startAgentFor(props: TunnelSiteProps, cluster: LocalCluster, joinToken: string | undefined): Promise<RunningAgent> {
  const admin = cluster.issueClientCertificate(ADMIN_COMMON_NAME, [ADMIN_GROUP]);
  const adminClient = new KubeClient({ server: cluster.apiserverUrl, caPem: cluster.caPem, credentials: { kind: 'client-certificate', ...admin } });
  let token: string;
  try {
    // What a pod's projected token would be: the agent's own ServiceAccount, nothing more.
    token = (await adminClient.requestServiceAccountToken(SYSTEM_NAMESPACE, AGENT_SERVICE_ACCOUNT, { expirationSeconds: 24 * 3600 })).token;
  } finally {
    adminClient.close();
  }
  return startAgent({
    cluster: props.name,
    labels: props.labels,
    stateDir: path.join(props.stateDir, 'agent'),
    controlPlane: props.controlPlane,
    ...(joinToken ? { joinToken } : {}),
    kube: { server: cluster.apiserverUrl, caPem: cluster.caPem, credentials: { kind: 'token', token } },
    allowedClusterRoles: LOCAL_ALLOWED_CLUSTER_ROLES,
    logger: props.logger.child('agent'),
  });
}

export async function startTunnelSite(props: TunnelSiteProps): Promise<TunnelSite> {
  const cluster = await startLocalCluster({ name: props.name, stateDir: props.stateDir, toolchain: props.toolchain, logger: props.logger });
  let site: TunnelSite | undefined;
  try {
    const manifests = agentRbacManifests({ allowedClusterRoles: LOCAL_ALLOWED_CLUSTER_ROLES });
    const applied = await cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
    if (applied.code !== 0) throw new Error(`could not install kubegate's agent RBAC in cluster "${props.name}": ${applied.stderr.trim()}`);
    const join = newJoinToken();
    const now = Date.now();
    await props.store.createJoinToken({ id: join.id, cluster: props.name, secretHash: hashJoinSecret(join.secret), createdAt: now, createdBy: 'kubegate dev up', expiresAt: now + 3600_000 });
    const agent = await startAgentFor(props, cluster, join.text);
    const [adminPort] = await getFreePorts(1);
    site = new TunnelSite(props, cluster, agent, undefined, adminPort!);
    await site.startInClusterEnvoy();
    return site;
  } catch (err) {
    await site?.stopAgentSide().catch(() => undefined);
    await cluster.stop();
    throw err;
  }
}
