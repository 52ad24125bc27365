/**
 * Checks what callers hand the store, before any SQL runs, so a bad value is refused with a
 * message that names the field instead of surfacing as a constraint violation (or, worse, being
 * stored). Both implementations call the same checks, so they refuse exactly the same inputs.
 */
import { StoreError, type BreakGlassRecord, type BreakGlassState, type ClusterRecord, type JoinTokenRecord, type PolicyFileRecord } from './store';

/** A value the caller passed is not acceptable; the message names the field and why. */
export class StoreInputError extends StoreError {
  constructor(message: string) {
    super('ERR_STORE_INVALID_INPUT', message);
  }
}

export const BREAK_GLASS_STATES: readonly BreakGlassState[] = ['pending', 'active', 'expired', 'rejected', 'cancelled'];

/**
 * Long enough for e-mail addresses and service-account names, short enough that a name is
 * never a document in disguise.
 */
const MAX_NAME_LENGTH = 512;

/** A name (user, group, id, ...): non-empty, no surrounding blanks, no control characters. */
export function requireName(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new StoreInputError(`${what} must be a non-empty string`);
  if (value.length > MAX_NAME_LENGTH) throw new StoreInputError(`${what} is longer than ${MAX_NAME_LENGTH} characters`);
  if (value.trim() !== value) throw new StoreInputError(`${what} "${value}" has leading or trailing whitespace`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new StoreInputError(`${what} ${JSON.stringify(value)} contains control characters`);
  return value;
}

/** Free text (a description, a justification): any string, possibly empty. */
export function requireText(what: string, value: unknown): string {
  if (typeof value !== 'string') throw new StoreInputError(`${what} must be a string`);
  return value;
}

/** An epoch-millisecond time: a non-negative integer. */
export function requireTime(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreInputError(`${what} must be a time in epoch milliseconds (a non-negative integer), got ${String(value)}`);
  }
  return value;
}

/** A revision or count: a non-negative integer. */
export function requireCount(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreInputError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

export function requireBoolean(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new StoreInputError(`${what} must be true or false`);
  return value;
}

/** Group membership as the store keeps it: every name valid, sorted, each once. */
export function normalizeGroups(groups: unknown): string[] {
  if (!Array.isArray(groups)) throw new StoreInputError('groups must be an array of group names');
  const names = groups.map((g, i) => requireName(`groups[${i}]`, g));
  return [...new Set(names)].sort();
}

/** Serials are the store's key for revocation, so they are compared as exact strings. */
export function requireSerial(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]+$/.test(value)) {
    throw new StoreInputError(`certificate serial must be lowercase hex without separators, got ${JSON.stringify(value)}`);
  }
  if (value.length > 64) throw new StoreInputError(`certificate serial ${value} is longer than 64 hex digits`);
  return value;
}

/** A whole policy set's files: names unique (they are the table's key), texts strings. */
export function requirePolicyFiles(files: unknown): PolicyFileRecord[] {
  if (!Array.isArray(files)) throw new StoreInputError('policy files must be an array');
  const seen = new Set<string>();
  return files.map((file: Partial<PolicyFileRecord> | undefined, i) => {
    const fileName = requireName(`policy files[${i}].fileName`, file?.fileName);
    if (seen.has(fileName)) throw new StoreInputError(`policy file "${fileName}" appears twice in one policy set`);
    seen.add(fileName);
    return { fileName, text: requireText(`policy file "${fileName}" text`, file?.text) };
  });
}

