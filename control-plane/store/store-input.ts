/**
 * Checks what callers hand the store, before any SQL runs, so a bad value is refused with a
 * message that names the field instead of surfacing as a constraint violation (or, worse, being
 * stored). Both implementations call the same checks, so they refuse exactly the same inputs.
 * Every value and record is described by a JSON Schema checked by ajv (validation/schema-check.ts), each
 * rule with its message; the few rules between fields (a token expiring after its creation, a
 * file name given twice) follow in code.
 */
import { dottedPath, schemaCheck, type SchemaIssue } from '../validation/schema-check';
import type { ClusterRegistration, InstallTokenRecord, RedeemJoinToken } from './install-token';
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

/**
 * A name (user, group, id, ...): non-empty, no surrounding blanks, no control characters. The
 * rules are in allOf so that ajv checks them, and a name breaking several is told about the
 * first, in this order.
 */
const NAME = {
  type: 'string',
  allOf: [
    { minLength: 1, maxLength: MAX_NAME_LENGTH, problems: { minLength: 'must be a non-empty string', maxLength: `is longer than ${MAX_NAME_LENGTH} characters` } },
    { pattern: '^(?!\\s)[\\s\\S]*(?<!\\s)$', problems: { pattern: '"{text}" has leading or trailing whitespace' } },
    { pattern: '^[^\\u0000-\\u001f\\u007f]*$', problems: { pattern: '{got} contains control characters' } },
  ],
  problems: { type: 'must be a non-empty string', required: 'must be a non-empty string' },
};

/** Free text (a description, a justification): any string, possibly empty. */
const TEXT = { type: 'string', problems: { type: 'must be a string', required: 'must be a string' } };

/** A non-negative integer that a JavaScript number holds exactly. */
const wholeNumber = (problem: string) => ({
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  problems: { type: problem, required: problem, minimum: problem, maximum: problem },
});
/** An epoch-millisecond time. */
const TIME = wholeNumber('must be a time in epoch milliseconds (a non-negative integer), got {text}');
/** A revision or count. */
const COUNT = wholeNumber('must be a non-negative integer, got {text}');

/** A TCP port, or 0 for none yet. */
const PORT_OR_NONE = { type: 'integer', minimum: 0, maximum: 65535, problems: { type: 'must be a port (0-65535), got {text}', minimum: 'must be a port (0-65535), got {text}', maximum: 'must be a port (0-65535), got {text}', required: 'must be a port (0-65535)' } };
const BOOLEAN = { type: 'boolean', problems: { type: 'must be true or false' } };

/** Serials are the store's key for revocation, so they are compared as exact strings. */
const serial = (pattern: string) => {
  const problem = 'must be lowercase hex without separators, got {got}';
  return {
    type: 'string',
    allOf: [
      { pattern, problems: { pattern: problem } },
      { maxLength: 64, problems: { maxLength: '{text} is longer than 64 hex digits' } },
    ],
    problems: { type: problem, required: problem },
  };
};
const SERIAL = serial('^[0-9a-f]+$');

const stateProblem = `must be one of ${BREAK_GLASS_STATES.join(', ')}, got {got}`;
const STATE = { enum: BREAK_GLASS_STATES, problems: { enum: stateProblem, required: stateProblem } };

/** A cluster's name is a DNS label: it is a path segment of the users' URLs and an xDS name. */
const dnsLabel = "must be a DNS label (lowercase letters, digits and '-', at most 63), got {got}";
const CLUSTER_NAME = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', problems: { type: dnsLabel, required: dnsLabel, pattern: dnsLabel } };

/** A SHA-256 as the store keeps it: 64 lowercase hex digits. */
const sha256 = 'must be a SHA-256 in lowercase hex (64 digits)';
const SECRET_HASH = { type: 'string', pattern: '^[0-9a-f]{64}$', problems: { type: sha256, required: sha256, pattern: sha256 } };

/** Labels: keys are names, values any string. */
const LABELS = { type: 'object', propertyNames: NAME, additionalProperties: TEXT, problems: { type: 'must be an object of strings', required: 'must be an object of strings' } };

/** An object with these fields, all required but the `optional` ones; others are let through. */
const record = (properties: Record<string, object>, optional: readonly string[] = []) => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((key) => !optional.includes(key)),
  problems: { type: 'must be an object' },
});

/**
 * A break-glass record's fields. The state machine (who may approve, when it expires) is the
 * caller's; the store only refuses values that are malformed whatever the state.
 */
const BREAK_GLASS = record(
  {
    id: NAME,
    durationMs: { ...COUNT, not: { const: 0 }, problems: { ...COUNT.problems, not: 'must be positive' } },
    policy: NAME,
    user: NAME,
    cluster: NAME,
    justification: TEXT,
    requestedAt: TIME,
    approvals: { type: 'array', items: record({ approver: NAME, at: TIME }), problems: { type: 'must be an array', required: 'must be an array' } },
    state: STATE,
    activatedAt: TIME,
    expiresAt: TIME,
    endedBy: NAME,
    endReason: TEXT,
  },
  ['activatedAt', 'expiresAt', 'endedBy', 'endReason'],
);

