/**
 * A running agent: joins (or reuses its stored certificate), keeps the in-cluster Envoy's
 * secrets fresh, reconciles the per-user ServiceAccounts it manages, holds its session with the
 * control plane, renews its certificate before expiry and removes idle ServiceAccounts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubeClient, type KubeClientProps } from '../kubernetes/kube-client';
import { ServiceAccountManager } from '../service-accounts/service-account-manager';
import type { AgentLogger } from '../log/agent-logger';
import { AgentIdentityStore, renewalDue, type AgentCertificate, type ControlPlaneAddress } from './agent-identity';
import { FileIdentityPersistence, SecretIdentityPersistence } from './identity-persistence';
import { ControlSession } from './control-session';
import { ProxyCredential } from './proxy-credential';
import { drainLocalEnvoy, LocalEnvoy } from './local-envoy';
import { startHealthServer, type HealthServer } from './health-server';
import { CLUSTER_NAME } from '../protocol/identities';

export const AGENT_VERSION = '0.1.0';

export interface AgentProps {
  readonly cluster: string;
  /** @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Where the agent keeps its certificate and the in-cluster Envoy's secrets. */
  readonly stateDir: string;
  readonly controlPlane: ControlPlaneAddress;
  /** Needed only until the agent holds a certificate. */
  readonly joinToken?: string;
  /** How the agent itself reaches kube-apiserver, with its own (kubegate-agent) credentials. */
  readonly kube: KubeClientProps;
  /** How the in-cluster Envoy reaches kube-apiserver. @default the host and port of kube.server */
  readonly apiserverForEnvoy?: { readonly host: string; readonly port: number };
  /** ClusterRoles the cluster admin allows kubegate to bind. @default no local check (RBAC decides) */
  readonly allowedClusterRoles?: readonly string[];
  /**
   * A Secret (created empty by the agent's manifests) where the agent keeps its certificate, so
   * a restarted pod, whose state directory starts empty, needs no new join token.
   * @default files under <stateDir>/identity
   */
  readonly identitySecret?: { readonly namespace: string; readonly name: string };
  /**
   * HOST:PORT of the in-cluster Envoy's admin interface (the pod's loopback): readiness waits for
   * its tunnels, and a stopping agent drains it first. @default no Envoy beside the agent
   */
  readonly envoyAdmin?: string;
  /** Where /healthz and /readyz are served. @default not served */
  readonly health?: { readonly host: string; readonly port: number };
  /** How long a stopping agent waits for the requests on its Envoy's tunnels. @default 20000 */
  readonly drainTimeoutMs?: number;
  readonly logger: AgentLogger;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;
/** Between telling the hub this pod is leaving and draining its Envoy. */
const LEAVE_NOTICE_MS = 1_500;

/** Bad agent configuration, named before anything starts. */
export class AgentConfigError extends Error {
  readonly code = 'ERR_AGENT_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

export class RunningAgent {
  private timers: NodeJS.Timeout[] = [];
  private renewTimer?: NodeJS.Timeout;
  private idleMs = 8 * 3600 * 1000;
  private draining = false;
  private drainDone?: Promise<void>;
  private drainStarted?: () => void;
  private readonly drainBegun = new Promise<void>((resolve) => (this.drainStarted = resolve));
  private readonly envoy: LocalEnvoy | undefined;
  private statusTimer?: NodeJS.Timeout;
  private tunnelNode?: string;
  private lastStatus = '';
  health?: HealthServer;

  constructor(
    readonly props: AgentProps,
    readonly client: KubeClient,
    readonly accounts: ServiceAccountManager,
    readonly session: ControlSession,
    private readonly proxy: ProxyCredential,
    private readonly identities: AgentIdentityStore,
    private identity: AgentCertificate,
  ) {
    this.envoy = props.envoyAdmin ? new LocalEnvoy(props.envoyAdmin) : undefined;
  }

