/**
 * The edge's own file access log: one JSON object per line that Envoy writes to local disk
 * whether or not the control plane is up. It is where the audit trail's progress and
 * completion events come from (see edge-log-ingester.ts): a control plane that was down or
 * restarting catches up from the file, so nothing the edge did goes unrecorded. The format
 * (Envoy's json_format) and its parser live together so they cannot drift apart.
 */
import { AUTHZ_METADATA_NAMESPACE } from '../authz/check-response';
import type { AuditEvent } from './audit-event';

/** Envoy json_format: keys are ours, values are Envoy command operators. */
export const EDGE_LOG_FORMAT: Readonly<Record<string, string>> = {
  type: '%ACCESS_LOG_TYPE%',
  start: '%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%',
  requestId: '%REQ(X-REQUEST-ID)%',
  source: '%DOWNSTREAM_REMOTE_ADDRESS%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  status: '%RESPONSE_CODE%',
  bytesReceived: '%BYTES_RECEIVED%',
  bytesSent: '%BYTES_SENT%',
  durationMs: '%DURATION%',
  upstream: '%UPSTREAM_HOST%',
  flags: '%RESPONSE_FLAGS%',
  details: '%RESPONSE_CODE_DETAILS%',
  termination: '%CONNECTION_TERMINATION_DETAILS%',
  userAgent: '%REQ(USER-AGENT)%',
  kubectlCommand: '%REQ(KUBECTL-COMMAND)%',
  kubectlSession: '%REQ(KUBECTL-SESSION)%',
  upgrade: '%REQ(UPGRADE)%',
  // The whole struct ext_authz left: who, which cluster, what, decision and why.
  authz: `%DYNAMIC_METADATA(${AUTHZ_METADATA_NAMESPACE})%`,
};

/** A line that is not one of ours: the ingester counts and reports it, never guesses. */
export class EdgeLogLineError extends Error {
  readonly code = 'ERR_EDGE_LOG_LINE';
  constructor(message: string) {
    super(message);
    this.name = 'EdgeLogLineError';
  }
}

type Line = Record<string, unknown>;

const str = (v: unknown): string => (v === undefined || v === null || v === '-' ? '' : String(v));
const num = (v: unknown): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

/** Progress for an open stream's entries (tunnel established, periodic), completion at its end. */
function stageOf(type: string): AuditEvent['stage'] {
  return type === 'DownstreamPeriodic' || type === 'DownstreamTunnelSuccessfullyEstablished' ? 'progress' : 'completion';
}

/** One line of the edge's file log as an audit event; `loggedAt` stamps progress entries. */
export function parseEdgeLogLine(text: string, loggedAt: number): AuditEvent {
  let line: Line;
  try {
    line = JSON.parse(text) as Line;
  } catch {
    throw new EdgeLogLineError(`not JSON: ${text.slice(0, 120)}`);
  }
  if (typeof line !== 'object' || line === null || typeof line.requestId !== 'string' || typeof line.type !== 'string') {
    throw new EdgeLogLineError(`not an edge access-log entry: ${text.slice(0, 120)}`);
  }
  const authz = (typeof line.authz === 'object' && line.authz !== null ? line.authz : {}) as Line;
  const stage = stageOf(str(line.type));
  const start = Date.parse(str(line.start));
  const duration = num(line.durationMs);
  const [resource = '', subresource = ''] = str(authz.resource).split('/', 2);
  const flags = str(line.flags);
  return {
    stage,
    time: new Date(stage === 'progress' || Number.isNaN(start) ? loggedAt : start + duration).toISOString(),
    requestId: str(line.requestId),
    user: str(authz.user),
    groups: Array.isArray(authz.groups) ? authz.groups.map(String) : [],
    sourceAddress: str(line.source),
    cluster: str(authz.cluster),
    verb: str(authz.verb),
    apiGroup: str(authz.apiGroup),
    resource,
    subresource,
    namespace: str(authz.namespace),
    name: str(authz.name),
    // No decision in the metadata: Envoy refused before asking (a malformed request).
    decision: str(authz.decision) === 'allow' ? 'allow' : 'deny',
    reason: str(authz.reason) || str(line.details),
    policy: str(authz.policy),
    breakGlassId: str(authz.breakGlassId),
    method: str(line.method),
    path: str(line.path),
    userAgent: str(line.userAgent),
    kubectlCommand: str(line.kubectlCommand),
    kubectlSession: str(line.kubectlSession),
    status: num(line.status),
    bytesReceived: num(line.bytesReceived),
    bytesSent: num(line.bytesSent),
    durationMs: duration,
    upstreamAddress: str(line.upstream),
    responseFlags: flags ? flags.split(',') : [],
    terminationDetails: str(line.termination),
    upgrade: str(line.upgrade),
  };
}
