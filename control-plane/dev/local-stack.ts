/**
 * A complete local kubegate on loopback: real kube-apiservers (with etcd), the control plane,
 * and an edge Envoy programmed over xDS. The dev stack (`kubegate dev up`), the end-to-end
 * tests and the benchmarks all start it through here, so they exercise the same thing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadToolchain, type Toolchain } from '../toolchain/tools';
import type { Logger } from '../log/logger';
import { loadOrCreatePki, type KubegatePki } from '../pki/kubegate-pki';
import { startLocalCluster, type LocalCluster } from '../local-cluster/local-cluster';
import { getFreePorts } from '../process/free-port';
import { ControlPlane, type ControlPlaneProps } from '../server/control-plane';
import { EnvoyProcess } from '../envoy/envoy-process';
import { AUTHZ_CLUSTER, CONTROL_PLANE_CLUSTER, edgeBootstrap } from '../envoy/bootstrap';
import type { RegisteredCluster } from '../translator/input';
import { ADMIN_GROUP, PROXY_IDENTITY_USER, clusterAccessManifests } from './cluster-access-rbac';
import { DEFAULT_USER_CERT_TTL_MS } from '../credentials/user-certificate';
import { issueKubeconfig, type IssuedKubeconfig } from '../credentials/kubeconfig-issuer';
import { openAuditLog, openStore } from '../store/open-store';
import type { AuditLog, RetentionResult } from '../audit/audit-log';
import type { AuditAppender } from '../audit/audit-writer';
import { AuditExporters } from '../audit-export/audit-exporters';
import type { AuditExporterConfig } from '../audit-export/audit-export-config';
import type { PolicyFileRecord, Store } from '../store/store';
import { StoreConflictError } from '../store/store';
import { loadPolicies } from '../../policies/src';
import { DEFAULT_POLICY_FILE, defaultPolicyText } from './default-policies';
import { DEFAULT_USER_SERVER_NAME_SUFFIX } from '../identity/user-identity';
import { startApiServer, type RunningApiServer } from '../api/api-server';
import { PolicyDirectoryWatcher } from '../policy-source/policy-directory-watcher';
import { MAX_USER_CERT_TTL_MS } from '../credentials/user-certificate';
import type { KwokPodIoProps } from '../local-cluster/kwok';
import { startTunnelSite, type TunnelSite, type TunnelSiteIsolation } from './tunnel-site';

export const EDGE_NODE_ID = 'edge-0';
/** Agents renew after two thirds of this. */
const AGENT_CERTIFICATE_LIFETIME_MS = 24 * 3600 * 1000;
export const ADMIN_USER = 'admin';

/** A local cluster to start, with the labels policies select it by. */
export interface LocalClusterSpec {
  readonly name: string;
  /** @default { env: 'dev' } */
  readonly labels?: Readonly<Record<string, string>>;
  /** Tunnel clusters only: what the kwok node's exec, logs and port-forward use. @default kwok's defaults */
  readonly podIo?: KwokPodIoProps;
}

