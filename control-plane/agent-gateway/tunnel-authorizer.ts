/**
 * Completes an allow for a cluster behind a tunnel: makes sure the user's ServiceAccount exists
 * there with the roles the policy grants (the first request waits for it), then mints the
 * signed assertion the in-cluster Envoy impersonates by. A cluster whose agent is gone fails
 * fast with 503 and a message that says so, instead of hanging on a tunnel that is not there.
 * With several controller replicas an agent is connected to one of them; the others, whose
 * store says it is connected, leave its requests to that one (DecidedElsewhereError: the edge
 * retries the check on another replica). A replica that is stopping (draining) does the same
 * for every cluster it holds no session of: its agents are moving to the other replicas, and
 * it must never call a cluster disconnected that another replica can serve. So does a replica
 * whose only agent of the cluster is leaving (its pod is being replaced): the successor's agent
 * is connected elsewhere, and that replica names the successor's tunnels.
 */
import { DecidedElsewhereError, type Authorizer, type AuthzRequest, type Decision } from '../authz/decision';
import type { ClusterRoleGrant } from '../../policies/src/cluster-role-grant';
import type { AgentHub } from './agent-hub';
import type { AssertionSigner } from './identity-assertion';
import { AgentError, ClusterDisconnectedError } from './agent-errors';
import { AGENT_SILENCE_MS } from './agent-silence';

export interface TunnelAuthorizerProps {
  readonly inner: Authorizer;
  readonly hub: AgentHub;
  readonly signer: AssertionSigner;
  readonly isTunnelCluster: (cluster: string) => boolean;
  /** The ClusterRoles the user holds in the cluster now, per policy. */
  readonly rolesOf: (user: string, groups: readonly string[], cluster: string) => readonly ClusterRoleGrant[];
  readonly clock: () => number;
  /**
   * Whether the cluster's agent is connected to another replica: the store heard from it
   * recently, and this replica holds no connection of it. @default never (one replica)
   */
  readonly heardElsewhere?: (cluster: string) => Promise<boolean>;
  /**
   * Whether this replica is stopping: a cluster with no session here is then left to another
   * replica (DecidedElsewhereError) without asking the store. @default never
   */
  readonly draining?: () => boolean;
}

/** How long a replica trusts what the store said about an agent it does not hold. */
const ELSEWHERE_CACHE_MS = 1_000;

export class TunnelAuthorizer implements Authorizer {
  private readonly elsewhere = new Map<string, { at: number; answer: Promise<boolean> }>();

  constructor(private readonly props: TunnelAuthorizerProps) {}

  async decide(request: AuthzRequest): Promise<Decision> {
    const decision = await this.props.inner.decide(request);
    if (!decision.allowed || !this.props.isTunnelCluster(decision.cluster)) return decision;
    const { identity, cluster } = decision;
    // This replica holds only the agent of a pod that is leaving: the next pod's agent is
    // connected to another replica, which names the next pod's tunnels.
    if (this.props.hub.onlyLeaving(cluster)) throw new DecidedElsewhereError(cluster);
    try {
      const roles = this.props.rolesOf(identity.user, identity.groups, cluster);
      const impersonate = await this.props.hub.ensureAccess(cluster, identity.user, roles);
      const token = await this.props.signer.sign({ cluster, user: identity.user, impersonate, requestId: request.requestId }, this.props.clock());
      const tunnelNode = this.props.hub.tunnelNode(cluster);
      return { ...decision, upstreamAssertion: { token, impersonate }, ...(tunnelNode && { tunnelNode }) };
    } catch (err) {
      if (err instanceof ClusterDisconnectedError && (this.props.draining?.() || (await this.heardElsewhere(cluster)))) throw new DecidedElsewhereError(cluster);
      const message = err instanceof AgentError ? err.message : `kubegate: cluster "${cluster}" cannot be reached now`;
      // An agent heard here moments ago is between two connections (a restart, a move): the
      // client is asked to try again in a second rather than to give up.
      const lastSeen = this.props.hub.lastSeenAt?.(cluster);
      const passing = err instanceof ClusterDisconnectedError && lastSeen !== undefined && this.props.clock() - lastSeen <= AGENT_SILENCE_MS;
      return {
        allowed: false,
        httpStatus: 503,
        message,
        ...(passing && { retryAfterSeconds: 1 }),
        reason: `allowed by policy, but the cluster cannot serve it: ${(err as Error).message}`,
        identity,
        cluster,
        ...(decision.attributes ? { attributes: decision.attributes } : {}),
        ...(decision.policy ? { policy: decision.policy } : {}),
      };
    }
  }

  private heardElsewhere(cluster: string): Promise<boolean> {
    const ask = this.props.heardElsewhere;
    if (!ask) return Promise.resolve(false);
    const now = this.props.clock();
    const cached = this.elsewhere.get(cluster);
    if (cached && now - cached.at < ELSEWHERE_CACHE_MS) return cached.answer;
    const answer = ask(cluster).catch(() => false);
    this.elsewhere.set(cluster, { at: now, answer });
    return answer;
  }
}
