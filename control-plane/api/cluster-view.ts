/**
 * Why: a cluster looks the same whichever route shows it (GET /clusters, GET and PUT
 * /clusters/NAME): how the edge reaches it, its agent's status judged by the last heartbeat in
 * the store (so every replica answers the same), and how the policy in force lets the caller
 * reach it.
 */
import type { ApiDeps } from './api-deps';
import type { Caller } from './caller-identity';
import { iso, type ClusterView } from './api-views';
import { agentHeardRecently } from '../agent-gateway/agent-silence';
import type { ClusterInfo } from '../policy-engine/engine-contract';
import type { ClusterRecord } from '../store/store';

function agentView(record: ClusterRecord, now: number): NonNullable<ClusterView['agent']> {
  const status = record.lastSeenAt === 0 ? 'never-connected' : agentHeardRecently(record.lastSeenAt, now) ? 'connected' : 'disconnected';
  return {
    status,
    ...(record.lastSeenAt ? { lastSeenAt: iso(record.lastSeenAt) } : {}),
    kubernetesVersion: record.kubernetesVersion,
    agentVersion: record.agentVersion,
  };
}

/**
 * Views of clusters for `caller` as of now. Each takes the cluster as policies see it and its
 * store record: undefined for a cluster reached directly, 'unknown' when the store could not
 * be read.
 */
export function clusterViews(deps: ApiDeps, caller: Caller): (cluster: ClusterInfo, record: ClusterRecord | undefined | 'unknown') => ClusterView {
  const access = deps.access();
  const now = deps.clock();
  const subject = { user: caller.user, groups: caller.groups };
  const context = access.evaluationContext(caller.user, now);
  return (cluster, record) => {
    const a = access.engine.clusterAccess(subject, cluster, context);
    const stored = record === 'unknown' ? undefined : record;
    return {
      name: cluster.name,
      labels: cluster.labels,
      connection: record === 'unknown' ? 'unknown' : record ? 'tunnel' : 'direct',
      ...(stored ? { registeredAt: iso(stored.registeredAt), agent: agentView(stored, now) } : {}),
      access: { mode: a.mode, requiresActiveSession: a.requiresActiveSession, clusterRoles: a.clusterRoles, policies: a.policies },
    };
  };
}