export interface LocalStackProps {
  readonly stateDir: string;
  /** The local clusters to start, by name or with labels. @default ['dev'] */
  readonly clusters?: readonly (string | LocalClusterSpec)[];
  /**
   * Where users, policies and grants live: sqlite:<file> or postgres://...
   * @default sqlite:<stateDir>/kubegate.db
   */
  readonly storeUrl?: string;
  /**
   * Keep the policy set equal to the YAML files in this directory (GitOps). When set, the
   * default policies are not seeded: the directory is the source of truth.
   * @default none
   */
  readonly policyDir?: string;
  /**
   * The organisation's ceiling on user certificate lifetimes (at most 24 h).
   * @default 24 h
   */
  readonly maxCertTtlMs?: number;
  /** Edge HTTPS port; 0 picks a free one. @default 0 */
  readonly edgePort?: number;
  /**
   * Clusters reached the way clusters behind a firewall are: each runs an agent and an
   * in-cluster Envoy that dial out to the control plane's agent port and the edge's tunnel
   * listener. @default []
   */
  readonly tunnelClusters?: readonly (string | LocalClusterSpec)[];
  /**
   * How tunnel clusters are kept apart from the edge: each in a firewalled network namespace
   * that nothing can connect into (needs root), or on the host's loopback ('none', for
   * benchmarks that compare with a direct baseline). @default 'network-namespace'
   */
  readonly tunnelIsolation?: TunnelSiteIsolation;
  /** Where the audit trail is exported (JSON Lines files, webhooks); see control-plane/audit-export. @default none */
  readonly auditExporters?: readonly AuditExporterConfig[];
  /**
   * How long audit events are kept, and how many at most; applied every 10 minutes, never to
   * what an exporter has not delivered yet. @default 90 days, no count limit
   */
  readonly auditRetention?: { readonly maxAgeMs?: number; readonly maxRecords?: number };
  /** How often the edge logs a request that is still open (watch, exec). @default 60 s */
  readonly accessLogFlushIntervalSeconds?: number;
  readonly logger: Logger;
  /** @default loadToolchain() */
  readonly toolchain?: Toolchain;
}

export interface KubeconfigRequest {
  readonly user: string;
  /** @default 8 h */
  readonly ttlMs?: number;
  /** Only these clusters. @default every cluster the user may reach with kubectl */
  readonly clusters?: readonly string[];
  /** See issueKubeconfig: for the operator's bootstrap credential only. @default false */
  readonly evenWithoutAccess?: boolean;
  /** Where to write it. @default <stateDir>/kubeconfigs/<user>.kubeconfig */
  readonly file?: string;
}

/** How often audit retention runs, and what it keeps by default. */
const RETENTION_CHECK_MS = 600_000;
const DEFAULT_AUDIT_MAX_AGE_MS = 90 * 24 * 3600 * 1000;

/** How often the stack checks whether the edge's serving certificate is due for rotation. */
const ROTATION_CHECK_MS = 3_600_000;

export class LocalStack {
  private readonly localClusters = new Map<string, LocalCluster>();
  private rotationTimer?: NodeJS.Timeout;
  private apiServer?: RunningApiServer;
  private policyWatcher?: PolicyDirectoryWatcher;
  private readonly tunnelSites = new Map<string, TunnelSite>();
  private readonly directRegistrations = new Map<string, RegisteredCluster>();
  private retentionTimer?: NodeJS.Timeout;
  private edge: EnvoyProcess | undefined;

  private constructor(
    readonly props: LocalStackProps,
    readonly toolchain: Toolchain,
    readonly pki: KubegatePki,
    readonly store: Store,
    /** The audit log in the store's database; the admin API's /audit routes read it. */
    readonly audit: AuditLog,
    private currentControlPlane: ControlPlane,
    private readonly ports: StackPorts,
    private readonly siteHostAddresses: Map<string, string>,
    private readonly auditing: StackAuditing,
    readonly exporters: AuditExporters,
  ) {}

  /** Envoy writes a new file access log from now on (the ingester rotates the old one). */
  async reopenEdgeLogs(): Promise<void> {
    const r = await this.envoy.adminPost('/reopen_logs');
    if (r.status !== 200) throw new Error(`the edge Envoy did not reopen its logs: HTTP ${r.status} ${r.body.trim()}`);
  }

  /**
   * Removes audit events beyond the retention policy, never one an exporter has not delivered.
   * Runs every 10 minutes; failures are logged and tried again next time.
   */
  async applyAuditRetention(now = Date.now()): Promise<RetentionResult | undefined> {
    const policy = this.props.auditRetention ?? { maxAgeMs: DEFAULT_AUDIT_MAX_AGE_MS };
    const keepAfter = this.exporters.lowWaterMark();
    try {
      const result = await this.audit.applyRetention({ ...policy, ...(Number.isFinite(keepAfter) ? { keepAfterSeq: keepAfter } : {}), now });
      if (result.removed > 0) this.props.logger.info('audit retention removed old events', { removed: result.removed, fromSeq: result.fromSeq, toSeq: result.toSeq });
      if (result.stoppedAt) this.props.logger.error('audit retention stopped at a record that does not verify', { problem: result.stoppedAt });
      return result;
    } catch (err) {
      this.props.logger.warn('audit retention failed; trying again later', { error: (err as Error).message });
      return undefined;
    }
  }

