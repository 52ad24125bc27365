/**
 * The agent's session with the control plane: dial out, say hello, heartbeat, carry out
 * commands, and after any failure (control plane restart, network cut, refused hello) dial
 * again with capped exponential backoff and jitter. State lives in the cluster (labelled
 * ServiceAccounts), so nothing is lost between sessions: each hello reports what exists.
 */
import * as grpc from '@grpc/grpc-js';
import type { AgentMessage, ControlMessage, Hello, PodStatus } from '../protocol/agent-protocol';
import type { AgentLogger } from '../log/agent-logger';
import type { ServiceAccountManager } from '../service-accounts/service-account-manager';
import { agentClient, type AgentCertificate, type ControlPlaneAddress } from './agent-identity';

export interface ControlSessionProps {
  readonly controlPlane: ControlPlaneAddress;
  readonly identity: () => AgentCertificate;
  readonly hello: () => Promise<Hello>;
  readonly accounts: ServiceAccountManager;
  readonly logger: AgentLogger;
  /** Called with the control plane's idle period (ms) after each welcome. */
  readonly onWelcome?: (idleMs: number) => void;
  /** Called with a new idle period (ms) the control plane sends mid-session (a policy change). */
  readonly onSettings?: (idleMs: number) => void;
  /** @default 500 */
  readonly initialBackoffMs?: number;
  /** @default 15000 */
  readonly maxBackoffMs?: number;
}

export class ControlSession {
  private stopped = false;
  private call?: grpc.ClientDuplexStream<AgentMessage, ControlMessage>;
  private client?: grpc.Client;
  private heartbeat?: NodeJS.Timeout;
  private backoffMs: number;
  private retry?: NodeJS.Timeout;
  connected = false;
  /** The pod's latest status, sent on every session (again after each reconnect). */
  private status?: PodStatus;

  constructor(private readonly props: ControlSessionProps) {
    this.backoffMs = props.initialBackoffMs ?? 500;
  }

  start(): void {
    void this.connect();
  }

  /** Tells the control plane the pod's status now, and on every later session. */
  sendStatus(status: PodStatus): void {
    this.status = status;
    if (this.connected) this.call?.write({ message: 'status', status });
  }

  /** Ends the current session so the next one uses a renewed certificate. */
  reconnect(): void {
    this.call?.cancel();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const log = this.props.logger;
    let hello: Hello;
    try {
      hello = await this.props.hello();
    } catch (err) {
      log.warn('cannot describe the cluster yet; retrying', { error: (err as Error).message });
      return this.scheduleRetry();
    }
    const client = agentClient(this.props.controlPlane, this.props.identity());
    this.client = client;
    const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ControlMessage> }).Connect();
    this.call = call;
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      this.connected = false;
      if (this.heartbeat) clearInterval(this.heartbeat);
      client.close();
      if (!this.stopped) {
        log.warn('session with the control plane ended; reconnecting', { why, inMs: this.backoffMs });
        this.scheduleRetry();
      }
    };
    call.on('data', (message: ControlMessage) => this.onMessage(call, message));
    call.on('error', (err: grpc.ServiceError) => end(err.details || err.message));
    call.on('end', () => end('control plane ended the session'));
    call.write({ message: 'hello', hello });
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
    this.backoffMs = Math.min(this.backoffMs * 2, this.props.maxBackoffMs ?? 15_000);
    this.retry = setTimeout(() => void this.connect(), delay);
  }

  private onMessage(call: grpc.ClientDuplexStream<AgentMessage, ControlMessage>, message: ControlMessage): void {
    const log = this.props.logger;
    switch (message.message) {
      case 'welcome': {
        this.connected = true;
        this.backoffMs = this.props.initialBackoffMs ?? 500;
        const every = Math.max(1, message.welcome.heartbeat_interval_seconds) * 1000;
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => call.write({ message: 'heartbeat', heartbeat: { sent_at_ms: String(Date.now()) } }), every);
        this.props.onWelcome?.(message.welcome.idle_timeout_seconds * 1000);
        if (this.status) call.write({ message: 'status', status: this.status });
        log.info('connected to the control plane', { idleTimeoutSeconds: message.welcome.idle_timeout_seconds });
        return;
      }
      case 'ensure': {
        const { command_id, access } = message.ensure;
        const started = Date.now();
        const roles = (access.cluster_roles ?? []).map((r) => ({ name: r.cluster_role, ...(r.namespaces?.length ? { namespaces: r.namespaces } : {}) }));
        this.props.accounts
          .ensure({ user: access.user, clusterRoles: roles })
          .then((result) => {
            this.props.accounts.touch(access.user);
            call.write({
              message: 'result',
              result: { command_id, ok: true, impersonate_user: this.props.accounts.impersonationUser(access.user), duration_ms: Date.now() - started },
            });
            if (result.created || result.bindingsCreated || result.bindingsRemoved) {
              log.info('user ServiceAccount ensured', { user: access.user, serviceAccount: result.serviceAccount, created: result.created, bindingsCreated: result.bindingsCreated, bindingsRemoved: result.bindingsRemoved, ms: Date.now() - started });
            }
          })
          .catch((err: Error) => {
            log.warn('could not ensure a user ServiceAccount', { user: access.user, error: err.message });
            call.write({ message: 'result', result: { command_id, ok: false, error: err.message, duration_ms: Date.now() - started } });
          });
        return;
      }
      case 'remove': {
        const { command_id, user } = message.remove;
        this.props.accounts
          .remove(user)
          .then(() => call.write({ message: 'result', result: { command_id, ok: true } }))
          .catch((err: Error) => call.write({ message: 'result', result: { command_id, ok: false, error: err.message } }));
        return;
      }
      case 'touch': {
        const at = Number(message.touch.at_ms);
        for (const user of message.touch.users) this.props.accounts.touch(user, at);
        return;
      }
      case 'settings': {
        this.props.onSettings?.(message.settings.idle_timeout_seconds * 1000);
        log.info('the control plane changed the ServiceAccount idle period', { idleTimeoutSeconds: message.settings.idle_timeout_seconds });
        return;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.call?.cancel();
    this.client?.close();
  }
}
