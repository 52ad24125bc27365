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
  readonly logger: AgentLogger;
}

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

  constructor(
    readonly props: AgentProps,
    readonly client: KubeClient,
    readonly accounts: ServiceAccountManager,
    readonly session: ControlSession,
    private readonly proxy: ProxyCredential,
    private readonly identities: AgentIdentityStore,
    private identity: AgentCertificate,
  ) {}

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
    this.session.stop();
    this.proxy.stop();
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
  agent.startHousekeeping();
  session.start();
  return agent;
}