  /** The running control plane (a new object after restartControlPlane()). */
  get controlPlane(): ControlPlane {
    return this.currentControlPlane;
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
    const old = this.currentControlPlane;
    const direct = [...this.directRegistrations.values()];
    await old.stop();
    this.currentControlPlane = await ControlPlane.start(controlPlaneProps(this.props, this.pki, this.store, this.ports, this.siteHostAddresses, this.auditing));
    const exporters = this.exporters;
    this.currentControlPlane.addStatusSection('auditExport', () => exporters.status());
    for (const registration of direct) this.currentControlPlane.registerCluster(registration);
    if (this.policyWatcher) {
      const watcher = this.policyWatcher;
      this.currentControlPlane.addStatusSection('policyDirectory', () => watcher.status());
    }
    await this.currentControlPlane.refresh();
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
    return Math.min(this.props.maxCertTtlMs ?? MAX_USER_CERT_TTL_MS, MAX_USER_CERT_TTL_MS);
  }

  /** The control plane's admin API (users, policies, revocation, break-glass, kubeconfigs). */
  get apiUrl(): string {
    if (!this.apiServer) throw new Error('the admin API is not running');
    return this.apiServer.url;
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
    const storeUrl = props.storeUrl ?? `sqlite:${path.join(props.stateDir, 'kubegate.db')}`;
    const store = await openStore(storeUrl);
    const siteHostAddresses = new Map<string, string>();
    let audit: AuditLog | undefined;
    let controlPlane: ControlPlane;
    let exporters: AuditExporters;
    // The edge is started after the control plane; until then there is nothing to reopen.
    const edgeLog = { reopen: async (): Promise<void> => undefined };
    let auditing: StackAuditing;
    try {
      audit = await openAuditLog(storeUrl, { logger: logger.child('audit') });
      const log = audit;
      exporters = new AuditExporters({
        config: { stateDir: path.join(props.stateDir, 'audit-export'), exporters: props.auditExporters ?? [] },
        source: { readFrom: (afterSeq, limit) => log.readFrom(afterSeq, limit), lastSeq: async () => (await log.head()).seq },
        logger: logger.child('audit-export'),
      });
      auditing = {
        appender: {
          append: async (events) => {
            const stored = await log.append(events);
            exporters.notify();
            return stored;
          },
        },
        edgeLog: { file: path.join(props.stateDir, 'edge', 'audit.jsonl'), reopen: () => edgeLog.reopen() },
      };
      controlPlane = await ControlPlane.start(controlPlaneProps(props, pki, store, ports, siteHostAddresses, auditing));
    } catch (err) {
      await audit?.close();
      await store.close();
      throw err;
    }
    const stack = new LocalStack(props, toolchain, pki, store, audit, controlPlane, ports, siteHostAddresses, auditing, exporters);
    edgeLog.reopen = () => stack.reopenEdgeLogs();
    try {
      await stack.seed();
      if (props.policyDir) {
        const watcher = new PolicyDirectoryWatcher({
          dir: props.policyDir,
          store,
          refresh: () => stack.controlPlane.refresh(),
          logger: logger.child('policy-dir'),
        });
        stack.policyWatcher = watcher;
        controlPlane.addStatusSection('policyDirectory', () => watcher.status());
        await watcher.start();
      }
      for (const spec of props.clusters ?? ['dev']) await stack.addCluster(spec);
      pki.issueComponent('edge-xds-client', new Date());
      await stack.startEdge();
      for (const spec of props.tunnelClusters ?? []) await stack.addTunnelCluster(spec);
      stack.apiServer = await startApiServer({
        tls: pki.apiServing,
        userCaPem: pki.userCa.certPem,
        store,
        audit,
        access: () => stack.controlPlane.access,
        refresh: () => stack.controlPlane.refresh(),
        issueKubeconfig: {
          userCa: pki.userCa,
          edgeUrl: stack.edgeUrl,
          edgeCaPem: pki.servingCa.certPem,
          userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
          defaultTtlMs: Math.min(DEFAULT_USER_CERT_TTL_MS, props.maxCertTtlMs ?? MAX_USER_CERT_TTL_MS),
          maxTtlMs: Math.min(props.maxCertTtlMs ?? MAX_USER_CERT_TTL_MS, MAX_USER_CERT_TTL_MS),
        },
        logger: logger.child('api'),
      });
      await stack.writeAdminKubeconfig();
      await exporters.start();
      controlPlane.addStatusSection('auditExport', () => exporters.status());
      stack.retentionTimer = setInterval(() => void stack.applyAuditRetention(), RETENTION_CHECK_MS);
      stack.retentionTimer.unref();
      stack.rotationTimer = setInterval(() => {
        if (stack.pki.edgeServingDue(new Date())) stack.rotateEdgeCertificate();
      }, ROTATION_CHECK_MS);
      stack.rotationTimer.unref();
      logger.info('local stack ready', { edge: stack.edgeUrl, clusters: stack.clusters.map((c) => c.name) });
      return stack;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  /**
   * Starts a local cluster, grants kubegate's proxy identity what it needs there and registers
   * it with the control plane; a running edge picks it up over xDS.
   */
  async addCluster(spec: string | LocalClusterSpec): Promise<LocalCluster> {
    const { name, labels } = typeof spec === 'string' ? { name: spec, labels: undefined } : spec;
    if (this.localClusters.has(name)) throw new Error(`cluster "${name}" is already running`);
    const cluster = await startLocalCluster({
      name,
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
    this.directRegistrations.set(name, registration);
    this.controlPlane.registerCluster(registration);
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

  /**
   * A new stack's administrator and policies: the admin user in kubegate:admins, and the
   * default policy set if none was ever applied. What an operator changed is kept.
   */
  private async seed(): Promise<void> {
    const now = Date.now();
    const admin = await this.store.getUser(ADMIN_USER);
    if (!admin) await this.store.createUser({ name: ADMIN_USER, groups: [ADMIN_GROUP], now });
    else if (!admin.groups.includes(ADMIN_GROUP)) await this.store.setUserGroups(ADMIN_USER, [...admin.groups, ADMIN_GROUP], now);
    const policies = await this.store.getPolicySet();
    if (policies.revision === 0 && !this.props.policyDir) await this.applyPolicies([{ fileName: DEFAULT_POLICY_FILE, text: defaultPolicyText() }], 'kubegate dev up');
    await this.controlPlane.refresh();
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
  async applyPolicies(files: readonly PolicyFileRecord[], appliedBy = 'local-stack'): Promise<number> {
    loadPolicies(files.map((f) => ({ fileName: f.fileName, text: f.text })));
    for (;;) {
      const current = await this.store.getPolicySet();
      try {
        const applied = await this.store.applyPolicySet({ files, appliedAt: Date.now(), appliedBy, expectedRevision: current.revision });
        await this.controlPlane.refresh();
        return applied.revision;
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
      }
    }
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
    const issued = await issueKubeconfig(
      {
        store: this.store,
        access: this.controlPlane.access,
        userCa: this.pki.userCa,
        edgeUrl: this.edgeUrl,
        edgeCaPem: this.pki.servingCa.certPem,
        userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
        maxTtlMs: this.maxCertTtlMs,
      },
      {
        user: req.user,
        ttlMs: req.ttlMs ?? Math.min(DEFAULT_USER_CERT_TTL_MS, this.maxCertTtlMs),
        now: new Date(),
        ...(req.clusters ? { clusters: req.clusters } : {}),
        ...(req.evenWithoutAccess ? { evenWithoutAccess: true } : {}),
      },
    );
    const file = req.file ?? path.join(this.props.stateDir, 'kubeconfigs', `${req.user}.kubeconfig`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, issued.kubeconfig, { mode: 0o600 });
    return { ...issued, file };
  }

  /**
   * Issues a new serving certificate for the edge and hands it to Envoy over SDS: new
   * handshakes get it, open connections (watches, exec) carry on undisturbed. Runs by itself
   * a day before expiry; callable any time (tests, a suspected key compromise).
   */
  rotateEdgeCertificate(): string {
    const pair = this.pki.renewEdgeServing(new Date());
    this.controlPlane.setEdgeServingCertificate(pair);
    this.props.logger.info('edge serving certificate rotated');
    return pair.certPem;
  }

  /** Stops the edge, the control plane and every cluster; safe to call twice. */
  async stop(): Promise<void> {
    if (this.rotationTimer) clearInterval(this.rotationTimer);
    await this.policyWatcher?.stop();
    await this.apiServer?.close();
    for (const site of this.tunnelSites.values()) await site.stopAgentSide();
    await this.edge?.stop();
    await this.controlPlane.stop();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.exporters.stop();
    await this.audit.close();
    await this.store.close();
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

/** The control plane's props, from the PKI as it is now (the edge certificate may have rotated). */
/** What the control plane needs to keep the audit trail. */
interface StackAuditing {
  readonly appender: AuditAppender;
  readonly edgeLog: { readonly file: string; readonly reopen: () => Promise<void> };
}

function controlPlaneProps(props: LocalStackProps, pki: KubegatePki, store: Store, ports: StackPorts, siteHostAddresses: ReadonlyMap<string, string>, audit: StackAuditing): ControlPlaneProps {
  // Firewalled clusters reach the host at their own veth address, not at its loopback: the
  // agent port and the tunnel listener listen on every address (both demand a certificate).
  const agentListenAddress = (props.tunnelIsolation ?? 'network-namespace') === 'network-namespace' ? '0.0.0.0' : '127.0.0.1';
  return {
    port: ports.xds,
    authzPort: ports.authz,
    statusPort: ports.status,
    store,
    tls: { caPem: pki.internalCa.certPem, serving: pki.controlPlane },
    edge: {
      nodeId: EDGE_NODE_ID,
      listenAddress: '127.0.0.1',
      listenPort: ports.edge,
      auditLogFile: audit.edgeLog.file,
      ...(props.accessLogFlushIntervalSeconds ? { accessLogFlushIntervalSeconds: props.accessLogFlushIntervalSeconds } : {}),
    },
    audit,
    edgeCertificates: { userCaPem: pki.userCa.certPem, serving: pki.edgeServing },
    controlPlaneCluster: CONTROL_PLANE_CLUSTER,
    authzCluster: AUTHZ_CLUSTER,
    accessLogFile: path.join(props.stateDir, 'access-log.jsonl'),
    logger: props.logger.child('control-plane'),
    agents: {
      gateway: {
        host: agentListenAddress,
        port: ports.agent,
        edgeTunnelFor: (cluster) => {
          const host = siteHostAddresses.get(cluster);
          return host ? { host, port: ports.tunnel } : undefined;
        },
        serving: pki.controlPlane,
        internalCaPem: pki.internalCa.certPem,
        agentCaPem: pki.agentCa.certPem,
        issueAgentCertificate: (cluster, publicKeyPem, now) => pki.issueAgentCertificate(cluster, publicKeyPem, now, AGENT_CERTIFICATE_LIFETIME_MS),
        assertionSigningKeyPem: pki.assertionSigningKeyPem,
        edgeTunnel: { host: '127.0.0.1', port: ports.tunnel },
      },
      tunnels: { listenAddress: agentListenAddress, listenPort: ports.tunnel, agentCaPem: pki.agentCa.certPem, identity: pki.edgeTunnel },
    },
  };
}
