/**
 * Why: "nothing of kubegate's is left" is checked on the cluster itself: every object carrying
 * the constructs' label or the one the agent puts on what it makes for users, of every kind
 * either creates. Also kubectl as a cluster's admin that fails loudly, which the lab and its
 * users need for such checks.
 */
import type { LocalCluster } from '../local-cluster/local-cluster';

/** kubectl as the cluster's admin; throws with kubectl's stderr unless it exits 0. */
export async function kubectlIn(cluster: LocalCluster, args: readonly string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The kinds kubegate's constructs and its agent create. */
export const KUBEGATE_KINDS = 'namespaces,deployments,services,configmaps,secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,networkpolicies,persistentvolumeclaims';

/** The construct's label and the agent's own. */
export const KUBEGATE_SELECTORS = ['app.kubernetes.io/part-of=kubegate', 'app.kubernetes.io/managed-by=kubegate'] as const;

/** Objects labelled as kubegate's in a cluster, as kubectl names them (kind/name). */
export async function kubegateObjects(cluster: LocalCluster): Promise<string[]> {
  const found: string[] = [];
  for (const selector of KUBEGATE_SELECTORS) {
    const out = await kubectlIn(cluster, ['get', KUBEGATE_KINDS, '-A', '-l', selector, '-o', 'name']);
    found.push(...out.split('\n').filter(Boolean));
  }
  return found;
}
