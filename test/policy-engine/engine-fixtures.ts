/**
 * Builders for policy-engine tests: documents are written as YAML and go through the real
 * parser and cross-document validator (parsePolicyFile, validatePolicies), so tests exercise
 * exactly what `kubegate policy apply` would load. Requests go through parseRequestAttributes,
 * so they carry the attributes kube-apiserver would derive.
 */
import { parsePolicyFile, validatePolicies, type PolicyDocument } from '../../policies/src';
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import type { AccessRequest, ActiveGrant, Channel, ClusterInfo, EngineDecision, EvaluationContext, Subject } from '../../control-plane/policy-engine/engine-contract';
import { PolicyEngine } from '../../control-plane/policy-engine/policy-engine';

/** Removes the common indentation of a template literal, so YAML can be indented with the test. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\n\s*$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/**
 * Documents from YAML written without apiVersion (added to each `---`-separated document):
 * `kind`, `metadata` and `spec` are what differs between tests.
 */
export function documents(yaml: string): PolicyDocument[] {
  const text = yaml
    .split(/^[ \t]*---[ \t]*$/m)
    .filter((doc) => doc.trim() !== '')
    .map((doc) => `apiVersion: kubegate.dev/v1alpha1\n${dedent(doc)}`)
    .join('\n---\n');
  const docs = parsePolicyFile(text, 'test-policies.yaml');
  validatePolicies(docs);
  return docs;
}

export function engine(yaml: string): PolicyEngine {
  return new PolicyEngine(documents(yaml));
}

export const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test time ${iso}`);
  return ms;
};

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const FOREVER = Number.MAX_SAFE_INTEGER;

/** A Monday noon in June (CEST): inside every business-hours window used by the tests. */
export const NOON = at('2025-06-02T10:00:00Z');

export interface RequestOptions {
  readonly user?: string;
  readonly groups?: readonly string[];
  readonly cluster?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly channel?: Channel;
}

export function subject(options: RequestOptions = {}): Subject {
  return { user: options.user ?? 'alice', groups: options.groups ?? [] };
}

export function cluster(options: RequestOptions = {}): ClusterInfo {
  return { name: options.cluster ?? 'prod', labels: options.labels ?? {} };
}

/** `request('GET', '/api/v1/namespaces/a/pods')`: alice, cluster prod, kubectl, unless told. */
export function request(method: string, path: string, options: RequestOptions = {}): AccessRequest {
  return {
    subject: subject(options),
    cluster: cluster(options),
    channel: options.channel ?? 'kubectl',
    attributes: parseRequestAttributes(method, path),
  };
}

export function context(now: number, extra: { lastConsoleActivity?: number; grants?: readonly ActiveGrant[] } = {}): EvaluationContext {
  return { now, grants: extra.grants ?? [], ...(extra.lastConsoleActivity !== undefined ? { lastConsoleActivity: extra.lastConsoleActivity } : {}) };
}

/** The decision, narrowed to a refusal (fails the test if it was allowed). */
export function refused(decision: EngineDecision): Extract<EngineDecision, { allowed: false }> {
  if (decision.allowed) throw new Error(`expected a refusal, got allowed: ${decision.reason}`);
  return decision;
}

/** The decision, narrowed to an allowance (fails the test if it was refused). */
export function allowed(decision: EngineDecision): Extract<EngineDecision, { allowed: true }> {
  if (!decision.allowed) throw new Error(`expected allowed, got ${decision.code}: ${decision.message} (${decision.reason})`);
  return decision;
}
