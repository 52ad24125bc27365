/**
 * The agent's session with the control plane: dial out, say hello, heartbeat, carry out
 * commands, and after any failure (control plane restart, network cut, refused hello) dial
 * again with capped exponential backoff and jitter. State lives in the cluster (labelled
 * ServiceAccounts), so nothing is lost between sessions: each hello reports what exists.
 * When the control plane's replica stops it asks the agent to move (Reconnect): the agent
 * opens a new session first and closes the old one only once the new one is welcomed.
 */
import * as grpc from '@grpc/grpc-js';
import type { AgentMessage, ControlMessage, Hello, PodStatus, Welcome } from '../protocol/agent-protocol';
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

/**
 * One dialled session: its own client (so its own connection, which the control plane's
 * Service may route to any replica), its call, and its heartbeat once welcomed.
 */
interface Attempt {
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<AgentMessage, ControlMessage>;
  heartbeat?: NodeJS.Timeout;
  /** Closed by the agent itself (replaced by a newer session, or stopped): its end is expected. */
  retired: boolean;
  ended: boolean;
}

export class ControlSession {
  private stopped = false;
  /** The welcomed session: heartbeats, status and commands travel on it. */
  private active?: Attempt;
  /** A session dialled and not welcomed yet: the first one, a retry, or an active one's replacement. */
  private pending?: Attempt;
  /**
   * Whether a connect loop runs (a hello being prepared, a session awaiting its welcome, or a
   * retry timer): at most one at a time, so a stale session ending never starts a second.
   */
  private looping = false;
  private backoffMs: number;
  private retry?: NodeJS.Timeout;
  /** The pod's latest status, sent on every session (again after each reconnect). */
  private status?: PodStatus;

  constructor(private readonly props: ControlSessionProps) {
    this.backoffMs = props.initialBackoffMs ?? 500;
  }

  /** Whether a session is welcomed and open now. */
  get connected(): boolean {
    return this.active !== undefined;
  }

  start(): void {
    this.looping = true;
    void this.connect();
  }

  /** Tells the control plane the pod's status now, and on every later session. */
  sendStatus(status: PodStatus): void {
    this.status = status;
    this.active?.call.write({ message: 'status', status });
  }

  /** Ends the current session so the next one uses a renewed certificate. */
  reconnect(): void {
    (this.active ?? this.pending)?.call.cancel();
  }

  /**
   * The control plane's replica is stopping: dial a new session while this one keeps serving,
   * and close this one once the new one is welcomed (onWelcome). Asked again while a move (or
   * any connect loop) runs, it does nothing.
   */
  private moveToAnotherReplica(reason: string): void {
    if (this.looping || this.stopped) return;
    this.props.logger.info('the control plane asked to move to another replica; opening a new session before closing this one', { reason });
    this.looping = true;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.retry = undefined;
    if (this.stopped) return;
    const log = this.props.logger;
    let hello: Hello;
    try {
      hello = await this.props.hello();
    } catch (err) {
      log.warn('cannot describe the cluster yet; retrying', { error: (err as Error).message });
      return this.scheduleRetry();
    }
    if (this.stopped) return;
    const client = agentClient(this.props.controlPlane, this.props.identity());
    const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ControlMessage> }).Connect();
    const attempt: Attempt = { client, call, retired: false, ended: false };
    this.pending = attempt;
    call.on('data', (message: ControlMessage) => this.onMessage(attempt, message));
    call.on('error', (err: grpc.ServiceError) => this.ended(attempt, err.details || err.message));
    call.on('end', () => this.ended(attempt, 'control plane ended the session'));
    call.write({ message: 'hello', hello });
  }

  /**
   * A session's stream ended. The active one's end starts a connect loop unless one runs (a
   * move under way); a pending one's end retries with backoff, while any active session stays;
   * a retired one's end was asked for and changes nothing.
   */
  private ended(attempt: Attempt, why: string): void {
    if (attempt.ended) return;
    attempt.ended = true;
    this.close(attempt);
    if (attempt.retired || this.stopped) return;
    if (attempt === this.pending) {
      this.pending = undefined;
      const keeping = this.active ? '; the current session stays meanwhile' : '';
      this.props.logger.warn(`session with the control plane ended; reconnecting${keeping}`, { why, inMs: this.backoffMs });
      return this.scheduleRetry();
    }
    if (attempt !== this.active) return;
    this.active = undefined;
    if (this.looping) {
      this.props.logger.warn('session with the control plane ended while a new one is being opened', { why });
      return;
    }
    this.props.logger.warn('session with the control plane ended; reconnecting', { why, inMs: this.backoffMs });
    this.looping = true;
    this.scheduleRetry();
  }

  private close(attempt: Attempt): void {
    if (attempt.heartbeat) clearInterval(attempt.heartbeat);
    attempt.client.close();
  }

  /** Closes a session the agent no longer needs, without a retry for it. */
  private retire(attempt: Attempt): void {
    attempt.retired = true;
    attempt.call.cancel();
    this.close(attempt);
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry) return;
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
    this.backoffMs = Math.min(this.backoffMs * 2, this.props.maxBackoffMs ?? 15_000);
    this.retry = setTimeout(() => void this.connect(), delay);
  }

  /**
   * A session was welcomed: it becomes the active one (heartbeats, status), the connect loop
   * ends, and the session it replaces, if any, is closed now that this one serves.
   */
  private welcomed(attempt: Attempt, welcome: Welcome): void {
    const replaced = this.active !== attempt ? this.active : undefined;
    this.active = attempt;
    if (this.pending === attempt) this.pending = undefined;
    this.looping = false;
    this.backoffMs = this.props.initialBackoffMs ?? 500;
    const every = Math.max(1, welcome.heartbeat_interval_seconds) * 1000;
    if (attempt.heartbeat) clearInterval(attempt.heartbeat);
    attempt.heartbeat = setInterval(() => attempt.call.write({ message: 'heartbeat', heartbeat: { sent_at_ms: String(Date.now()) } }), every);
    this.props.onWelcome?.(welcome.idle_timeout_seconds * 1000);
    if (this.status) attempt.call.write({ message: 'status', status: this.status });
    this.props.logger.info('connected to the control plane', { idleTimeoutSeconds: welcome.idle_timeout_seconds });
    if (replaced) {
      this.retire(replaced);
      this.props.logger.info('closed the previous session with the control plane: the new one serves');
    }
  }

  private onMessage(attempt: Attempt, message: ControlMessage): void {
    const log = this.props.logger;
    const call = attempt.call;
    switch (message.message) {
      case 'welcome':
        return this.welcomed(attempt, message.welcome);
      case 'reconnect':
        // Only the serving session's replica can ask it to move.
        if (attempt === this.active) this.moveToAnotherReplica(message.reconnect.reason);
        return;
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
    for (const attempt of [this.active, this.pending]) if (attempt) this.retire(attempt);
    this.active = undefined;
    this.pending = undefined;
  }
}
