/**
 * `kubectl auth can-i --list` through kubegate: what a user may do is what both the edge's
 * rules and the cluster's RBAC allow, so the rules the cluster reports
 * (SelfSubjectRulesReview) are intersected with the edge's, rule by rule, in RBAC's own terms
 * (rule-matcher.ts): "*" is everything, "*\/sub" a subresource of any resource, no
 * resourceNames is any name, and an edge rule limited to namespaces applies only when the
 * review asks about one of them. The result is exact for the rules as written, but for one
 * thing Kubernetes' rule shape cannot say (namespaceLimited, below); it is pure.
 */
import { isNonResourceRule, type PolicyRule } from '../../policies/src';

/** A resource rule as Kubernetes reports it (authorization.k8s.io/v1 ResourceRule). */
export interface ReportedResourceRule {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** A non-resource rule as Kubernetes reports it (NonResourceRule). */
export interface ReportedNonResourceRule {
  readonly verbs: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

/** Values of a verbs or apiGroups list, where "*" means all. */
function intersectPlain(a: readonly string[], b: readonly string[]): string[] {
  if (a.includes('*')) return [...b];
  if (b.includes('*')) return [...a];
  const other = new Set(b);
  return a.filter((v) => other.has(v));
}

/** One resource entry against another: what both match, or undefined. */
function intersectResource(a: string, b: string): string | undefined {
  if (a === '*') return b;
  if (b === '*') return a;
  if (a === b) return a;
  if (a.startsWith('*/') && b.endsWith(a.slice(1)) && !b.startsWith('*/')) return b;
  if (b.startsWith('*/') && a.endsWith(b.slice(1)) && !a.startsWith('*/')) return a;
  return undefined;
}

function intersectResources(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const x of a) for (const y of b) {
    const both = intersectResource(x, y);
    if (both !== undefined) out.add(both);
  }
  return [...out];
}

/** undefined is every name. */
function intersectNames(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] | undefined {
  if (a === undefined || a.length === 0) return b === undefined || b.length === 0 ? undefined : [...b];
  if (b === undefined || b.length === 0) return [...a];
  const other = new Set(b);
  return a.filter((n) => other.has(n));
}

/** A non-resource URL entry against another ("*" all, "/p*" a prefix, else exact). */
function intersectUrl(a: string, b: string): string | undefined {
  if (a === '*') return b;
  if (b === '*') return a;
  const aPrefix = a.endsWith('*');
  const bPrefix = b.endsWith('*');
  if (!aPrefix && !bPrefix) return a === b ? a : undefined;
  if (aPrefix && !bPrefix) return b.startsWith(a.slice(0, -1)) ? b : undefined;
  if (!aPrefix && bPrefix) return a.startsWith(b.slice(0, -1)) ? a : undefined;
  // Both prefixes: the longer one, if it continues the shorter.
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long.startsWith(short.slice(0, -1)) ? long : undefined;
}

export interface EdgeRuleSet {
  /** The edge admits everything (a policy with clusterRoles and no rules is in force). */
  readonly unrestricted: boolean;
  readonly rules: readonly PolicyRule[];
}

export interface IntersectedRules {
  readonly resourceRules: ReportedResourceRule[];
  readonly nonResourceRules: ReportedNonResourceRule[];
  /**
   * An edge rule limited to namespaces contributed: it allows only namespaced requests in this
   * namespace, which a rule of Kubernetes' shape cannot say, so any cluster-scoped resource it
   * appears to cover (nodes, namespaces) is not really allowed.
   */
  readonly namespaceLimited: boolean;
}

/** The cluster's reported rules for `namespace`, kept only as far as the edge's rules allow. */
export function intersectRules(
  cluster: { readonly resourceRules: readonly ReportedResourceRule[]; readonly nonResourceRules: readonly ReportedNonResourceRule[] },
  edge: EdgeRuleSet,
  namespace: string,
): IntersectedRules {
  if (edge.unrestricted) {
    return { resourceRules: cluster.resourceRules.map((r) => ({ ...r })), nonResourceRules: cluster.nonResourceRules.map((r) => ({ ...r })), namespaceLimited: false };
  }
  const resourceRules: ReportedResourceRule[] = [];
  const nonResourceRules: ReportedNonResourceRule[] = [];
  const seen = new Set<string>();
  let namespaceLimited = false;
  const add = <T>(list: T[], rule: T) => {
    const key = JSON.stringify(rule);
    if (seen.has(key)) return;
    seen.add(key);
    list.push(rule);
  };
  for (const edgeRule of edge.rules) {
    if (isNonResourceRule(edgeRule)) {
      for (const rule of cluster.nonResourceRules) {
        const verbs = intersectPlain(rule.verbs, edgeRule.verbs);
        const urls = new Set<string>();
        for (const x of rule.nonResourceURLs ?? []) for (const y of edgeRule.nonResourceURLs) {
          const both = intersectUrl(x, y);
          if (both !== undefined) urls.add(both);
        }
        if (verbs.length > 0 && urls.size > 0) add(nonResourceRules, { verbs, nonResourceURLs: [...urls] });
      }
      continue;
    }
    if (edgeRule.namespaces !== undefined && !edgeRule.namespaces.includes(namespace)) continue;
    for (const rule of cluster.resourceRules) {
      const verbs = intersectPlain(rule.verbs, edgeRule.verbs);
      const apiGroups = intersectPlain(rule.apiGroups ?? [], edgeRule.apiGroups);
      const resources = intersectResources(rule.resources ?? [], edgeRule.resources);
      const names = intersectNames(rule.resourceNames, edgeRule.resourceNames);
      if (verbs.length === 0 || apiGroups.length === 0 || resources.length === 0 || (names !== undefined && names.length === 0)) continue;
      add(resourceRules, { verbs, apiGroups, resources, ...(names !== undefined && { resourceNames: names }) });
      if (edgeRule.namespaces !== undefined) namespaceLimited = true;
    }
  }
  return { resourceRules, nonResourceRules, namespaceLimited };
}
