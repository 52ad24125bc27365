/**
 * Audit events to rows and back, shared by both audit log implementations (the two schemas
 * have the same columns). Reading a row rebuilds the event exactly as it was hashed: NULL
 * columns become absent fields, never `undefined` ones, and node-postgres' BIGINT strings
 * become numbers. A row altered in the database therefore reads back altered, and fails
 * verification, rather than being quietly repaired here.
 */
import type { AuditEvent, AuditReporter, AuditStage, StoredAuditEvent } from '../audit/audit-event';
import { canonicalAuditJson } from '../audit/audit-hash-chain';
import { num, type Row } from '../store/record-rows';

/**
 * The columns in insert order: chain columns first, then one per AuditEvent field, then the
 * record's size (auditRecordSize), which retention by size adds up and which is outside the
 * hash like the chain columns.
 */
export const AUDIT_COLUMNS = [
  'seq',
  'prev_hash',
  'hash',
  'stage',
  'event_time',
  'request_id',
  'user_name',
  'groups_json',
  'source_address',
  'cluster',
  'verb',
  'api_group',
  'resource',
  'subresource',
  'namespace',
  'name',
  'decision',
  'reason',
  'policy',
  'break_glass_id',
  'method',
  'path',
  'user_agent',
  'kubectl_command',
  'kubectl_session',
  'status',
  'bytes_received',
  'bytes_sent',
  'duration_ms',
  'upstream_address',
  'response_flags_json',
  'termination_details',
  'upgrade',
  'reported_by',
  'size_bytes',
] as const;

/** PostgreSQL types of AUDIT_COLUMNS, for inserting a batch as one unnest() of arrays. */
export const AUDIT_COLUMN_PG_TYPES: Readonly<Record<(typeof AUDIT_COLUMNS)[number], string>> = {
  seq: 'bigint',
  prev_hash: 'text',
  hash: 'text',
  stage: 'text',
  event_time: 'text',
  request_id: 'text',
  user_name: 'text',
  groups_json: 'text',
  source_address: 'text',
  cluster: 'text',
  verb: 'text',
  api_group: 'text',
  resource: 'text',
  subresource: 'text',
  namespace: 'text',
  name: 'text',
  decision: 'text',
  reason: 'text',
  policy: 'text',
  break_glass_id: 'text',
  method: 'text',
  path: 'text',
  user_agent: 'text',
  kubectl_command: 'text',
  kubectl_session: 'text',
  status: 'integer',
  bytes_received: 'bigint',
  bytes_sent: 'bigint',
  duration_ms: 'double precision',
  upstream_address: 'text',
  response_flags_json: 'text',
  termination_details: 'text',
  upgrade: 'text',
  reported_by: 'text',
  size_bytes: 'bigint',
};

/** The row values of a stored event, in AUDIT_COLUMNS order (null for an absent field). */
/** The row's values; `sizeBytes` when the caller has it already (see chainAuditEvent). */
export function auditValues(e: StoredAuditEvent, sizeBytes = auditRecordSize(e)): unknown[] {
  return [
    e.seq,
    e.prevHash,
    e.hash,
    e.stage,
    e.time,
    e.requestId,
    e.user,
    JSON.stringify(e.groups),
    e.sourceAddress,
    e.cluster,
    e.verb,
    e.apiGroup,
    e.resource,
    e.subresource,
    e.namespace,
    e.name,
    e.decision,
    e.reason,
    e.policy,
    e.breakGlassId,
    e.method,
    e.path,
    e.userAgent,
    e.kubectlCommand,
    e.kubectlSession,
    e.status ?? null,
    e.bytesReceived ?? null,
    e.bytesSent ?? null,
    e.durationMs ?? null,
    e.upstreamAddress ?? null,
    e.responseFlags === undefined ? null : JSON.stringify(e.responseFlags),
    e.terminationDetails ?? null,
    e.upgrade ?? null,
    e.reportedBy ?? null,
    sizeBytes,
  ];
}

/**
 * What a record weighs for retention by size: the UTF-8 length of its canonical JSON, i.e. of
 * the event as it is hashed and exported. Computed from the event rather than measured in the
 * database, so SQLite and PostgreSQL agree to the byte and a removal counts at once.
 */
export function auditRecordSize(event: AuditEvent): number {
  return Buffer.byteLength(canonicalAuditJson(event), 'utf8');
}

/** The stored event a row holds. */
export function auditEventFromRow(row: Row): StoredAuditEvent {
  const event: AuditEvent = {
    stage: String(row.stage) as AuditStage,
    time: String(row.event_time),
    requestId: String(row.request_id),
    user: String(row.user_name),
    groups: jsonList(row.groups_json) ?? [],
    sourceAddress: String(row.source_address),
    cluster: String(row.cluster),
    verb: String(row.verb),
    apiGroup: String(row.api_group),
    resource: String(row.resource),
    subresource: String(row.subresource),
    namespace: String(row.namespace),
    name: String(row.name),
    decision: String(row.decision) as AuditEvent['decision'],
    reason: String(row.reason),
    policy: String(row.policy),
    breakGlassId: String(row.break_glass_id),
    method: String(row.method),
    path: String(row.path),
    userAgent: String(row.user_agent),
    kubectlCommand: String(row.kubectl_command),
    kubectlSession: String(row.kubectl_session),
    ...(present(row.status) && { status: num(row.status) }),
    ...(present(row.bytes_received) && { bytesReceived: num(row.bytes_received) }),
    ...(present(row.bytes_sent) && { bytesSent: num(row.bytes_sent) }),
    ...(present(row.duration_ms) && { durationMs: num(row.duration_ms) }),
    ...(present(row.upstream_address) && { upstreamAddress: String(row.upstream_address) }),
    ...(present(row.response_flags_json) && { responseFlags: jsonList(row.response_flags_json) ?? [] }),
    ...(present(row.termination_details) && { terminationDetails: String(row.termination_details) }),
    ...(present(row.upgrade) && { upgrade: String(row.upgrade) }),
    ...(present(row.reported_by) && { reportedBy: String(row.reported_by) as AuditReporter }),
  };
  return { seq: num(row.seq), prevHash: String(row.prev_hash), hash: String(row.hash), ...event };
}

function present(value: unknown): boolean {
  return value !== null && value !== undefined;
}

/**
 * A JSON list column. Text that is not a JSON list (altered in the database) is kept as a
 * one-entry list of that text, so the event still reads, and fails verification.
 */
function jsonList(value: unknown): string[] | undefined {
  if (!present(value)) return undefined;
  try {
    const parsed: unknown = JSON.parse(String(value));
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // fall through
  }
  return [String(value)];
}
