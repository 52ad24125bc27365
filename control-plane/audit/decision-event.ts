/**
 * The audit event of a decision: who asked for what, where, and what the edge said and why.
 * Pure, so exactly what is recorded can be tested without a request.
 */
import type { AuthzRequest, Decision } from '../authz/decision';
import type { AuditEvent } from './audit-event';

const CLUSTER_PREFIX = /^\/clusters\/([^/?]+)/;

export function decisionEvent(request: AuthzRequest, decision: Decision, now: number): AuditEvent {
  const a = decision.attributes;
  const header = (name: string) => request.headers[name] ?? '';
  return {
    stage: 'decision',
    time: new Date(now).toISOString(),
    // Envoy's x-request-id, which the edge's own log and the client's response carry too; the
    // check's stream id only when the header is missing.
    requestId: header('x-request-id') || request.requestId,
    user: decision.identity?.user ?? '',
    groups: decision.identity?.groups ?? [],
    sourceAddress: request.sourceAddress,
    // A refusal may come before the cluster is known to exist: keep what the path named.
    cluster: decision.cluster ?? CLUSTER_PREFIX.exec(request.path)?.[1] ?? '',
    verb: a?.verb ?? '',
    apiGroup: a?.apiGroup ?? '',
    resource: a?.resource ?? '',
    subresource: a?.subresource ?? '',
    namespace: a?.namespace ?? '',
    name: a?.name ?? '',
    decision: decision.allowed ? 'allow' : 'deny',
    reason: decision.allowed ? decision.reason : decision.message,
    policy: decision.policy ?? '',
    breakGlassId: decision.breakGlassId ?? '',
    method: request.method,
    path: request.path,
    userAgent: header('user-agent'),
    kubectlCommand: header('kubectl-command'),
    kubectlSession: header('kubectl-session'),
    ...(decision.allowed ? {} : { status: decision.httpStatus }),
  };
}