/** A join token as created (used or not is checked after). */
const JOIN_TOKEN = record({ id: NAME, createdAt: TIME, expiresAt: TIME, cluster: CLUSTER_NAME, secretHash: SECRET_HASH, createdBy: NAME });

/** A cluster record; the agent certificate serial is '' until the agent connected. */
const CLUSTER = record(
  {
    name: CLUSTER_NAME,
    labels: LABELS,
    kubernetesVersion: TEXT,
    apiserverCaPem: TEXT,
    apiserverHost: TEXT,
    apiserverPort: PORT_OR_NONE,
    agentVersion: TEXT,
    agentCertificateSerial: serial('^[0-9a-f]*$'),
    registeredAt: TIME,
    lastSeenAt: TIME,
  },
);

const POLICY_FILES = { type: 'array', items: record({ fileName: NAME, text: TEXT }), problems: { type: 'must be an array' } };

const GROUPS = { type: 'array', items: NAME, problems: { type: 'must be an array of group names' } };

/** Throws the first issue, named by `field`; returns the value when there is none. */
function refuse<T>(check: (value: unknown) => readonly SchemaIssue[], value: unknown, field: (issue: SchemaIssue) => string): T {
  const [issue] = check(value);
  if (issue) throw new StoreInputError(`${field(issue)} ${issue.message}`);
  return value as T;
}

/** `what` followed by where in the value: `groups[1]`, `break-glass "x" approvals[0].at`. */
const under = (what: string) => (issue: SchemaIssue) => (issue.path.length === 0 ? what : `${what}${typeof issue.path[0] === 'number' ? '' : ' '}${dottedPath(issue.path)}`);

const primitive = (schema: object) => {
  const check = schemaCheck(schema);
  return <T>(what: string, value: unknown): T => refuse<T>(check, value, under(what));
};

export const requireName: (what: string, value: unknown) => string = primitive(NAME);
export const requireText: (what: string, value: unknown) => string = primitive(TEXT);
export const requireTime: (what: string, value: unknown) => number = primitive(TIME);
export const requireCount: (what: string, value: unknown) => number = primitive(COUNT);
export const requireBoolean: (what: string, value: unknown) => boolean = primitive(BOOLEAN);
export const requireBreakGlassState: (what: string, value: unknown) => BreakGlassState = primitive(STATE);
export const requireClusterName: (what: string, value: unknown) => string = primitive(CLUSTER_NAME);
export const requireSecretHash: (what: string, value: unknown) => string = primitive(SECRET_HASH);

const checkSerial = primitive(SERIAL);
export function requireSerial(value: unknown): string {
  return checkSerial<string>('certificate serial', value);
}

/** Group membership as the store keeps it: every name valid, sorted, each once. */
const checkGroups = schemaCheck(GROUPS);
export function normalizeGroups(groups: unknown): string[] {
  const names = refuse<string[]>(checkGroups, groups, under('groups'));
  return [...new Set(names)].sort();
}

/** A whole policy set's files: names unique (they are the table's key), texts strings. */
const checkPolicyFiles = schemaCheck(POLICY_FILES);
export function requirePolicyFiles(files: unknown): PolicyFileRecord[] {
  const list = refuse<PolicyFileRecord[]>(checkPolicyFiles, files, (issue) =>
    issue.path[1] === 'text' ? `policy file "${(files as PolicyFileRecord[])[issue.path[0] as number]!.fileName}" text` : under('policy files')(issue),
  );
  const seen = new Set<string>();
  return list.map(({ fileName, text }) => {
    if (seen.has(fileName)) throw new StoreInputError(`policy file "${fileName}" appears twice in one policy set`);
    seen.add(fileName);
    return { fileName, text };
  });
}

/**
 * How a record's problem is named: the record as a whole by `whole`, its key by the kind of
 * record (`join token id`), any other field by the record (`join token "t" cluster`).
 */
const recordField = (whole: string, kind: string, key: string, value: unknown) => (issue: SchemaIssue) => {
  if (issue.path.length === 0) return whole;
  return issue.path[0] === key ? `${kind} ${key}` : under(`${kind} "${String((value as Record<string, unknown>)[key])}"`)(issue);
};

const checkBreakGlass = schemaCheck(BREAK_GLASS);
export function requireBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Omit<BreakGlassRecord, 'revision'> {
  const r = refuse<Omit<BreakGlassRecord, 'revision'>>(checkBreakGlass, record, recordField('break-glass record', 'break-glass', 'id', record));
  // Only the record's own fields: a caller may hand over a whole record, revision included.
  return {
    id: r.id,
    policy: r.policy,
    user: r.user,
    cluster: r.cluster,
    justification: r.justification,
    durationMs: r.durationMs,
    requestedAt: r.requestedAt,
    approvals: r.approvals.map(({ approver, at }) => ({ approver, at })),
    state: r.state,
    ...(r.activatedAt !== undefined && { activatedAt: r.activatedAt }),
    ...(r.expiresAt !== undefined && { expiresAt: r.expiresAt }),
    ...(r.endedBy !== undefined && { endedBy: r.endedBy }),
    ...(r.endReason !== undefined && { endReason: r.endReason }),
  };
}

