/**
 * Matches a request against policy rules exactly as Kubernetes RBAC matches a PolicyRule
 * (k8s.io/kubernetes pkg/apis/rbac/v1 evaluation_helpers.go: VerbMatches, APIGroupMatches,
 * ResourceMatches, ResourceNameMatches, NonResourceURLMatches), plus kubegate's `namespaces`:
 *
 * - verbs, apiGroups: the value, or "*";
 * - resources: "*" matches every resource and subresource; otherwise the exact `resource` or
 *   `resource/subresource`; and "*\/sub" matches subresource `sub` of any resource. `pods`
 *   never matches `pods/log`, nor `pods/*` anything but a subresource literally named "*";
 * - resourceNames: when listed, the request must name one of them; a request without a name
 *   (list, create, deletecollection) never matches;
 * - nonResourceURLs: "*", the exact path, or a prefix ending in "*" (`/healthz/*`);
 * - namespaces: when listed, only namespaced requests in one of them; a request with namespace
 *   '' (cluster-scoped, or a list across all namespaces) never matches. Without namespaces the
 *   rule covers every namespace and cluster-scoped resources.
 *
 * Rules are compiled to Sets once, so matching costs a few hash lookups per rule.
 */
import { isNonResourceRule, type PolicyRule } from '../../policies/src';
import type { RequestTarget } from './request-target';

interface CompiledResourceRule {
  readonly kind: 'resource';
  /** Position in the document's rules, reported in decisions. */
  readonly index: number;
  readonly anyVerb: boolean;
  readonly verbs: ReadonlySet<string>;
  readonly anyGroup: boolean;
  readonly groups: ReadonlySet<string>;
  readonly anyResource: boolean;
  readonly resources: ReadonlySet<string>;
  /** `sub` for every "*\/sub" entry. */
  readonly anyResourceSubresources: ReadonlySet<string>;
  readonly namespaces: ReadonlySet<string> | undefined;
  readonly names: ReadonlySet<string> | undefined;
}

interface CompiledNonResourceRule {
  readonly kind: 'non-resource';
  readonly index: number;
  readonly anyVerb: boolean;
  readonly verbs: ReadonlySet<string>;
  readonly anyPath: boolean;
  readonly paths: ReadonlySet<string>;
  /** Entries ending in "*", without it. */
  readonly prefixes: readonly string[];
}

function compileRule(rule: PolicyRule, index: number): CompiledResourceRule | CompiledNonResourceRule {
  const verbs = new Set<string>(rule.verbs);
  if (isNonResourceRule(rule)) {
    const paths = new Set<string>();
    const prefixes: string[] = [];
    for (const url of rule.nonResourceURLs) {
      if (url.endsWith('*')) prefixes.push(url.replace(/\*+$/, ''));
      else paths.add(url);
    }
    return { kind: 'non-resource', index, anyVerb: verbs.has('*'), verbs, anyPath: rule.nonResourceURLs.includes('*'), paths, prefixes };
  }
  const anyResourceSubresources = new Set<string>();
  for (const resource of rule.resources) if (resource.startsWith('*/')) anyResourceSubresources.add(resource.slice(2));
  return {
    kind: 'resource',
    index,
    anyVerb: verbs.has('*'),
    verbs,
    anyGroup: rule.apiGroups.includes('*'),
    groups: new Set(rule.apiGroups),
    anyResource: rule.resources.includes('*'),
    resources: new Set(rule.resources),
    anyResourceSubresources,
    namespaces: rule.namespaces ? new Set(rule.namespaces) : undefined,
    names: rule.resourceNames ? new Set(rule.resourceNames) : undefined,
  };
}

function matchesResourceRule(rule: CompiledResourceRule, target: RequestTarget): boolean {
  if (!rule.anyVerb && !rule.verbs.has(target.verb)) return false;
  if (!rule.anyGroup && !rule.groups.has(target.apiGroup)) return false;
  if (
    !rule.anyResource &&
    !rule.resources.has(target.combinedResource) &&
    !(target.subresource !== '' && rule.anyResourceSubresources.has(target.subresource))
  ) {
    return false;
  }
  if (rule.namespaces !== undefined && (target.namespace === '' || !rule.namespaces.has(target.namespace))) return false;
  if (rule.names !== undefined && (target.name === '' || !rule.names.has(target.name))) return false;
  return true;
}

function matchesNonResourceRule(rule: CompiledNonResourceRule, target: RequestTarget): boolean {
  if (!rule.anyVerb && !rule.verbs.has(target.verb)) return false;
  if (rule.anyPath || rule.paths.has(target.path)) return true;
  for (const prefix of rule.prefixes) if (target.path.startsWith(prefix)) return true;
  return false;
}

/** The rules of one document, split by kind so a request only looks at rules of its kind. */
export class RuleSet {
  private readonly resourceRules: readonly CompiledResourceRule[];
  private readonly nonResourceRules: readonly CompiledNonResourceRule[];

  constructor(rules: readonly PolicyRule[]) {
    const compiled = rules.map(compileRule);
    this.resourceRules = compiled.filter((r): r is CompiledResourceRule => r.kind === 'resource');
    this.nonResourceRules = compiled.filter((r): r is CompiledNonResourceRule => r.kind === 'non-resource');
  }

  /** The index of the first rule that allows the request, or -1. */
  match(target: RequestTarget): number {
    if (target.isResourceRequest) {
      for (const rule of this.resourceRules) if (matchesResourceRule(rule, target)) return rule.index;
    } else {
      for (const rule of this.nonResourceRules) if (matchesNonResourceRule(rule, target)) return rule.index;
    }
    return -1;
  }
}
