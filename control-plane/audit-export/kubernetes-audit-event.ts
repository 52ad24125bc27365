/**
 * kubegate's audit events as Kubernetes audit events (audit.k8s.io/v1 Event and EventList), so
 * audit pipelines and SIEMs that already read kube-apiserver's audit log or webhook take
 * kubegate's trail unchanged. Pure: the same stored event always gives the same output.
 *
 * The field names and JSON tags follow k8s.io/apiserver/pkg/apis/audit/v1/types.go. Fields
 * whose Go tag says `omitempty` are left out when empty rather than written empty, so the
 * output decodes and re-encodes through the real types without a difference (the test pipes it
 * through toolchain/audit-decode). kubegate's own fields travel as annotations, whose values
 * are strings in Kubernetes.
 */
import type { StoredAuditEvent } from '../audit/audit-event';
import { formatMicroTime, parseEpochMicros } from './micro-time';

export const AUDIT_API_VERSION = 'audit.k8s.io/v1';

export type KubernetesAuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete';

/** authentication/v1 UserInfo, as much of it as kubegate knows. */
export interface KubernetesUserInfo {
  readonly username?: string;
  readonly groups?: readonly string[];
}

/** audit/v1 ObjectReference. */
export interface KubernetesObjectReference {
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly subresource?: string;
}

