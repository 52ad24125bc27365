/**
 * Checks an AuditEvent before it is stored, so that what is stored reads back exactly as it was
 * hashed, in both databases. That is stricter than "any JSON": a string with a NUL character
 * cannot be kept by PostgreSQL, and one with a lone UTF-16 surrogate would come back as U+FFFD
 * (the databases store UTF-8), either way no longer matching its hash. Times must be exactly
 * what Date#toISOString writes, so that comparing them as text (queries, retention) is
 * comparing them in time.
 *
 * Refusals are StoreInputErrors naming the event and the field.
 */
import { StoreInputError } from '../store/store-input';
import { AUDIT_REPORTERS, AUDIT_STAGES, type AuditEvent, type AuditReporter, type AuditStage } from './audit-event';

const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The event with only AuditEvent's fields (absent optional fields left out), or a refusal. */
export function requireAuditEvent(event: unknown, index = 0): AuditEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new StoreInputError(`audit event ${index} must be an object`);
  const e = event as Record<string, unknown>;
  const what = typeof e.requestId === 'string' && e.requestId !== '' ? `audit event ${index} (request ${JSON.stringify(e.requestId)})` : `audit event ${index}`;
  const fail = (field: string, must: string) => new StoreInputError(`${what}: ${field} ${must}`);

  const checked = (field: string, value: unknown): string => {
    if (typeof value !== 'string') throw fail(field, `must be a string, got ${describe(value)}`);
    if (value.includes('\u0000')) throw fail(field, 'contains a NUL character, which the audit store cannot keep');
    if (LONE_SURROGATE.test(value)) throw fail(field, 'is not well-formed Unicode (a lone surrogate)');
    return value;
  };
  const text = (field: string): string => checked(field, e[field]);
  const optionalText = (field: string): string | undefined => (absent(e[field]) ? undefined : text(field));
  const optionalTexts = (field: string): string[] | undefined => {
    const value = e[field];
    if (absent(value)) return undefined;
    if (!Array.isArray(value)) throw fail(field, `must be an array of strings, got ${describe(value)}`);
    return value.map((v, i) => checked(`${field}[${i}]`, v));
  };
  const count = (field: string): number | undefined => {
    const value = e[field];
    if (absent(value)) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw fail(field, `must be a non-negative integer, got ${describe(value)}`);
    return value;
  };

  const stage = e.stage;
  if (!AUDIT_STAGES.includes(stage as AuditStage)) throw fail('stage', `must be one of ${AUDIT_STAGES.join(', ')}, got ${describe(stage)}`);
  const time = e.time;
  if (typeof time !== 'string' || !ISO_MS_UTC.test(time) || !sameInstantText(time)) {
    throw fail('time', `must be an ISO 8601 time in UTC with milliseconds (as Date#toISOString writes it), got ${describe(time)}`);
  }
  const decision = e.decision;
  if (decision !== 'allow' && decision !== 'deny') throw fail('decision', `must be allow or deny, got ${describe(decision)}`);
  const durationMs = e.durationMs;
  if (!absent(durationMs) && (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0)) {
    throw fail('durationMs', `must be a non-negative number, got ${describe(durationMs)}`);
  }

  const groups = optionalTexts('groups');
  if (groups === undefined) throw fail('groups', 'must be an array of strings, got nothing');
  const status = count('status');
  const bytesReceived = count('bytesReceived');
  const bytesSent = count('bytesSent');
  const upstreamAddress = optionalText('upstreamAddress');
  const responseFlags = optionalTexts('responseFlags');
  const terminationDetails = optionalText('terminationDetails');
  const upgrade = optionalText('upgrade');
  const reportedBy = e.reportedBy;
  if (!absent(reportedBy) && !AUDIT_REPORTERS.includes(reportedBy as AuditReporter)) {
    throw fail('reportedBy', `must be ${AUDIT_REPORTERS.join(' or ')} (or absent for the edge), got ${describe(reportedBy)}`);
  }
  return {
    stage: stage as AuditStage,
    time,
    requestId: text('requestId'),
    user: text('user'),
    groups,
    sourceAddress: text('sourceAddress'),
    cluster: text('cluster'),
    verb: text('verb'),
    apiGroup: text('apiGroup'),
    resource: text('resource'),
    subresource: text('subresource'),
    namespace: text('namespace'),
    name: text('name'),
    decision,
    reason: text('reason'),
    policy: text('policy'),
    breakGlassId: text('breakGlassId'),
    method: text('method'),
    path: text('path'),
    userAgent: text('userAgent'),
    kubectlCommand: text('kubectlCommand'),
    kubectlSession: text('kubectlSession'),
    ...(status !== undefined && { status }),
    ...(bytesReceived !== undefined && { bytesReceived }),
    ...(bytesSent !== undefined && { bytesSent }),
    ...(!absent(durationMs) && { durationMs: durationMs as number }),
    ...(upstreamAddress !== undefined && { upstreamAddress }),
    ...(responseFlags !== undefined && { responseFlags }),
    ...(terminationDetails !== undefined && { terminationDetails }),
    ...(upgrade !== undefined && { upgrade }),
    ...(!absent(reportedBy) && { reportedBy: reportedBy as AuditReporter }),
  };
}

function absent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Rejects well-shaped but impossible times (2026-02-30T...), which Date would roll over. */
function sameInstantText(time: string): boolean {
  const ms = Date.parse(time);
  return Number.isFinite(ms) && new Date(ms).toISOString() === time;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}
