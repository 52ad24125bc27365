/**
 * A complete local kubegate on loopback: real kube-apiservers (with etcd), the control plane,
 * and an edge Envoy programmed over xDS. The dev stack (`kubegate dev up`), the end-to-end
 * tests and the benchmarks all start it through here, so they exercise the same thing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadToolchain, type Toolchain } from '../toolchain/tools';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { startLocalCluster, type LocalCluster } from '../local-cluster/local-cluster';
import { getFreePorts } from '../process/free-port';
import type { ControlPlane } from '../../control-plane/server/control-plane';
import { ADMIN_USER, Controller } from '../../control-plane/server/controller';
import { EnvoyProcess } from '../process/envoy-process';
import { edgeBootstrap } from '../../control-plane/envoy/bootstrap';
import type { RegisteredCluster } from '../../control-plane/translator/input';
import { PROXY_IDENTITY_USER, clusterAccessManifests } from '../../control-plane/server/cluster-access-rbac';
import type { IssuedKubeconfig } from '../../control-plane/credentials/kubeconfig-issuer';
import type { AuditLog, RetentionResult } from '../../control-plane/audit/audit-log';
import { AuditExporters } from '../../control-plane/audit-export/audit-exporters';
import type { PolicyFileRecord, Store } from '../../control-plane/store/store';
import type { KubeconfigRequest, LocalClusterSpec, LocalStackProps } from './local-stack-props';
import { startTunnelSite, type TunnelSite } from './tunnel-site';
import { localAgentInstall } from './local-agent-install';

export const EDGE_NODE_ID = 'edge-0';
export { ADMIN_USER };

export class LocalStack {
  private readonly localClusters = new Map<string, LocalCluster>();
  private readonly tunnelSites = new Map<string, TunnelSite>();
  private edge: EnvoyProcess | undefined;

  private constructor(
    readonly props: LocalStackProps,
    readonly toolchain: Toolchain,
    readonly pki: KubegatePki,
    /** The store, audit log, control plane and admin API. */
    readonly controller: Controller,
    private readonly ports: StackPorts,
    /** The address each firewalled site reaches the host at (its veth peer). */
    private readonly siteHostAddresses: Map<string, string>,
  ) {}

  get store(): Store {
    return this.controller.store;
  }

  /** The audit log in the store's database; the admin API's /audit routes read it. */
  get audit(): AuditLog {
    return this.controller.audit;
  }

  get exporters(): AuditExporters {
    return this.controller.exporters;
  }

  /** Envoy writes a new file access log from now on (the ingester rotates the old one). */
  async reopenEdgeLogs(): Promise<void> {
    const r = await this.envoy.adminPost('/reopen_logs');
    if (r.status !== 200) throw new Error(`the edge Envoy did not reopen its logs: HTTP ${r.status} ${r.body.trim()}`);
  }

  /** See Controller.applyAuditRetention. */
  applyAuditRetention(now = Date.now()): Promise<RetentionResult | undefined> {
    return this.controller.applyAuditRetention(now);
  }

  /** The running control plane (a new object after restartControlPlane()). */
  get controlPlane(): ControlPlane {
    return this.controller.controlPlane;
  }

  get edgePort(): number {
    return this.ports.edge;
  }

  private get edgeTunnelPort(): number {
    return this.ports.tunnel;
  }

  /** Starts the edge Envoy; it takes its configuration from the control plane over xDS. */
  private async startEdge(): Promise<void> {
    this.edge = await EnvoyProcess.start({
      binary: this.toolchain.envoy,
      bootstrap: edgeBootstrap({
        nodeId: EDGE_NODE_ID,
        adminPort: this.ports.edgeAdmin,
        controlPlane: { host: '127.0.0.1', port: this.ports.xds },
        authz: { host: '127.0.0.1', port: this.ports.authz },
        tls: this.pki.componentFiles('edge-xds-client'),
        ...(this.props.edgeXdsProtocol ? { xdsProtocol: this.props.edgeXdsProtocol } : {}),
      }),
      adminPort: this.ports.edgeAdmin,
      workDir: path.join(this.props.stateDir, 'edge'),
      component: 'edge-envoy',
      logger: this.props.logger.child('edge-envoy'),
    });
  }

  /**
   * Stops the edge Envoy and starts it again with the same bootstrap, as a crash and restart
   * of the edge would: open connections end; agents' Envoys re-dial their tunnels.
   */
  async restartEdge(): Promise<void> {
    await this.edge?.stop();
    this.edge = undefined;
    await this.startEdge();
    if (this.tunnelSites.size > 0) await this.waitForTunnels(this.tunnelSites.size, 60_000);
  }

  /**
   * Stops the control plane and starts a new one on the same ports and store, as a restart of
   * the controller would. Envoys reconnect over xDS, agents start new sessions; directly
   * registered clusters are registered again.
   */
  async restartControlPlane(): Promise<void> {
    await this.controller.restartControlPlane();
  }

  get edgeUrl(): string {
    return `https://127.0.0.1:${this.edgePort}`;
  }

  get envoy(): EnvoyProcess {
    if (!this.edge) throw new Error('the edge Envoy is not running');
    return this.edge;
  }

  get clusters(): LocalCluster[] {
    return [...this.localClusters.values()];
  }

  /** The organisation's ceiling on user certificate lifetimes. */
  get maxCertTtlMs(): number {
    return this.controller.maxCertTtlMs;
  }

  /** The control plane's admin API (users, policies, revocation, break-glass, kubeconfigs). */
  get apiUrl(): string {
    return this.controller.apiUrl;
  }

  /** Where `kubegate cluster add` links point (the install listener); undefined with agentInstall off. */
  get installUrl(): string | undefined {
    return this.controller.installUrl;
  }

  get adminKubeconfigPath(): string {
    return path.join(this.props.stateDir, 'admin.kubeconfig');
  }

  get accessLogPath(): string {
    return path.join(this.props.stateDir, 'access-log.jsonl');
  }

  static async start(props: LocalStackProps): Promise<LocalStack> {
    const toolchain = props.toolchain ?? loadToolchain();
    fs.mkdirSync(props.stateDir, { recursive: true });
    const logger = props.logger;
    const pki = loadOrCreatePki({ stateDir: props.stateDir, now: new Date() });
    // Every port is fixed up front, so the control plane and the edge can be restarted in place
    // (resilience tests, `restartControlPlane()`) and everyone finds them where they were.
    const [freeEdgePort, adminPort, tunnelPort, xdsPort, authzPort, statusPort, agentPort] = await getFreePorts(7);
    const ports: StackPorts = { edge: props.edgePort || freeEdgePort!, edgeAdmin: adminPort!, tunnel: tunnelPort!, xds: xdsPort!, authz: authzPort!, status: statusPort!, agent: agentPort! };
    const siteHostAddresses = new Map<string, string>();
    // The edge is started after the controller; until then there is no log to reopen.
    let reopenEdgeLogs = async (): Promise<void> => undefined;
    const controller = await Controller.start({
      stateDir: props.stateDir,
      ...(props.storeUrl ? { storeUrl: props.storeUrl } : {}),
      pki,
      ports,
      edge: {
        nodeId: EDGE_NODE_ID,
        listenPort: ports.edge,
        url: `https://127.0.0.1:${ports.edge}`,
        auditLogFile: path.join(props.stateDir, 'edge', 'audit.jsonl'),
        reopenLogs: () => reopenEdgeLogs(),
        ...(props.accessLogFlushIntervalSeconds ? { accessLogFlushIntervalSeconds: props.accessLogFlushIntervalSeconds } : {}),
        ...(props.edgeUserShards ? { userShards: props.edgeUserShards } : {}),
      },
      agents: {
        // Firewalled clusters reach the host at their own veth address, not at its loopback:
        // the agent port and the tunnel listener listen on every address (both demand a
        // certificate).
        listenAddress: (props.tunnelIsolation ?? 'network-namespace') === 'network-namespace' ? '0.0.0.0' : '127.0.0.1',
        edgeTunnelsFor: (cluster) => {
          const host = siteHostAddresses.get(cluster);
          return host ? [{ host, port: ports.tunnel }] : undefined;
        },
      },
      ...(props.policyDir ? { policyDir: props.policyDir } : {}),
      ...(props.maxCertTtlMs ? { maxCertTtlMs: props.maxCertTtlMs } : {}),
      ...(props.auditExporters ? { auditExporters: props.auditExporters } : {}),
      ...(props.auditRetention ? { auditRetention: props.auditRetention } : {}),
      ...(props.agentInstall !== false ? { agentInstall: localAgentInstall(props.stateDir, ports.agent, props.agentInstall) } : {}),
      logger,
    });
    const stack = new LocalStack(props, toolchain, pki, controller, ports, siteHostAddresses);
    reopenEdgeLogs = () => stack.reopenEdgeLogs();
    try {
      for (const spec of props.clusters ?? ['dev']) await stack.addCluster(spec);
      pki.issueComponent('edge-xds-client', new Date());
      await stack.startEdge();
      for (const spec of props.tunnelClusters ?? []) await stack.addTunnelCluster(spec);
      await stack.writeAdminKubeconfig();
      logger.info('local stack ready', { edge: stack.edgeUrl, clusters: stack.clusters.map((c) => c.name) });
      return stack;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  /**
   * Starts a local cluster, grants kubegate's proxy identity what it needs there and registers
   * it with the control plane; resolves once the edge's snapshot has it (Envoy applies it over
   * xDS moments later).
   */
  async addCluster(spec: string | LocalClusterSpec): Promise<LocalCluster> {
    const { name, labels, controlPlane, podIo } = typeof spec === 'string' ? { name: spec, labels: undefined, controlPlane: undefined, podIo: undefined } : spec;
    if (this.localClusters.has(name)) throw new Error(`cluster "${name}" is already running`);
    const cluster = await startLocalCluster({
      name,
      ...(controlPlane ? { controlPlane } : {}),
      ...(podIo ? { podIo } : {}),
      stateDir: path.join(this.props.stateDir, 'clusters', name),
      toolchain: this.toolchain,
      logger: this.props.logger.child(`cluster.${name}`),
    });
    this.localClusters.set(name, cluster);
    const applied = await cluster.kubectl(['apply', '-f', '-'], clusterAccessManifests());
    if (applied.code !== 0) throw new Error(`could not grant kubegate access in cluster "${name}": ${applied.stderr.trim()}`);
    const url = new URL(cluster.apiserverUrl);
    const registration: RegisteredCluster = {
      name,
      labels: labels ?? { env: 'dev' },
      apiserver: { host: url.hostname, port: Number(url.port), caPem: cluster.caPem },
      proxyIdentity: cluster.issueClientCertificate(PROXY_IDENTITY_USER, []),
    };
    this.controller.registerCluster(registration);
    // Registered is not yet published: return once the edge's snapshot has the cluster.
    await this.controlPlane.refresh();
    return cluster;
  }

  /**
   * Starts a local cluster reached only through its agent's tunnels: the agent joins with a
   * one-time token, and the edge never learns the cluster's address or credentials.
   */
  async addTunnelCluster(spec: string | LocalClusterSpec): Promise<TunnelSite> {
    const { name, labels, podIo } = typeof spec === 'string' ? { name: spec, labels: undefined, podIo: undefined } : spec;
    if (this.localClusters.has(name)) throw new Error(`cluster "${name}" is already running`);
    const site = await startTunnelSite({
      ...(podIo ? { podIo } : {}),
      name,
      labels: labels ?? { env: 'dev' },
      stateDir: path.join(this.props.stateDir, 'clusters', name),
      toolchain: this.toolchain,
      store: this.store,
      controlPlane: { port: this.controlPlane.agents!.port, caPem: this.pki.internalCa.certPem },
      edgeTunnelPort: this.edgeTunnelPort,
      agentSessionId: () => this.controlPlane.agents!.hub.session(name)?.id,
      onFirewalled: (hostAddress) => this.siteHostAddresses.set(name, hostAddress),
      isolation: this.props.tunnelIsolation ?? 'network-namespace',
      logger: this.props.logger.child(`cluster.${name}`),
    });
    this.localClusters.set(name, site.cluster);
    this.tunnelSites.set(name, site);
    await this.controlPlane.refresh();
    await this.waitForTunnels(this.tunnelSites.size);
    return site;
  }

  /**
   * Waits until every edge worker holds tunnels of `clusters` clusters: requests are only
   * routable once the worker that takes them has one.
   */
  async waitForTunnels(clusters: number, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const stats = await fetch(`${this.envoy.adminUrl}/stats?filter=${encodeURIComponent('^reverse_tunnels\\.worker_\\d+\\.total_clusters$')}`).then((r) => r.text());
      const perWorker = [...stats.matchAll(/total_clusters: (\d+)/g)].map((m) => Number(m[1]));
      if (perWorker.length > 0 && perWorker.every((n) => n >= clusters)) return;
      if (Date.now() > until) throw new Error(`the edge did not get tunnels from ${clusters} cluster(s) within ${timeoutMs} ms (per worker: ${perWorker.join(', ') || 'none'})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  tunnelSite(name: string): TunnelSite {
    const site = this.tunnelSites.get(name);
    if (!site) throw new Error(`no tunnel cluster "${name}"`);
    return site;
  }

  /** Creates a user (tests and examples); the edge knows them once this returns. */
  async createUser(name: string, groups: readonly string[] = []): Promise<void> {
    await this.store.createUser({ name, groups, now: Date.now() });
    await this.controlPlane.refresh();
  }

  /**
   * Validates and applies a whole policy set, replacing the current one; in force at the edge
   * once this returns. A set that does not validate throws and changes nothing.
   */
  applyPolicies(files: readonly PolicyFileRecord[], appliedBy = 'local-stack'): Promise<number> {
    return this.controller.applyPolicies(files, appliedBy);
  }

  /**
   * admin.kubeconfig: the operator's credential for kubectl and for the kubegate API. Written
   * even when the policy set (say, from --policy-dir) gives admin no kubectl access, because
   * the operator needs it to fix exactly that; the log says so.
   */
  private async writeAdminKubeconfig(): Promise<void> {
    const issued = await this.issue({ user: ADMIN_USER, file: this.adminKubeconfigPath, evenWithoutAccess: true });
    if (issued.withoutAccess) {
      this.props.logger.warn('the policy set gives the admin user no kubectl access; admin.kubeconfig still works for the kubegate API', { user: ADMIN_USER });
    }
  }

  /** Issues a kubeconfig (recorded, revocable) with a context per cluster the user may reach. */
  async writeKubeconfig(req: KubeconfigRequest): Promise<string> {
    return (await this.issue(req)).file;
  }

  private async issue(req: KubeconfigRequest): Promise<IssuedKubeconfig & { file: string }> {
    const issued = await this.controller.issueKubeconfig(req);
    const file = req.file ?? path.join(this.props.stateDir, 'kubeconfigs', `${req.user}.kubeconfig`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, issued.kubeconfig, { mode: 0o600 });
    return { ...issued, file };
  }

  /** See Controller.rotateEdgeCertificate. */
  rotateEdgeCertificate(): string {
    return this.controller.rotateEdgeCertificate();
  }

  /** Stops the edge, the control plane and every cluster; safe to call twice. */
  async stop(): Promise<void> {
    for (const site of this.tunnelSites.values()) await site.stopAgentSide();
    await this.edge?.stop();
    await this.controller.stop();
    await Promise.all([...this.localClusters.entries()].filter(([name]) => !this.tunnelSites.has(name)).map(([, c]) => c.stop()));
    await Promise.all([...this.tunnelSites.values()].map((site) => site.stop()));
  }
}

export const startLocalStack = (props: LocalStackProps) => LocalStack.start(props);

/** The stack's fixed ports. */
interface StackPorts {
  readonly edge: number;
  readonly edgeAdmin: number;
  /** The edge's reverse-tunnel listener. */
  readonly tunnel: number;
  readonly xds: number;
  readonly authz: number;
  readonly status: number;
  /** The agent port (join, sessions, in-cluster Envoys' xDS). */
  readonly agent: number;
}
