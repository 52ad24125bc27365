/**
 * The control plane's side of every connected agent: who is connected, the per-user
 * ServiceAccounts known to exist in each cluster, and the commands that make them exist.
 *
 * A user's first request to a cluster waits here while the agent creates their ServiceAccount
 * and bindings; later requests find it ready in memory and cost nothing. The roles a user holds
 * are compared on every request, so a policy change is applied by the next request at the
 * latest, and `rolesChanged` applies it at once for every user already known.
 *
 * A cluster may have several sessions open at once: an agent upgrade is a RollingUpdate with
 * surge, so for a while two agent pods of the cluster (same certificate, different processes)
 * are both connected, and the old one then leaves. Neither ends the other. Commands go to the
 * newest session, the one that said hello last: in a rollout that is the pod that stays, and
 * after a reconnect of one process it is the live stream, while the older one may be
 * half-dead. An older session leaves when its stream ends or, if it stays half-open, when it
 * falls silent (agent-service.ts). Touches go to every session, since each agent process
 * keeps its own idle clock.
 */
import type { Logger } from '../log/logger';
import type { ClusterRoleGrant } from '../../policies/src/cluster-role-grant';
import type { ClusterRecord, Store } from '../store/store';
import type { UserAccessSpec } from '../../agent/protocol/agent-protocol';
import { AgentSession } from './agent-session';
import { ClusterDisconnectedError, ClusterNotRegisteredError, type AgentError } from './agent-errors';
import { registrationRefusal } from './agent-registration';
import { StoreNotFoundError } from '../store/store';

export interface AgentHubProps {
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: () => number;
  /** How long a user's first request may wait for their ServiceAccount. @default 10000 */
  readonly ensureTimeoutMs?: number;
  /** How often recent users are reported to agents as active. @default 30000 */
  readonly touchIntervalMs?: number;
}

interface KnownAccess {
  readonly session: AgentSession;
  readonly rolesKey: string;
  readonly roles: readonly ClusterRoleGrant[];
  readonly impersonate: string;
  /** The user's latest request seen here (epoch ms); the agent's idle clock restarts about then. */
  lastRequestAt: number;
}

const DEFAULT_ENSURE_TIMEOUT_MS = 10_000;
const DEFAULT_TOUCH_INTERVAL_MS = 30_000;

export function rolesKey(roles: readonly ClusterRoleGrant[]): string {
  return JSON.stringify([...roles].map((r) => [r.name, [...(r.namespaces ?? [])].sort()]).sort());
}

export function toUserAccess(user: string, roles: readonly ClusterRoleGrant[]): UserAccessSpec {
  return { user, cluster_roles: roles.map((r) => ({ cluster_role: r.name, namespaces: [...(r.namespaces ?? [])] })) };
}

export class AgentHub {
  /** Each cluster's sessions in the order they were attached; the newest last. */
  private readonly sessions = new Map<string, AgentSession[]>();
  private readonly known = new Map<string, KnownAccess>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly touched = new Map<string, Set<string>>();
  private readonly touchTimer: NodeJS.Timeout;
  private readonly lastSeen = new Map<string, number>();
  /** Sessions asked to reconnect elsewhere (askToReconnect). */
  private readonly movedAway = new WeakSet<AgentSession>();
  /** Per cluster, when its session here last ended by a handover (detach). */
  private readonly handedOver = new Map<string, number>();
  /** Called when a cluster's agent connects or disconnects (e.g. to republish xDS). */
  onSessionChange: (cluster: string) => void = () => {};

  constructor(private readonly props: AgentHubProps) {
    this.touchTimer = setInterval(() => this.flushTouches(), props.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS);
    this.touchTimer.unref();
  }

  /** The cluster's newest open session: the one commands go to. */
  session(cluster: string): AgentSession | undefined {
    return this.openSessions(cluster).at(-1);
  }

  /** The cluster's open sessions, oldest first. */
  private openSessions(cluster: string): AgentSession[] {
    return (this.sessions.get(cluster) ?? []).filter((s) => s.open);
  }

