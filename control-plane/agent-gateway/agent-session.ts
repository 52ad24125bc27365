/**
 * One connected agent: its Connect stream, what it said in its hello, and the commands waiting
 * for an answer. Commands are correlated by id; a session that ends fails them at once, so a
 * user's first request never waits on an agent that is gone.
 */
import * as grpc from '@grpc/grpc-js';
import type { AgentMessage, ControlMessage, Hello, CommandResult, PodStatus } from '../../agent/protocol/agent-protocol';
import { AgentCommandFailedError, AgentTimeoutError, ClusterDisconnectedError, type AgentError } from './agent-errors';

export type ConnectCall = grpc.ServerDuplexStream<AgentMessage, ControlMessage>;

interface Pending {
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class AgentSession {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private ended = false;
  /** The idle period the agent was last told (welcome or settings); undefined before the welcome. */
  private idleTimeout: number | undefined;
  /**
   * The cluster's labels as kubegate keeps them: the hello's, unless the hub set the cluster's
   * own (then those, kept current as they change); ClusterSettings select the idle period by them.
   */
  labels: Readonly<Record<string, string>>;
  /** What the agent last said of its pod (agents that predate PodStatus say nothing). */
  podStatus: PodStatus | undefined;

  constructor(
    readonly id: number,
    readonly cluster: string,
    readonly hello: Hello,
    private readonly call: ConnectCall,
    /** When the agent's certificate was issued (agent-registration.ts): what it is admitted by. */
    readonly certifiedAt: number,
  ) {
    this.labels = { ...(hello.labels ?? {}) };
  }

  get open(): boolean {
    return !this.ended;
  }

  /** Seconds; undefined until the welcome is sent. */
  get idleTimeoutSeconds(): number | undefined {
    return this.idleTimeout;
  }

  /** The first message of the control plane's side; settings sent later are compared with it. */
  welcome(idleTimeoutSeconds: number, heartbeatIntervalSeconds: number): void {
    this.idleTimeout = idleTimeoutSeconds;
    this.send({ message: 'welcome', welcome: { idle_timeout_seconds: idleTimeoutSeconds, heartbeat_interval_seconds: heartbeatIntervalSeconds } });
  }

  /**
   * Tells the agent a new idle period mid-session. Only after the welcome (which carries the
   * current one) and only when it differs, so a reload that changes nothing sends nothing.
   * @returns whether a settings message was sent
   */
  updateIdleTimeout(idleTimeoutSeconds: number): boolean {
    if (this.ended || this.idleTimeout === undefined || this.idleTimeout === idleTimeoutSeconds) return false;
    this.idleTimeout = idleTimeoutSeconds;
    this.send({ message: 'settings', settings: { idle_timeout_seconds: idleTimeoutSeconds } });
    return true;
  }

  send(message: ControlMessage): void {
    if (!this.ended) this.call.write(message);
  }

  /** Sends a command and resolves with the agent's result (rejects on failure or timeout). */
  command(build: (commandId: string) => ControlMessage, what: string, timeoutMs: number): Promise<CommandResult> {
    if (this.ended) return Promise.reject(new ClusterDisconnectedError(this.cluster, undefined));
    const commandId = `${this.id}-${++this.nextId}`;
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(commandId);
        reject(new AgentTimeoutError(this.cluster, what, timeoutMs));
      }, timeoutMs);
      this.pending.set(commandId, {
        resolve: (result) => (result.ok ? resolve(result) : reject(new AgentCommandFailedError(this.cluster, what, result.error || 'no reason given'))),
        reject,
        timer,
      });
      this.send(build(commandId));
    });
  }

  /** An answer from the agent; answers to unknown (timed-out) commands are dropped. */
  result(result: CommandResult): boolean {
    const waiting = this.pending.get(result.command_id);
    if (!waiting) return false;
    this.pending.delete(result.command_id);
    clearTimeout(waiting.timer);
    waiting.resolve(result);
    return true;
  }

  /**
   * Ends the session: with OK, or with `refusal`, whose message the agent gets as the status's
   * details (PERMISSION_DENIED) and logs.
   */
  end(refusal?: AgentError): void {
    if (this.ended) return;
    this.ended = true;
    for (const [, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new ClusterDisconnectedError(this.cluster, Date.now()));
    }
    this.pending.clear();
    try {
      // grpc-js ends a server stream that emits an error with that error's code and details.
      if (refusal) this.call.emit('error', Object.assign(new Error(refusal.message), { code: grpc.status.PERMISSION_DENIED, details: refusal.message }));
      else this.call.end();
    } catch {
      // Already closed by the peer.
    }
  }
}
