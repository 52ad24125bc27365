/**
 * What each pod of a namespace costs, as the kubelet measures it (its Summary API, read through
 * the apiserver's node proxy): memory working set and CPU use. For the deployment figures.
 */
import type { LocalCluster } from '../../../dev/local-cluster/local-cluster';

export interface PodStats {
  readonly memoryBytes: number;
  readonly cpuMillicores: number;
}

interface Summary {
  pods?: { podRef: { name: string; namespace: string }; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } }[];
}

/** The pods of `namespace` on `node`, keyed `<namespace>/<pod>`. */
export async function podStats(cluster: LocalCluster, node: string, namespace: string): Promise<Record<string, PodStats>> {
  const r = await cluster.kubectl(['get', '--raw', `/api/v1/nodes/${node}/proxy/stats/summary`], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`the kubelet's summary of ${node}: ${r.stderr}`);
  const summary = JSON.parse(r.stdout) as Summary;
  const out: Record<string, PodStats> = {};
  for (const p of summary.pods ?? []) {
    if (p.podRef.namespace !== namespace) continue;
    out[`${namespace}/${p.podRef.name}`] = { memoryBytes: p.memory?.workingSetBytes ?? 0, cpuMillicores: Math.round((p.cpu?.usageNanoCores ?? 0) / 1e6) };
  }
  return out;
}
