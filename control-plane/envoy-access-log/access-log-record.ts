/**
 * One completed request as kubegate records it: a flat, JSON-friendly view of Envoy's
 * HTTPAccessLogEntry joined with the authorization decision ext_authz left in its metadata.
 */
import { fromStruct } from '../proto/struct-value';
import { AUTHZ_METADATA_NAMESPACE } from '../authz/check-response';

export interface AccessLogRecord {
  /**
   * completion: the request ended. progress: it is still open (its upgrade succeeded, or a
   * periodic entry of a long stream); such entries repeat the figures so far.
   */
  readonly stage: 'progress' | 'completion';
  readonly time: string;
  readonly requestId: string;
  readonly edge: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly cluster: string;
  readonly decision: string;
  readonly reason: string;
  /** Kubernetes request attributes as the edge decided them ('' when the request did not parse). */
  readonly verb: string;
  readonly apiGroup: string;
  /** resource or resource/subresource, e.g. pods/exec. */
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  /** The AccessPolicy or BreakGlassPolicy that allowed or denied, if one did. */
  readonly policy: string;
  /** The break-glass grant the request was allowed under, if any: every line it covers says so. */
  readonly breakGlassId: string;
  readonly sourceAddress: string;
  readonly method: string;
  /** The path the user asked for (before the /clusters/<name> prefix was removed). */
  readonly path: string;
  readonly status: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly upstreamCluster: string;
  readonly upstreamAddress: string;
  readonly responseFlags: readonly string[];
  readonly responseCodeDetails: string;
  readonly terminationDetails: string;
  readonly userAgent: string;
  readonly kubectlCommand: string;
  readonly kubectlSession: string;
  /** The protocol an upgraded request asked for (websocket, SPDY/3.1); empty for plain requests. */
  readonly upgrade: string;
}

type Wire = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v));
const durationMs = (d: Wire | undefined): number => (d ? num(d.seconds) * 1000 + num(d.nanos) / 1e6 : 0);

function timestamp(t: Wire | undefined): string {
  if (!t) return '';
  return new Date(num(t.seconds) * 1000 + Math.floor(num(t.nanos) / 1e6)).toISOString();
}

function socketAddress(a: Wire | undefined): string {
  const s = a?.socket_address;
  return s ? `${s.address}:${s.port_value ?? 0}` : '';
}

export function toAccessLogRecord(entry: Wire, edge: string): AccessLogRecord {
  const common: Wire = entry.common_properties ?? {};
  const request: Wire = entry.request ?? {};
  const response: Wire = entry.response ?? {};
  const authz = fromStruct(common.metadata?.filter_metadata?.[AUTHZ_METADATA_NAMESPACE]);
  const headers: Record<string, string> = request.request_headers ?? {};
  const flags = Object.entries((common.response_flags ?? {}) as Record<string, unknown>)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  const type = String(common.access_log_type ?? '');
  return {
    stage: type === 'DownstreamPeriodic' || type === 'DownstreamTunnelSuccessfullyEstablished' ? 'progress' : 'completion',
    time: timestamp(common.start_time),
    requestId: request.request_id ?? '',
    edge,
    user: String(authz.user ?? ''),
    groups: Array.isArray(authz.groups) ? (authz.groups as string[]) : [],
    cluster: String(authz.cluster ?? ''),
    decision: String(authz.decision ?? 'none'),
    reason: String(authz.reason ?? ''),
    verb: String(authz.verb ?? ''),
    apiGroup: String(authz.apiGroup ?? ''),
    resource: String(authz.resource ?? ''),
    namespace: String(authz.namespace ?? ''),
    name: String(authz.name ?? ''),
    policy: String(authz.policy ?? ''),
    breakGlassId: String(authz.breakGlassId ?? ''),
    sourceAddress: socketAddress(common.downstream_remote_address),
    method: request.request_method ?? '',
    path: request.original_path || request.path || '',
    status: num(response.response_code?.value),
    bytesReceived: num(request.request_headers_bytes) + num(request.request_body_bytes),
    bytesSent: num(response.response_headers_bytes) + num(response.response_body_bytes),
    durationMs: Math.round(durationMs(common.duration ?? common.time_to_last_downstream_tx_byte) * 1000) / 1000,
    upstreamCluster: common.upstream_cluster ?? '',
    upstreamAddress: socketAddress(common.upstream_remote_address),
    responseFlags: flags,
    responseCodeDetails: response.response_code_details ?? '',
    terminationDetails: common.connection_termination_details ?? '',
    userAgent: request.user_agent ?? '',
    kubectlCommand: headers['kubectl-command'] ?? '',
    kubectlSession: headers['kubectl-session'] ?? '',
    upgrade: headers['upgrade'] ?? '',
  };
}
