/**
 * Where a document applies (policies/README.md, "clusters"): a cluster is in scope when it is
 * one of `names` or matches `selector`; `all: true` is every cluster. Compiled once per document
 * into a closure so that evaluation does Set lookups, not list scans.
 */
import type { ClusterScope, LabelSelector, LabelSelectorRequirement } from '../../policies/src';
import type { ClusterInfo } from './engine-contract';

type Labels = Readonly<Record<string, string>>;
export type LabelPredicate = (labels: Labels) => boolean;

/** How a scope covers a cluster; the order is ClusterSettings' specificity (higher wins). */
export const Coverage = { None: 0, All: 1, Selector: 2, Name: 3 } as const;
export type Coverage = (typeof Coverage)[keyof typeof Coverage];

export interface ClusterMatcher {
  /** The most specific way the scope covers the cluster, or Coverage.None. */
  coverage(cluster: ClusterInfo): Coverage;
  covers(cluster: ClusterInfo): boolean;
}

/**
 * A label's presence is an own property of the labels object: `constructor` or `toString` in a
 * selector must not be found on Object.prototype.
 */
const hasLabel = (labels: Labels, key: string): boolean => Object.hasOwn(labels, key);

function compileRequirement(req: LabelSelectorRequirement): LabelPredicate {
  const key = req.key;
  const values = new Set(req.values ?? []);
  switch (req.operator) {
    case 'In':
      return (labels) => hasLabel(labels, key) && values.has(labels[key]!);
    case 'NotIn':
      return (labels) => !hasLabel(labels, key) || !values.has(labels[key]!);
    case 'Exists':
      return (labels) => hasLabel(labels, key);
    case 'DoesNotExist':
      return (labels) => !hasLabel(labels, key);
  }
}

/** Kubernetes label-selector semantics: every matchLabels entry and every term must hold. */
export function compileLabelSelector(selector: LabelSelector): LabelPredicate {
  const terms: LabelPredicate[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    terms.push((labels) => hasLabel(labels, key) && labels[key] === value);
  }
  for (const req of selector.matchExpressions ?? []) terms.push(compileRequirement(req));
  return (labels) => {
    for (const term of terms) if (!term(labels)) return false;
    return true;
  };
}

export function compileClusterScope(scope: ClusterScope): ClusterMatcher {
  if (scope.all) return { coverage: () => Coverage.All, covers: () => true };
  const names = new Set(scope.names ?? []);
  const selector = scope.selector ? compileLabelSelector(scope.selector) : undefined;
  const coverage = (cluster: ClusterInfo): Coverage => {
    if (names.has(cluster.name)) return Coverage.Name;
    if (selector !== undefined && selector(cluster.labels)) return Coverage.Selector;
    return Coverage.None;
  };
  return { coverage, covers: (cluster) => coverage(cluster) !== Coverage.None };
}
