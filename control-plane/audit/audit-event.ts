/**
 * The audit trail's one record type, shared by everything that writes, stores, queries and
 * exports it (the contract of control-plane/audit/). A request leaves one `decision` event,
 * written durably before the edge lets it through (denials too); a long-running one (watch,
 * exec, port-forward, logs -f) adds `progress` events while it is open; every request that
 * reached Envoy's access log ends with a `completion` event. They share the request id.
 *
 * Progress and completion events come from the edge's access log, and for clusters behind a
 * firewall also from the in-cluster Envoy's (`reportedBy: 'cluster'`): the edge's say what the
 * user got, the cluster's what kube-apiserver answered (cluster-log-events.ts).
 */

export const AUDIT_STAGES = ['decision', 'progress', 'completion'] as const;
export type AuditStage = (typeof AUDIT_STAGES)[number];

/** Who reported a progress or completion event besides the edge (absent: the edge). */
export const AUDIT_REPORTERS = ['cluster'] as const;
export type AuditReporter = (typeof AUDIT_REPORTERS)[number];

export interface AuditEvent {
  readonly stage: AuditStage;
  /**
   * When this stage happened, ISO 8601 with milliseconds (UTC), exactly as Date#toISOString
   * writes it: the audit log compares times as text and refuses other forms
   * (audit-event-input.ts).
   */
  readonly time: string;
  /** Envoy's x-request-id: joins the stages of one request. */
  readonly requestId: string;
  readonly user: string;
  readonly groups: readonly string[];
  /** The client's address as the edge saw it, host:port. */
  readonly sourceAddress: string;
  readonly cluster: string;
  /** Kubernetes request attributes as the edge parsed them ('' when the request did not parse). */
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  /** allow or deny. */
  readonly decision: 'allow' | 'deny';
  /** Why, as the edge told the user (a deny's message starts with "kubegate:"). */
  readonly reason: string;
  /** The AccessPolicy or BreakGlassPolicy that decided, if one did. */
  readonly policy: string;
  /** The break-glass grant the request was allowed under, if any. */
  readonly breakGlassId: string;
  readonly method: string;
  /** The path the user asked for, query included. */
  readonly path: string;
  readonly userAgent: string;
  /** kubectl's Kubectl-Command header (e.g. "kubectl delete"), if any. */
  readonly kubectlCommand: string;
  /** kubectl's Kubectl-Session header: groups the calls of one kubectl invocation. */
  readonly kubectlSession: string;
  /** completion and progress: the HTTP status (101 for an upgraded stream). */
  readonly status?: number;
  readonly bytesReceived?: number;
  readonly bytesSent?: number;
  /** completion: the whole request; progress: so far. */
  readonly durationMs?: number;
  readonly upstreamAddress?: string;
  readonly responseFlags?: readonly string[];
  /** Why Envoy ended the connection or stream, if it says. */
  readonly terminationDetails?: string;
  /** websocket or SPDY/3.1 for upgraded streams. */
  readonly upgrade?: string;
  /**
   * progress and completion: 'cluster' when the cluster's in-cluster Envoy reported it (status,
   * bytes, duration, upstream are then what it saw toward kube-apiserver; the request's
   * attributes are copied from its decision record). Absent: the edge reported it, as every
   * event written before this field existed was, so their hashes stay as they were.
   */
  readonly reportedBy?: AuditReporter;
}

/** An event as the audit store keeps it: numbered, and chained to the one before it. */
export interface StoredAuditEvent extends AuditEvent {
  /** 1, 2, 3, ... in write order, without gaps (retention removes from the start only). */
  readonly seq: number;
  /** hash of the previous event ('' for the first ever); see audit-hash-chain.ts. */
  readonly prevHash: string;
  /** SHA-256 (hex) over prevHash and this event's canonical JSON. */
  readonly hash: string;
}
