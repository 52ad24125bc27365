/**
 * Rows to records, shared by both implementations: the two schemas use the same column names,
 * so the only differences a row can show are how the driver hands over numbers (node-postgres
 * returns BIGINT as a string) and booleans (SQLite has none). Absent optional values become
 * absent properties, never `undefined` ones, so records compare equal across implementations.
 */
import type {
  BreakGlassApproval,
  BreakGlassRecord,
  BreakGlassState,
  CertificateRecord,
  ClusterRecord,
  ConsoleSessionRecord,
  GroupRecord,
  JoinTokenRecord,
  PolicyFileRecord,
  PolicySetRecord,
  UserRecord,
} from './store';
import type { InstallTokenRecord } from './install-token';

export type Row = Record<string, unknown>;

export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') return Number(value);
  throw new TypeError(`expected a number from the database, got ${typeof value}`);
}

function optionalNum(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : num(value);
}

function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

/** `groups` are the user's membership rows' group names, in any order. */
export function userFromRow(row: Row, groups: readonly string[]): UserRecord {
  return {
    name: String(row.name),
    groups: [...groups].sort(),
    disabled: Boolean(row.disabled),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    credentialRevision: num(row.credential_revision),
  };
}

/** Joins users to their membership rows (user_name, group_name). */
export function usersFromRows(userRows: readonly Row[], membershipRows: readonly Row[]): UserRecord[] {
  const groupsOf = new Map<string, string[]>();
  for (const m of membershipRows) {
    const user = String(m.user_name);
    const list = groupsOf.get(user);
    if (list) list.push(String(m.group_name));
    else groupsOf.set(user, [String(m.group_name)]);
  }
  return userRows.map((row) => userFromRow(row, groupsOf.get(String(row.name)) ?? []));
}

export function groupFromRow(row: Row): GroupRecord {
  return { name: String(row.name), description: String(row.description), createdAt: num(row.created_at) };
}

export function certificateFromRow(row: Row): CertificateRecord {
  const revokedAt = optionalNum(row.revoked_at);
  return {
    serial: String(row.serial),
    user: String(row.user_name),
    notBefore: num(row.not_before),
    notAfter: num(row.not_after),
    issuedAt: num(row.issued_at),
    ...(revokedAt !== undefined && { revokedAt }),
  };
}

export function policySetFromRows(setRow: Row, fileRows: readonly Row[]): PolicySetRecord {
  const files: PolicyFileRecord[] = fileRows.map((f) => ({ fileName: String(f.file_name), text: String(f.content) }));
  return { revision: num(setRow.revision), files, appliedAt: num(setRow.applied_at), appliedBy: String(setRow.applied_by) };
}

export function breakGlassFromRow(row: Row): BreakGlassRecord {
  const approvals = (JSON.parse(String(row.approvals)) as BreakGlassApproval[]).map((a) => ({ approver: a.approver, at: a.at }));
  const activatedAt = optionalNum(row.activated_at);
  const expiresAt = optionalNum(row.expires_at);
  const endedBy = optionalString(row.ended_by);
  const endReason = optionalString(row.end_reason);
  return {
    id: String(row.id),
    policy: String(row.policy),
    user: String(row.user_name),
    cluster: String(row.cluster),
    justification: String(row.justification),
    durationMs: num(row.duration_ms),
    requestedAt: num(row.requested_at),
    approvals,
    state: String(row.state) as BreakGlassState,
    ...(activatedAt !== undefined && { activatedAt }),
    ...(expiresAt !== undefined && { expiresAt }),
    ...(endedBy !== undefined && { endedBy }),
    ...(endReason !== undefined && { endReason }),
    revision: num(row.revision),
  };
}

/** The column values of a break-glass record, in BREAK_GLASS_COLUMNS order. */
export const BREAK_GLASS_COLUMNS = [
  'id',
  'policy',
  'user_name',
  'cluster',
  'justification',
  'duration_ms',
  'requested_at',
  'approvals',
  'state',
  'activated_at',
  'expires_at',
  'ended_by',
  'end_reason',
] as const;

export function breakGlassValues(record: Omit<BreakGlassRecord, 'revision'>): unknown[] {
  return [
    record.id,
    record.policy,
    record.user,
    record.cluster,
    record.justification,
    record.durationMs,
    record.requestedAt,
    JSON.stringify(record.approvals.map((a) => ({ approver: a.approver, at: a.at }))),
    record.state,
    record.activatedAt ?? null,
    record.expiresAt ?? null,
    record.endedBy ?? null,
    record.endReason ?? null,
  ];
}

export function sessionFromRow(row: Row): ConsoleSessionRecord {
  const endedAt = optionalNum(row.ended_at);
  return {
    id: String(row.id),
    user: String(row.user_name),
    createdAt: num(row.created_at),
    lastActiveAt: num(row.last_active_at),
    ...(endedAt !== undefined && { endedAt }),
  };
}

/** How far back a session's last activity may lie for loadState to include it. */
export const SESSION_IDLE_WINDOW_MS = 24 * 60 * 60 * 1000;

export function joinTokenFromRow(row: Row): JoinTokenRecord {
  const usedAt = optionalNum(row.used_at);
  return {
    id: String(row.id),
    cluster: String(row.cluster),
    secretHash: String(row.secret_hash),
    createdAt: num(row.created_at),
    createdBy: String(row.created_by),
    expiresAt: num(row.expires_at),
    ...(usedAt !== undefined && { usedAt }),
  };
}

/** Install tokens have a join token's columns. */
export function installTokenFromRow(row: Row): InstallTokenRecord {
  return joinTokenFromRow(row);
}

export function clusterFromRow(row: Row): ClusterRecord {
  return {
    name: String(row.name),
    labels: JSON.parse(String(row.labels)) as Record<string, string>,
    kubernetesVersion: String(row.kubernetes_version),
    apiserverCaPem: String(row.apiserver_ca_pem),
    apiserverHost: String(row.apiserver_host),
    apiserverPort: num(row.apiserver_port),
    agentVersion: String(row.agent_version),
    agentCertificateSerial: String(row.agent_certificate_serial),
    registeredAt: num(row.registered_at),
    lastSeenAt: num(row.last_seen_at),
  };
}

/** The column values of a cluster record, in CLUSTER_COLUMNS order; name first, registered_at last. */
export const CLUSTER_COLUMNS = ['name', 'labels', 'kubernetes_version', 'apiserver_ca_pem', 'apiserver_host', 'apiserver_port', 'agent_version', 'agent_certificate_serial', 'last_seen_at', 'registered_at'] as const;

/** `labels` is expected with its keys sorted (requireLabels), so equal records store equal text. */
export function clusterValues(record: ClusterRecord): unknown[] {
  return [
    record.name,
    JSON.stringify(record.labels),
    record.kubernetesVersion,
    record.apiserverCaPem,
    record.apiserverHost,
    record.apiserverPort,
    record.agentVersion,
    record.agentCertificateSerial,
    record.lastSeenAt,
    record.registeredAt,
  ];
}