export function requireBreakGlassState(what: string, value: unknown): BreakGlassState {
  if (!BREAK_GLASS_STATES.includes(value as BreakGlassState)) {
    throw new StoreInputError(`${what} must be one of ${BREAK_GLASS_STATES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as BreakGlassState;
}

/**
 * A break-glass record's fields. The state machine (who may approve, when it expires) is the
 * caller's; the store only refuses values that are malformed whatever the state.
 */
export function requireBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Omit<BreakGlassRecord, 'revision'> {
  if (typeof record !== 'object' || record === null) throw new StoreInputError('break-glass record must be an object');
  const id = requireName('break-glass id', record.id);
  const what = `break-glass "${id}"`;
  const durationMs = requireCount(`${what} durationMs`, record.durationMs);
  if (durationMs === 0) throw new StoreInputError(`${what} durationMs must be positive`);
  if (!Array.isArray(record.approvals)) throw new StoreInputError(`${what} approvals must be an array`);
  const out: Omit<BreakGlassRecord, 'revision'> = {
    id,
    policy: requireName(`${what} policy`, record.policy),
    user: requireName(`${what} user`, record.user),
    cluster: requireName(`${what} cluster`, record.cluster),
    justification: requireText(`${what} justification`, record.justification),
    durationMs,
    requestedAt: requireTime(`${what} requestedAt`, record.requestedAt),
    approvals: record.approvals.map((a, i) => ({
      approver: requireName(`${what} approvals[${i}].approver`, a?.approver),
      at: requireTime(`${what} approvals[${i}].at`, a?.at),
    })),
    state: requireBreakGlassState(`${what} state`, record.state),
    ...(record.activatedAt !== undefined && { activatedAt: requireTime(`${what} activatedAt`, record.activatedAt) }),
    ...(record.expiresAt !== undefined && { expiresAt: requireTime(`${what} expiresAt`, record.expiresAt) }),
    ...(record.endedBy !== undefined && { endedBy: requireName(`${what} endedBy`, record.endedBy) }),
    ...(record.endReason !== undefined && { endReason: requireText(`${what} endReason`, record.endReason) }),
  };
  return out;
}

/** A cluster's name is a DNS label: it is a path segment of the users' URLs and an xDS name. */
const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function requireClusterName(what: string, value: unknown): string {
  if (typeof value !== 'string' || !CLUSTER_NAME.test(value)) {
    throw new StoreInputError(`${what} must be a DNS label (lowercase letters, digits and '-', at most 63), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A SHA-256 as the store keeps it: 64 lowercase hex digits. */
export function requireSecretHash(what: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) throw new StoreInputError(`${what} must be a SHA-256 in lowercase hex (64 digits)`);
  return value;
}

/** A join token as created: never used yet, valid for some time after its creation. */
export function requireJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>): Omit<JoinTokenRecord, 'usedAt'> {
  if (typeof token !== 'object' || token === null) throw new StoreInputError('join token must be an object');
  const id = requireName('join token id', token.id);
  const what = `join token "${id}"`;
  if ((token as JoinTokenRecord).usedAt !== undefined) throw new StoreInputError(`${what} cannot be created already used`);
  const createdAt = requireTime(`${what} createdAt`, token.createdAt);
  const expiresAt = requireTime(`${what} expiresAt`, token.expiresAt);
  if (expiresAt <= createdAt) throw new StoreInputError(`${what} expiresAt must be later than its createdAt`);
  return {
    id,
    cluster: requireClusterName(`${what} cluster`, token.cluster),
    // The hash is not a secret, but a message has no use for it either.
    secretHash: requireSecretHash(`${what} secretHash`, token.secretHash),
    createdAt,
    createdBy: requireName(`${what} createdBy`, token.createdBy),
    expiresAt,
  };
}

/** Labels: keys are names, values any string; returned with keys sorted, so records compare equal. */
export function requireLabels(what: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StoreInputError(`${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const key of Object.keys(value).sort()) {
    requireName(`${what} key`, key);
    out[key] = requireText(`${what} "${key}"`, (value as Record<string, unknown>)[key]);
  }
  return out;
}

/** A cluster record's fields. The agent certificate serial is '' until the agent connected. */
export function requireCluster(record: ClusterRecord): ClusterRecord {
  if (typeof record !== 'object' || record === null) throw new StoreInputError('cluster record must be an object');
  const name = requireClusterName('cluster name', record.name);
  const what = `cluster "${name}"`;
  const serial = record.agentCertificateSerial;
  return {
    name,
    labels: requireLabels(`${what} labels`, record.labels),
    kubernetesVersion: requireText(`${what} kubernetesVersion`, record.kubernetesVersion),
    apiserverCaPem: requireText(`${what} apiserverCaPem`, record.apiserverCaPem),
    agentVersion: requireText(`${what} agentVersion`, record.agentVersion),
    agentCertificateSerial: serial === '' ? '' : requireSerial(serial),
    registeredAt: requireTime(`${what} registeredAt`, record.registeredAt),
    lastSeenAt: requireTime(`${what} lastSeenAt`, record.lastSeenAt),
  };
}