/** meta/v1 Status, as the audit log carries it in responseStatus. */
export interface KubernetesStatus {
  readonly metadata: Record<string, never>;
  readonly status?: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

/** audit/v1 Event (level Metadata: no request or response objects). */
export interface KubernetesAuditEvent {
  readonly kind?: 'Event';
  readonly apiVersion?: typeof AUDIT_API_VERSION;
  readonly level: 'Metadata';
  readonly auditID: string;
  readonly stage: KubernetesAuditStage;
  readonly requestURI: string;
  readonly verb: string;
  readonly user: KubernetesUserInfo;
  readonly sourceIPs?: readonly string[];
  readonly userAgent?: string;
  readonly objectRef?: KubernetesObjectReference;
  readonly responseStatus?: KubernetesStatus;
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** audit/v1 EventList: the body of a Kubernetes audit webhook request. */
export interface KubernetesAuditEventList {
  readonly kind: 'EventList';
  readonly apiVersion: typeof AUDIT_API_VERSION;
  readonly metadata: Record<string, never>;
  readonly items: readonly KubernetesAuditEvent[];
}

/** Annotation keys kubegate writes; the values are always strings. */
export const ANNOTATIONS = {
  stage: 'kubegate.dev/stage',
  cluster: 'kubegate.dev/cluster',
  decision: 'kubegate.dev/decision',
  reason: 'kubegate.dev/reason',
  policy: 'kubegate.dev/policy',
  breakGlassId: 'kubegate.dev/break-glass-id',
  kubectlCommand: 'kubegate.dev/kubectl-command',
  kubectlSession: 'kubegate.dev/kubectl-session',
  method: 'kubegate.dev/method',
  seq: 'kubegate.dev/seq',
  hash: 'kubegate.dev/hash',
  prevHash: 'kubegate.dev/prev-hash',
  bytesReceived: 'kubegate.dev/bytes-received',
  bytesSent: 'kubegate.dev/bytes-sent',
  durationMs: 'kubegate.dev/duration-ms',
  upstream: 'kubegate.dev/upstream',
  responseFlags: 'kubegate.dev/response-flags',
  terminationDetails: 'kubegate.dev/termination-details',
  upgrade: 'kubegate.dev/upgrade',
  // Present on the records a cluster's in-cluster Envoy reported ("cluster"); the edge's have none.
  reportedBy: 'kubegate.dev/reported-by',
  // The keys kube-apiserver's own authorizer writes: detection rules written for the cluster's
  // audit log keep working on kubegate's.
  k8sDecision: 'authorization.k8s.io/decision',
  k8sReason: 'authorization.k8s.io/reason',
} as const;

/** Kubernetes' StatusReason for the codes kubegate answers with. */
const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export interface ConversionOptions {
  /** Set kind and apiVersion on the event: a standalone line, as kube-apiserver's log backend writes. @default false (an EventList item) */
  readonly withTypeMeta?: boolean;
}

export function toKubernetesAuditEvent(event: StoredAuditEvent, options: ConversionOptions = {}): KubernetesAuditEvent {
  const stageMicros = parseEpochMicros(event.time);
  // Only the decision is stamped when the request arrived; later stages carry how long the
  // request has run, which gives back its start.
  const durationMicros = event.stage !== 'decision' && isFiniteNonNegative(event.durationMs) ? Math.round(event.durationMs! * 1000) : 0;
  const receivedMicros = stageMicros - durationMicros;
  const sourceIp = hostOf(event.sourceAddress);
  const objectRef = objectReference(event);
  const responseStatus = status(event);
  const annotations = annotationsOf(event);
  return {
    ...(options.withTypeMeta ? { kind: 'Event' as const, apiVersion: AUDIT_API_VERSION } : {}),
    level: 'Metadata',
    auditID: event.requestId,
    stage: kubernetesStage(event),
    requestURI: event.path,
    verb: event.verb || event.method.toLowerCase(),
    user: {
      ...(event.user ? { username: event.user } : {}),
      ...(event.groups.length > 0 ? { groups: [...event.groups] } : {}),
    },
    ...(sourceIp ? { sourceIPs: [sourceIp] } : {}),
    ...(event.userAgent ? { userAgent: event.userAgent } : {}),
    ...(objectRef ? { objectRef } : {}),
    ...(responseStatus ? { responseStatus } : {}),
    requestReceivedTimestamp: formatMicroTime(receivedMicros),
    stageTimestamp: formatMicroTime(stageMicros),
    annotations,
  };
}

export function toKubernetesAuditEventList(events: readonly StoredAuditEvent[]): KubernetesAuditEventList {
  return { kind: 'EventList', apiVersion: AUDIT_API_VERSION, metadata: {}, items: events.map((e) => toKubernetesAuditEvent(e)) };
}

function kubernetesStage(event: StoredAuditEvent): KubernetesAuditStage {
  switch (event.stage) {
    // A refused request ends at the decision: nothing of it reaches the cluster.
    case 'decision':
      return event.decision === 'deny' ? 'ResponseComplete' : 'RequestReceived';
    case 'progress':
      return 'ResponseStarted';
    case 'completion':
      return 'ResponseComplete';
  }
}

/** The host of "host:port", "[v6]:port", a bare IPv4 or a bare IPv6 address. */
export function hostOf(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end > 0 ? address.slice(1, end) : address;
  }
  const colons = address.split(':').length - 1;
  return colons === 1 ? address.slice(0, address.indexOf(':')) : address;
}

function objectReference(event: StoredAuditEvent): KubernetesObjectReference | undefined {
  if (!event.resource) return undefined;
  const apiVersion = apiVersionOf(event.path, event.apiGroup);
  return {
    resource: event.resource,
    ...(event.namespace ? { namespace: event.namespace } : {}),
    ...(event.name ? { name: event.name } : {}),
    ...(event.apiGroup ? { apiGroup: event.apiGroup } : {}),
    ...(apiVersion ? { apiVersion } : {}),
    ...(event.subresource ? { subresource: event.subresource } : {}),
  };
}

/**
 * The API version a resource path names (/api/v1/..., /apis/apps/v1/...), after kubegate's
 * /clusters/<name> prefix; kube-apiserver records it in objectRef and the event does not carry
 * it separately. Only when the path's group is the event's group, so it never contradicts it.
 */
function apiVersionOf(path: string, apiGroup: string): string | undefined {
  const segments = path.split('?', 1)[0]!.split('/').filter(Boolean);
  const start = segments[0] === 'clusters' ? 2 : 0;
  if (segments[start] === 'api' && apiGroup === '') return segments[start + 1];
  if (segments[start] === 'apis' && segments[start + 1] === apiGroup && apiGroup !== '') return segments[start + 2];
  return undefined;
}

function status(event: StoredAuditEvent): KubernetesStatus | undefined {
  const denied = event.decision === 'deny';
  // A refusal's code is the one the edge answered with; kubegate refuses with 403 unless the
  // record says otherwise (401 for identity problems, 400 for malformed paths).
  const code = event.status !== undefined && event.status > 0 ? event.status : denied ? 403 : undefined;
  if (code === undefined) return undefined;
  if (!denied) return { metadata: {}, code };
  const reason = STATUS_REASONS[code];
  return {
    metadata: {},
    status: 'Failure',
    ...(event.reason ? { message: event.reason } : {}),
    ...(reason ? { reason } : {}),
    code,
  };
}

function annotationsOf(event: StoredAuditEvent): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, value: string | number | undefined) => {
    if (value === undefined || value === '') return;
    out[key] = String(value);
  };
  put(ANNOTATIONS.stage, event.stage);
  put(ANNOTATIONS.cluster, event.cluster);
  put(ANNOTATIONS.decision, event.decision);
  put(ANNOTATIONS.reason, event.reason);
  put(ANNOTATIONS.policy, event.policy);
  put(ANNOTATIONS.breakGlassId, event.breakGlassId);
  put(ANNOTATIONS.kubectlCommand, event.kubectlCommand);
  put(ANNOTATIONS.kubectlSession, event.kubectlSession);
  put(ANNOTATIONS.method, event.method);
  put(ANNOTATIONS.seq, event.seq);
  put(ANNOTATIONS.hash, event.hash);
  put(ANNOTATIONS.prevHash, event.prevHash);
  put(ANNOTATIONS.bytesReceived, event.bytesReceived);
  put(ANNOTATIONS.bytesSent, event.bytesSent);
  put(ANNOTATIONS.durationMs, event.durationMs);
  put(ANNOTATIONS.upstream, event.upstreamAddress);
  put(ANNOTATIONS.responseFlags, event.responseFlags?.join(','));
  put(ANNOTATIONS.terminationDetails, event.terminationDetails);
  put(ANNOTATIONS.upgrade, event.upgrade);
  put(ANNOTATIONS.reportedBy, event.reportedBy);
  put(ANNOTATIONS.k8sDecision, event.decision === 'allow' ? 'allow' : 'forbid');
  put(ANNOTATIONS.k8sReason, event.reason);
  return out;
}

function isFiniteNonNegative(n: number | undefined): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}