/** A join token as created: never used yet, valid for some time after its creation. */
const checkJoinToken = schemaCheck(JOIN_TOKEN);
export function requireJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>, kind = 'join token'): Omit<JoinTokenRecord, 'usedAt'> {
  const t = refuse<Omit<JoinTokenRecord, 'usedAt'>>(checkJoinToken, token, recordField(kind, kind, 'id', token));
  const what = `${kind} "${t.id}"`;
  if ((token as JoinTokenRecord).usedAt !== undefined) throw new StoreInputError(`${what} cannot be created already used`);
  if (t.expiresAt <= t.createdAt) throw new StoreInputError(`${what} expiresAt must be later than its createdAt`);
  // The hash is not a secret, but a message has no use for it either.
  return { id: t.id, cluster: t.cluster, secretHash: t.secretHash, createdAt: t.createdAt, createdBy: t.createdBy, expiresAt: t.expiresAt };
}

/** An install token (install-token.ts) as created: the same fields and rules as a join token's. */
export function requireInstallToken(token: Omit<InstallTokenRecord, 'usedAt'>): Omit<InstallTokenRecord, 'usedAt'> {
  return requireJoinToken(token, 'install token');
}

/** A cluster as the hub registers (or relabels) it: a DNS-label name, labels, and the time. */
export function requireClusterRegistration(cluster: ClusterRegistration): ClusterRegistration {
  const name = requireClusterName('cluster name', cluster?.name);
  return { name, labels: requireLabels(`cluster "${name}" labels`, cluster.labels), now: requireTime('now', cluster.now) };
}

/** A new cluster's name, labels and time, and its first install token, which must name it. */
export function requireRegistration(cluster: ClusterRegistration, token: Omit<InstallTokenRecord, 'usedAt'>): [ClusterRegistration, Omit<InstallTokenRecord, 'usedAt'>] {
  const registration = requireClusterRegistration(cluster);
  const valid = requireInstallToken(token);
  if (valid.cluster !== registration.name) throw new StoreInputError(`install token "${valid.id}" is for cluster "${valid.cluster}", not "${registration.name}"`);
  return [registration, valid];
}

/** The join token a redeemed link makes: its id, hash and expiry (the rest comes from the link). */
export function requireRedeemJoinToken(join: RedeemJoinToken, now: number): RedeemJoinToken {
  const id = requireName('join token id', join?.id);
  const secretHash = requireSecretHash(`join token "${id}" secret hash`, join.secretHash);
  const expiresAt = requireTime(`join token "${id}" expiresAt`, join.expiresAt);
  if (expiresAt <= now) throw new StoreInputError(`join token "${id}" expiresAt must be later than now`);
  return { id, secretHash, expiresAt };
}

/** A label map's problem: `<what> "key"` for a value, `<what> key` for a bad key. */
const labelField = (what: string, issue: SchemaIssue) => (issue.propertyName !== undefined ? `${what} key` : issue.path.length > 0 ? `${what} "${String(issue.path[0])}"` : what);

/** Labels: keys are names, values any string; returned with keys sorted, so records compare equal. */
const checkLabels = schemaCheck(LABELS);
export function requireLabels(what: string, value: unknown): Record<string, string> {
  const labels = refuse<Record<string, string>>(checkLabels, value, (issue) => labelField(what, issue));
  return sortedLabels(labels);
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key]!;
  return out;
}

/** A cluster record's fields. The agent certificate serial is '' until the agent connected. */
const checkCluster = schemaCheck(CLUSTER);
export function requireCluster(record: ClusterRecord): ClusterRecord {
  const named = recordField('cluster record', 'cluster', 'name', record);
  const r = refuse<ClusterRecord>(checkCluster, record, (issue) => {
    if (issue.path[0] === 'labels') return labelField(`cluster "${record.name}" labels`, { ...issue, path: issue.path.slice(1) });
    if (issue.path[0] === 'agentCertificateSerial') return 'certificate serial';
    return named(issue);
  });
  return {
    name: r.name,
    labels: sortedLabels(r.labels),
    kubernetesVersion: r.kubernetesVersion,
    apiserverCaPem: r.apiserverCaPem,
    apiserverHost: r.apiserverHost,
    apiserverPort: r.apiserverPort,
    agentVersion: r.agentVersion,
    agentCertificateSerial: r.agentCertificateSerial,
    registeredAt: r.registeredAt,
    lastSeenAt: r.lastSeenAt,
  };
}
