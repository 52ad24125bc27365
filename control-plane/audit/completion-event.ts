/**
 * The audit event of what Envoy saw of a request once it was let through (or refused at the
 * edge): status, bytes, duration, upstream, and why it ended. The decision's own fields travel
 * with it through ext_authz's metadata, so the event stands on its own and also joins its
 * decision record by request id.
 */
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import type { AuditEvent } from './audit-event';

export function completionEvent(record: AccessLogRecord, now: number): AuditEvent {
  const [resource = '', subresource = ''] = record.resource.split('/', 2);
  return {
    stage: record.stage,
    time: accessLogEventTime(record, now),
    requestId: record.requestId,
    user: record.user,
    groups: record.groups,
    sourceAddress: record.sourceAddress,
    cluster: record.cluster,
    verb: record.verb,
    apiGroup: record.apiGroup,
    resource,
    subresource,
    namespace: record.namespace,
    name: record.name,
    // 'none': Envoy refused before asking (a malformed request); that is a denial too.
    decision: record.decision === 'allow' ? 'allow' : 'deny',
    reason: record.reason || record.responseCodeDetails,
    policy: record.policy,
    breakGlassId: record.breakGlassId,
    method: record.method,
    path: record.path,
    userAgent: record.userAgent,
    kubectlCommand: record.kubectlCommand,
    kubectlSession: record.kubectlSession,
    status: record.status,
    bytesReceived: record.bytesReceived,
    bytesSent: record.bytesSent,
    durationMs: record.durationMs,
    upstreamAddress: record.upstreamAddress,
    responseFlags: record.responseFlags,
    terminationDetails: record.terminationDetails,
    upgrade: record.upgrade,
  };
}

/**
 * When an access-log entry's event happened: a progress entry is about the moment it was
 * logged (`now`, as it arrives), a completion about the request's end (start + duration).
 */
export function accessLogEventTime(record: Pick<AccessLogRecord, 'stage' | 'time' | 'durationMs'>, now: number): string {
  return new Date(record.stage === 'progress' ? now : Date.parse(record.time || new Date(now).toISOString()) + Math.round(record.durationMs)).toISOString();
}