  /** Why this agent cannot serve now (for /readyz), or undefined when it can. */
  async notReadyBecause(): Promise<string | undefined> {
    if (this.draining) return 'draining: the pod is stopping';
    if (!this.session.connected) return 'no session with the control plane';
    if (!this.envoy) return undefined;
    try {
      const { tunnels } = await this.envoy.tunnelStats();
      if (tunnels === 0) return 'the in-cluster Envoy holds no tunnel to the edge yet';
      // Ready only once the hub has been told so: a rolling update removes the old pod as soon
      // as this one is ready, and the hub must already send requests to this pod's tunnels then.
      this.tunnelNode ??= await this.envoy.nodeId();
      this.sendStatus(true, false);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /**
   * Tells the control plane, whenever it changes, whether this pod's Envoy holds tunnels and
   * under which node id: the hub sends requests to the newest ready pod's tunnels only.
   */
  watchPodStatus(intervalMs = 1_000): void {
    if (!this.envoy) return;
    const check = async () => {
      const envoy = this.envoy!;
      try {
        this.tunnelNode ??= await envoy.nodeId();
        const ready = !this.draining && (await envoy.tunnelStats()).tunnels > 0;
        this.sendStatus(ready, false);
      } catch {
        // The Envoy is not up yet (or restarting): not ready.
        if (this.tunnelNode) this.sendStatus(false, this.draining);
      }
    };
    void check();
    this.statusTimer = setInterval(() => void check(), intervalMs);
    this.statusTimer.unref();
  }

  private sendStatus(ready: boolean, leaving: boolean): void {
    if (!this.tunnelNode) return;
    const status = { ready, tunnel_node: this.tunnelNode, leaving };
    const key = JSON.stringify(status);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.session.sendStatus(status);
    this.props.logger.info('pod status', { ...status });
  }

  /**
   * Before the pod goes: readiness turns false, the in-cluster Envoy drains (the edge moves new
   * requests to other tunnels) and the requests on its tunnels finish, up to the drain timeout.
   * The session stays until stop(), so users' ServiceAccounts are still served meanwhile.
   */
  drain(): Promise<void> {
    this.draining = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.drainDone ??= this.drainEnvoy();
    this.drainStarted?.();
    return this.drainDone;
  }

  /** Resolves once a drain has begun and ended, or after maxMs (for the Envoy's preStop hook). */
  async drained(maxMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)));
    await Promise.race([this.drainBegun.then(() => this.drainDone), deadline]);
    clearTimeout(timer);
  }

  private async drainEnvoy(): Promise<void> {
    if (!this.envoy) return;
    const log = this.props.logger;
    // First the hub stops sending new requests here (to the next pod's tunnels); the checks it
    // is deciding meanwhile still name this pod, so they get a moment before the drain.
    this.sendStatus(false, true);
    if (this.session.connected) await new Promise((resolve) => setTimeout(resolve, LEAVE_NOTICE_MS));
    try {
      const outcome = await drainLocalEnvoy(this.envoy, { timeoutMs: this.drainTimeoutMs });
      log.info('in-cluster Envoy drained', { ...outcome });
    } catch (err) {
      log.warn('could not drain the in-cluster Envoy', { error: (err as Error).message });
    }
  }

  get drainTimeoutMs(): number {
    return this.props.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  }

  get secretsDirectory(): string {
    return secretsDirectoryOf(this.props.stateDir);
  }

  certificate(): AgentCertificate {
    return this.identity;
  }

  get idleTimeoutMs(): number {
    return this.idleMs;
  }

  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
  }

  startHousekeeping(): void {
    const log = this.props.logger;
    this.timers.push(
      setInterval(() => {
        this.accounts.flushLastUsed().catch((err: Error) => log.warn('could not record last use', { error: err.message }));
      }, 30_000),
      setInterval(() => {
        this.accounts
          .removeIdle(this.idleMs)
          .then((removed) => removed.length && log.info('idle ServiceAccounts removed', { users: removed }))
          .catch((err: Error) => log.warn('could not remove idle ServiceAccounts', { error: err.message }));
      }, Math.min(60_000, Math.max(1000, this.idleMs / 4))),
    );
    this.scheduleRenewal();
  }

  /** Re-arms the idle sweep with a period suited to the idle timeout the control plane sent. */
  rearmIdleSweep(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.startHousekeeping();
  }

  private scheduleRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    const delay = Math.max(1000, renewalDue(this.identity) - Date.now());
    this.renewTimer = setTimeout(() => {
      this.identities
        .renew(this.props.controlPlane, this.identity)
        .then((cert) => {
          this.identity = cert;
          this.props.logger.info('agent certificate renewed', { notAfter: new Date(cert.notAfter).toISOString() });
          // The session keeps its TLS connection; the next reconnect uses the new certificate.
          this.scheduleRenewal();
        })
        .catch((err: Error) => {
          this.props.logger.warn('certificate renewal failed; retrying in 30 s', { error: err.message });
          this.renewTimer = setTimeout(() => this.scheduleRenewal(), 30_000);
        });
    }, Math.min(delay, 2_147_483_647));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.session.stop();
    this.proxy.stop();
    await this.health?.close();
    await this.accounts.flushLastUsed().catch(() => undefined);
    this.client.close();
  }
}