  /**
   * Which tunnels the edge should send the cluster's next request to: the Envoy node of the
   * newest connected pod that is ready, so a pod that is leaving (or not ready yet) gets no new
   * request. Undefined when no connected agent says (agents that predate PodStatus, or none
   * ready): the edge then picks among all of the cluster's tunnels.
   */
  tunnelNode(cluster: string): string | undefined {
    const ready = this.openSessions(cluster).filter((s) => s.podStatus?.ready && !s.podStatus.leaving && s.podStatus.tunnel_node);
    return ready.at(-1)?.podStatus?.tunnel_node;
  }

  /**
   * Every agent of the cluster connected here says its pod is leaving, and none is ready: its
   * successor is connected to another replica, which should decide (and name the new pod's
   * tunnels); deciding here could only point the edge at the pod that is going.
   */
  onlyLeaving(cluster: string): boolean {
    const sessions = this.openSessions(cluster);
    return sessions.length > 0 && sessions.every((s) => s.podStatus?.leaving || !s.podStatus?.ready) && sessions.some((s) => s.podStatus?.leaving);
  }

  /** How many of the cluster's agents are connected here (two while a rolling update overlaps them). */
  sessionCount(cluster: string): number {
    return this.openSessions(cluster).length;
  }

  /** Every open session of every cluster. */
  private allOpenSessions(): AgentSession[] {
    return [...this.sessions.values()].flat().filter((s) => s.open);
  }

  /** How many sessions of all clusters are open here (a draining replica waits for none). */
  openSessionCount(): number {
    return this.allOpenSessions().length;
  }

  /**
   * This replica is stopping: asks every open session's agent to move to another replica
   * (Reconnect). Each opens a new session elsewhere and closes this one once that is welcomed;
   * agents that predate the message stay until their session is ended.
   * @returns how many sessions were asked
   */
  askToReconnect(reason: string): number {
    const sessions = this.allOpenSessions();
    for (const session of sessions) {
      this.movedAway.add(session);
      session.send({ message: 'reconnect', reconnect: { reason } });
    }
    return sessions.length;
  }

  /** Each cluster with at least one open session, once, sorted. */
  connectedClusters(): string[] {
    return [...this.sessions.keys()].filter((cluster) => this.session(cluster)).sort();
  }

  /**
   * Adds a session beside any others of its cluster, as the newest. It ends none of them: in a
   * rolling update the older pod is still serving until it leaves by itself.
   */
  attach(session: AgentSession): void {
    const sessions = this.sessions.get(session.cluster) ?? [];
    if (!sessions.includes(session)) sessions.push(session);
    this.sessions.set(session.cluster, sessions);
    this.lastSeen.set(session.cluster, this.props.clock());
    this.handedOver.delete(session.cluster);
    this.onSessionChange(session.cluster);
  }

  /**
   * Ends this one session and forgets it. The cluster stays connected while another of its
   * sessions is open; the newest of those takes the commands.
   */
  detach(session: AgentSession): void {
    session.end();
    const sessions = this.sessions.get(session.cluster);
    const index = sessions?.indexOf(session) ?? -1;
    if (!sessions || index < 0) return;
    sessions.splice(index, 1);
    // Its pod said it was leaving, or it was asked to move: its successor is (or will be)
    // connected to another replica, not gone.
    if (session.podStatus?.leaving || this.movedAway.delete(session)) this.handedOver.set(session.cluster, this.props.clock());
    if (sessions.length === 0) this.sessions.delete(session.cluster);
    this.onSessionChange(session.cluster);
  }

  /**
   * When this replica's last session of the cluster ended by a handover (the pod left, or the
   * agent was asked to move) rather than by a failure; undefined if it never did.
   */
  handedOverAt(cluster: string): number | undefined {
    return this.handedOver.get(cluster);
  }

  heartbeat(cluster: string, at: number): void {
    this.lastSeen.set(cluster, at);
  }

  lastSeenAt(cluster: string): number | undefined {
    return this.lastSeen.get(cluster);
  }

