/**
 * Folds the ClusterRole grants of several documents into one grant per role, for the engine's
 * clusterAccess. Its own file because the rule has nothing to do with deciding a request and
 * is tested on its own.
 */
import type { ClusterRoleGrant } from '../../policies/src';

/**
 * One grant per ClusterRole: bound cluster-wide if any source binds it cluster-wide, else in the
 * union of the namespaces (sorted), so the binding reconciler sees a stable set.
 */
export function mergeClusterRoles(grants: readonly ClusterRoleGrant[]): ClusterRoleGrant[] {
  const byName = new Map<string, Set<string> | 'cluster'>();
  for (const g of grants) {
    const known = byName.get(g.name);
    if (known === 'cluster') continue;
    if (!g.namespaces) {
      byName.set(g.name, 'cluster');
      continue;
    }
    const set = known ?? new Set<string>();
    for (const ns of g.namespaces) set.add(ns);
    byName.set(g.name, set);
  }
  return [...byName.keys()].sort().map((name) => {
    const scope = byName.get(name)!;
    return scope === 'cluster' ? { name } : { name, namespaces: [...scope].sort() };
  });
}