export function secretsDirectoryOf(stateDir: string): string {
  return path.resolve(stateDir, 'envoy-secrets');
}

export function controlPlaneCaFileOf(stateDir: string): string {
  return path.resolve(stateDir, 'identity', 'control-plane-ca.crt');
}

export async function startAgent(props: AgentProps): Promise<RunningAgent> {
  if (!CLUSTER_NAME.test(props.cluster)) throw new AgentConfigError(`cluster name "${props.cluster}" must be a DNS label (lowercase letters, digits and '-', at most 63)`);
  if (!props.controlPlane.caPem.includes('BEGIN CERTIFICATE')) throw new AgentConfigError('the control plane CA is not a PEM certificate');
  const log = props.logger;
  const secretsDir = secretsDirectoryOf(props.stateDir);
  fs.mkdirSync(path.dirname(controlPlaneCaFileOf(props.stateDir)), { recursive: true, mode: 0o700 });
  fs.writeFileSync(controlPlaneCaFileOf(props.stateDir), props.controlPlane.caPem);

  const client = new KubeClient(props.kube);
  const persistence = props.identitySecret
    ? new SecretIdentityPersistence(client, props.identitySecret.namespace, props.identitySecret.name)
    : new FileIdentityPersistence(path.join(props.stateDir, 'identity'));
  const identities = new AgentIdentityStore(persistence, secretsDir);
  const identity = await identities.joinOrLoad(props.controlPlane, props.cluster, props.joinToken, Date.now());
  log.info('agent identity ready', { cluster: props.cluster, notAfter: new Date(identity.notAfter).toISOString(), keptIn: persistence.where });

  const proxy = new ProxyCredential(client, secretsDir, log.child('proxy-credential'));
  await proxy.start();
  const accounts = new ServiceAccountManager({ client, logger: log.child('service-accounts'), ...(props.allowedClusterRoles ? { allowedClusterRoles: props.allowedClusterRoles } : {}) });
  const reconciled = await accounts.reconcile();
  if (reconciled.removedBindings.length || reconciled.removedDuplicates.length) {
    log.info('reconciled kubegate objects', { orphanBindings: reconciled.removedBindings.length, duplicates: reconciled.removedDuplicates.length });
  }

  const server = new URL(props.kube.server);
  const envoyApiserver = props.apiserverForEnvoy ?? { host: server.hostname.replace(/^\[|\]$/g, ''), port: Number(server.port || 443) };
  let agent: RunningAgent | undefined;
  // The same at each welcome and on a policy change mid-session: the sweep's period follows.
  const applyIdleTimeout = (idleMs: number): void => {
    if (agent && idleMs > 0 && idleMs !== agent.idleTimeoutMs) {
      agent.setIdleTimeout(idleMs);
      agent.rearmIdleSweep();
    }
  };
  const session = new ControlSession({
    controlPlane: props.controlPlane,
    identity: () => agent?.certificate() ?? identity,
    logger: log.child('session'),
    accounts,
    hello: async () => ({
      cluster: props.cluster,
      labels: { ...(props.labels ?? {}) },
      kubernetes_version: await client.serverVersion(),
      apiserver_ca_pem: props.kube.caPem,
      agent_version: AGENT_VERSION,
      apiserver_host: envoyApiserver.host,
      apiserver_port: envoyApiserver.port,
      managed_users: (await accounts.list()).map((a) => a.user),
    }),
    onWelcome: (idleMs) => applyIdleTimeout(idleMs),
    onSettings: (idleMs) => applyIdleTimeout(idleMs),
  });
  agent = new RunningAgent(props, client, accounts, session, proxy, identities, identity);
  const running = agent;
  if (props.health) {
    running.health = await startHealthServer({
      ...props.health,
      notReadyBecause: () => running.notReadyBecause(),
      drained: (maxMs) => running.drained(maxMs),
      // The drain's own limit, and time for the pod's SIGTERM to reach the agent.
      drainedMaxMs: running.drainTimeoutMs + 5_000,
      logger: log.child('health'),
    });
  }
  agent.startHousekeeping();
  session.start();
  agent.watchPodStatus();
  return agent;
}