  /**
   * The Kubernetes user to impersonate for `user` in `cluster`, once their ServiceAccount exists
   * with exactly `roles` bound. Concurrent first requests of one user share one command. What
   * an older session prepared is asked of the newest one again (ensure is idempotent on the
   * agent), and a command whose session ends under it is asked again of the newest left.
   */
  async ensureAccess(cluster: string, user: string, roles: readonly ClusterRoleGrant[]): Promise<string> {
    const session = this.session(cluster);
    if (!session) throw new ClusterDisconnectedError(cluster, this.lastSeen.get(cluster));
    this.touch(cluster, user);
    const key = `${cluster}\u0000${user}`;
    const wanted = rolesKey(roles);
    const known = this.known.get(key);
    const now = this.props.clock();
    if (known && known.session === session && known.rolesKey === wanted && !this.mayHaveBeenRemovedAsIdle(known, now)) {
      known.lastRequestAt = now;
      return known.impersonate;
    }
    const flightKey = `${key}\u0000${wanted}\u0000${session.id}`;
    let flight = this.inFlight.get(flightKey);
    if (!flight) {
      const started = this.props.clock();
      flight = session
        .command((command_id) => ({ message: 'ensure', ensure: { command_id, access: toUserAccess(user, roles) } }), `prepare the ServiceAccount of "${user}"`, this.props.ensureTimeoutMs ?? DEFAULT_ENSURE_TIMEOUT_MS)
        .then((result) => {
          const impersonate = result.impersonate_user ?? '';
          if (!impersonate) throw new Error(`the agent of cluster "${cluster}" did not name the ServiceAccount of "${user}"`);
          this.known.set(key, { session, rolesKey: wanted, roles, impersonate, lastRequestAt: this.props.clock() });
          this.props.logger.info('user ServiceAccount ready', { cluster, user, serviceAccount: impersonate, ms: this.props.clock() - started, agentMs: result.duration_ms });
          return impersonate;
        })
        .finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, flight);
    }
    return flight.catch((err: unknown) => {
      // The session left while it worked (the older pod of a rolling update): another is open.
      if (session.open || !this.session(cluster)) throw err;
      return this.ensureAccess(cluster, user, roles);
    });
  }

  /**
   * After a policy change: every known user whose roles in a cluster changed gets their
   * bindings updated now, not at their next request. `rolesOf` returns undefined for a user
   * who lost all access there (their ServiceAccount is removed). The commands go to the
   * cluster's newest session, whichever session prepared the user: the ServiceAccounts live in
   * the cluster, not in one agent process.
   */
  rolesChanged(rolesOf: (cluster: string, user: string) => readonly ClusterRoleGrant[] | undefined): void {
    for (const [key, known] of this.known) {
      const [cluster, user] = key.split('\u0000') as [string, string];
      const session = this.session(cluster);
      if (!session) continue;
      const roles = rolesOf(cluster, user);
      if (roles === undefined) {
        this.known.delete(key);
        session
          .command((command_id) => ({ message: 'remove', remove: { command_id, user } }), `remove the ServiceAccount of "${user}"`, DEFAULT_ENSURE_TIMEOUT_MS)
          .catch((err: Error) => this.props.logger.warn('could not remove a ServiceAccount after a policy change', { cluster, user, error: err.message }));
        continue;
      }
      if (rolesKey(roles) === known.rolesKey) continue;
      this.ensureAccess(cluster, user, roles).catch((err: Error) =>
        this.props.logger.warn('could not update a ServiceAccount after a policy change', { cluster, user, error: err.message }),
      );
    }
  }

  /**
   * The agent removes an idle ServiceAccount without telling the control plane, so a user back
   * after the idle period must be ensured again, not answered from memory (their bindings would
   * be gone and every request refused). The agent's clock runs from the touches this hub sends,
   * which leave up to a touch interval after the request, so it never removes earlier than the
   * period counted from here; the margin covers clock skew between the two machines.
   */
  private mayHaveBeenRemovedAsIdle(known: KnownAccess, now: number): boolean {
    const idleSeconds = known.session.idleTimeoutSeconds;
    if (idleSeconds === undefined) return false;
    const idleMs = idleSeconds * 1000;
    const margin = Math.min(this.props.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS, idleMs / 2);
    return now - known.lastRequestAt >= idleMs - margin;
  }

  /**
   * After a policy change: each connected agent (every open session) whose cluster's idle
   * period changed is told the new one now (a settings message), not when it next reconnects;
   * the others hear nothing.
   * @returns the clusters whose agents were told, each once
   */
  idleTimeoutsChanged(idleSecondsOf: (session: AgentSession) => number): string[] {
    const told = new Set<string>();
    for (const session of this.allOpenSessions()) {
      const seconds = idleSecondsOf(session);
      if (!session.updateIdleTimeout(seconds)) continue;
      told.add(session.cluster);
      this.props.logger.info('agent told a new ServiceAccount idle period', { cluster: session.cluster, session: session.id, idleTimeoutSeconds: seconds });
    }
    return [...told];
  }

  /** Notes a request, so the agent does not remove the user's ServiceAccount as idle. */
  touch(cluster: string, user: string): void {
    let users = this.touched.get(cluster);
    if (!users) this.touched.set(cluster, (users = new Set()));
    users.add(user);
  }

  /**
   * Reports the users touched since the last flush to every open session of their cluster:
   * each agent process keeps its own idle clock, and an older pod still running beside a newer
   * one must not remove a ServiceAccount as idle while it is in use.
   */
  flushTouches(): void {
    const at = this.props.clock();
    for (const [cluster, users] of this.touched) {
      const sessions = this.openSessions(cluster);
      if (sessions.length === 0 || users.size === 0) continue;
      for (const session of sessions) session.send({ message: 'touch', touch: { users: [...users], at_ms: String(at) } });
      users.clear();
    }
  }

  /**
   * Records a hello in the store: the cluster record is updated from every connection. Only an
   * agent its cluster's registration admits (agent-registration.ts) gets that far; any other is
   * refused with the AgentError that says why, and nothing is recorded.
   */
  async recordHello(session: AgentSession, serial: string): Promise<ClusterRecord> {
    const now = this.props.clock();
    const refusal = registrationRefusal(session.cluster, await this.props.store.getCluster(session.cluster), session.certifiedAt);
    if (refusal) throw refusal;
    const h = session.hello;
    try {
      const record = await this.props.store.recordAgentHello(
        {
          name: session.cluster,
          labels: { ...(h.labels ?? {}) },
          kubernetesVersion: h.kubernetes_version ?? '',
          apiserverCaPem: h.apiserver_ca_pem ?? '',
          apiserverHost: h.apiserver_host ?? '',
          apiserverPort: h.apiserver_port ?? 0,
          agentVersion: h.agent_version ?? '',
          agentCertificateSerial: serial,
          registeredAt: now,
          lastSeenAt: now,
        },
        session.certifiedAt,
      );
      session.labels = record.labels;
      return record;
    } catch (err) {
      // Deregistered (or registered again) between the check and the update.
      if (err instanceof StoreNotFoundError) throw registrationRefusal(session.cluster, await this.props.store.getCluster(session.cluster), session.certifiedAt) ?? new ClusterNotRegisteredError(session.cluster);
      throw err;
    }
  }

  /**
   * Ends this session of an agent its cluster's registration no longer admits, telling the
   * agent why; it reconnects, and is refused at its hello for the same reason. Other sessions
   * of the cluster are judged each by their own certificate (followRegistrations).
   */
  refuse(session: AgentSession, refusal: AgentError): void {
    if (!session.open) return;
    this.props.logger.warn('agent disconnected: its cluster\'s registration no longer admits it', { cluster: session.cluster, session: session.id, code: refusal.code, error: refusal.message });
    session.end(refusal);
    this.detach(session);
  }

  /**
   * After a store change: every open session whose cluster is no longer registered (or was
   * registered again since that session's certificate was issued) is refused, and the others
   * take the cluster's labels as the store now has them.
   * @returns whether any connected agent's labels changed (their idle period may have)
   */
  followRegistrations(records: readonly ClusterRecord[]): boolean {
    const byName = new Map(records.map((r) => [r.name, r]));
    let relabelled = false;
    for (const session of this.allOpenSessions()) {
      const record = byName.get(session.cluster);
      const refusal = registrationRefusal(session.cluster, record, session.certifiedAt);
      if (refusal) {
        this.refuse(session, refusal);
      } else if (JSON.stringify(record!.labels) !== JSON.stringify(session.labels)) {
        session.labels = record!.labels;
        relabelled = true;
      }
    }
    return relabelled;
  }

  /** Ends every session of every cluster. */
  close(): void {
    clearInterval(this.touchTimer);
    for (const s of [...this.sessions.values()].flat()) s.end();
    this.sessions.clear();
  }
}
