/**
 * The cluster's side of a request in the audit trail. A cluster behind a firewall logs every
 * request its in-cluster Envoy received over a tunnel (in-cluster-translator/cluster-access-log.ts);
 * each entry becomes a progress or completion event with `reportedBy: 'cluster'`, carrying what
 * that Envoy saw: status, bytes, duration, the kube-apiserver it reached, response flags,
 * termination, upgrade.
 *
 * Who made the request and what it was (user, groups, verb, resource, policy, path, ...) comes
 * from the request's decision record, never from the cluster: the entry contributes only its
 * request id, and the cluster is the one its certificate names. A cluster may report only on
 * requests the edge let through to it, so an entry gives no event, and is counted as rejected,
 * when its request id has no decision (`unknown-request`), when the decision was for another
 * cluster (`cluster-mismatch`), or when it was a denial (`denied-request`: the edge never sent
 * it on). It can still report a request it received more than once, or figures that are not
 * true; its records say they are its own, and the edge's completion stands beside them.
 *
 * Pure: the caller looks the decisions up (cluster-log-recorder.ts).
 */
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import { responseFlagCode } from '../envoy-access-log/response-flag-codes';
import type { AuditEvent } from './audit-event';
import { accessLogEventTime } from './completion-event';

export const CLUSTER_LOG_REJECTIONS = ['unknown-request', 'cluster-mismatch', 'denied-request'] as const;
export type ClusterLogRejection = (typeof CLUSTER_LOG_REJECTIONS)[number];

export interface RejectedClusterEntry {
  readonly requestId: string;
  readonly reason: ClusterLogRejection;
}

export interface ClusterLogEvents {
  /** In the entries' order. */
  readonly events: readonly AuditEvent[];
  readonly rejected: readonly RejectedClusterEntry[];
}

/** The request ids whose decisions `clusterLogEvents` needs: each once, none empty. */
export function requestIdsOf(records: readonly AccessLogRecord[]): string[] {
  return [...new Set(records.map((r) => r.requestId).filter((id) => id !== ''))];
}

/**
 * @param cluster the cluster the reporting stream's certificate names
 * @param decisions the decision records of the entries' request ids, as the audit log holds
 *   them (a request id the edge saw twice may have two)
 * @param now epoch ms: when the entries arrived, the time of progress events
 */
export function clusterLogEvents(cluster: string, records: readonly AccessLogRecord[], decisions: ReadonlyMap<string, readonly AuditEvent[]>, now: number): ClusterLogEvents {
  const events: AuditEvent[] = [];
  const rejected: RejectedClusterEntry[] = [];
  for (const record of records) {
    const found = decisionFor(cluster, decisions.get(record.requestId) ?? []);
    if (typeof found === 'string') rejected.push({ requestId: record.requestId, reason: found });
    else events.push(clusterEvent(record, found, now));
  }
  return { events, rejected };
}

/** The newest allowed decision for this cluster, or why there is none. */
function decisionFor(cluster: string, candidates: readonly AuditEvent[]): AuditEvent | ClusterLogRejection {
  const decisions = candidates.filter((d) => d.stage === 'decision');
  if (decisions.length === 0) return 'unknown-request';
  const here = decisions.filter((d) => d.cluster === cluster);
  if (here.length === 0) return 'cluster-mismatch';
  const allowed = here.filter((d) => d.decision === 'allow');
  if (allowed.length === 0) return 'denied-request';
  // Times are Date#toISOString text: comparing them as text compares them in time.
  return allowed.reduce((newest, d) => (d.time > newest.time ? d : newest));
}

/**
 * A progress record is stamped when it arrived, as the edge's are. A completion's end comes
 * from the cluster's clock (start + duration), but the request cannot have ended before its
 * decision nor after the report arrived: a skewed or lying clock is held within those bounds,
 * so queries by time and retention by age (which stops at a record out of time order) are not
 * thrown off by a record dated years ahead.
 */
function clusterEventTime(record: AccessLogRecord, decision: AuditEvent, now: number): string {
  if (record.stage === 'progress') return accessLogEventTime(record, now);
  const reported = Date.parse(accessLogEventTime(record, now));
  return new Date(Math.min(Math.max(reported, Date.parse(decision.time)), now)).toISOString();
}

function clusterEvent(record: AccessLogRecord, decision: AuditEvent, now: number): AuditEvent {
  return {
    stage: record.stage,
    time: clusterEventTime(record, decision, now),
    requestId: decision.requestId,
    user: decision.user,
    groups: decision.groups,
    sourceAddress: decision.sourceAddress,
    cluster: decision.cluster,
    verb: decision.verb,
    apiGroup: decision.apiGroup,
    resource: decision.resource,
    subresource: decision.subresource,
    namespace: decision.namespace,
    name: decision.name,
    decision: decision.decision,
    reason: decision.reason,
    policy: decision.policy,
    breakGlassId: decision.breakGlassId,
    // The path the user asked for: the in-cluster Envoy sees it without /clusters/<name>.
    method: decision.method,
    path: decision.path,
    userAgent: decision.userAgent,
    kubectlCommand: decision.kubectlCommand,
    kubectlSession: decision.kubectlSession,
    status: record.status,
    bytesReceived: record.bytesReceived,
    bytesSent: record.bytesSent,
    durationMs: record.durationMs,
    upstreamAddress: record.upstreamAddress,
    responseFlags: record.responseFlags.map(responseFlagCode),
    terminationDetails: record.terminationDetails,
    upgrade: record.upgrade,
    reportedBy: 'cluster',
  };
}
