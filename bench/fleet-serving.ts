/**
 * Why: the point every step of the fleet-rollout benchmark is timed to, the same for Pulumi and
 * for kubectl apply: the fleet serves, meaning every member's agent is connected to the hub and
 * a user's kubectl, with a kubeconfig from the hub, gets an answer from each member through the
 * edge; after an upgrade, also every kubegate pod in every cluster runs the new images and is
 * ready, with no pod of the old ones left.
 */
import * as path from 'node:path';
import { HUB_NAMESPACE, type FleetImages, type FleetLab } from '../dev/fleet/fleet-lab';
import type { LoadTarget } from './fleet-load';
import { eventually } from '../dev/process/streaming-command';

/** Where the agent runs in every member (the construct's default). */
export const AGENT_NAMESPACE = 'kubegate-system';

/**
 * Polls `fn` once a second until it returns a value (a thrown error counts as not yet), or fails
 * with the last problem. Once a second, not faster: every poll is a kubectl or kubegate process,
 * and on 2 cores faster polling would slow down the very rollout being timed.
 */
export function pollUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return eventually(what, fn, timeoutMs, 1000);
}

/** The user whose kubectl the benchmark probes with and loads the fleet as (the team policy lets `team` read and create ConfigMaps in `default`). */
export const BENCH_USER = { name: 'alice', group: 'team' } as const;

/** The user's kubeconfigs for one installation of the hub (one store): made once, then reused. */
export class FleetUsers {
  private store: string | undefined;
  private install = 0;
  private readonly kubeconfigs = new Map<string, string>();

  constructor(
    private readonly lab: FleetLab,
    private readonly dir: string,
  ) {}

  /** Waits until every member in `names` serves; resolves with the user's kubeconfig for each. */
  async serving(names: readonly string[], timeoutMs = 300_000): Promise<LoadTarget[]> {
    const lab = this.lab;
    if (this.store !== lab.storeUrl) {
      // A new installation of the hub: a new admin credential, and the user is not there yet.
      await lab.fetchAdminKubeconfig();
      await lab.api(['user', 'create', BENCH_USER.name, '--group', BENCH_USER.group]);
      this.store = lab.storeUrl;
      this.install++;
      this.kubeconfigs.clear();
    }
    await pollUntil(`${names.join(', ')} to be connected`, async () => {
      const { clusters } = JSON.parse(await lab.api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; agent?: { status: string } }[] };
      return names.every((n) => clusters.some((c) => c.name === n && c.agent?.status === 'connected')) ? true : undefined;
    }, timeoutMs);
    return Promise.all(
      names.map(async (name) => {
        let kubeconfig = this.kubeconfigs.get(name);
        if (!kubeconfig) {
          kubeconfig = path.join(this.dir, `${BENCH_USER.name}-${this.install}-${name}.kubeconfig`);
          await lab.api(['kubeconfig', '--user', BENCH_USER.name, '--cluster', name, '-o', kubeconfig]);
          this.kubeconfigs.set(name, kubeconfig);
        }
        const kc = kubeconfig;
        await pollUntil(`${BENCH_USER.name} to reach ${name} through the edge`, async () => {
          const r = await lab.kubectlVia(kc, ['get', 'configmaps', '-n', 'default', '-o', 'name']);
          return r.code === 0 && r.stdout.includes('configmap/kube-root-ca.crt') ? true : undefined;
        }, timeoutMs);
        return { member: name, kubeconfig: kc };
      }),
    );
  }
}

interface PodList {
  items: {
    metadata: { name: string };
    spec: { containers: { image: string }[]; initContainers?: { image: string }[] };
    status: { conditions?: { type: string; status: string }[] };
  }[];
}
/** Deployments and StatefulSets (the hub's edge) alike: the fields a finished rollout shows. */
interface WorkloadList {
  items: {
    kind: string;
    metadata: { name: string; generation?: number };
    spec: { replicas?: number };
    status: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number; currentRevision?: string; updateRevision?: string };
  }[];
}

/** Why one cluster's kubegate pods are not (yet) all on `images` and ready, or undefined when they are. */
async function notRolledOut(lab: FleetLab, kubeconfig: string, namespace: string, images: ReadonlySet<string>): Promise<string | undefined> {
  const r = await lab.kubectlVia(kubeconfig, ['-n', namespace, 'get', 'deployments,statefulsets,pods', '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get deployments,statefulsets,pods: ${r.stderr.trim()}`);
  const all = (JSON.parse(r.stdout) as { items: Array<{ kind: string }> }).items;
  const workloads = { items: all.filter((i) => i.kind === 'Deployment' || i.kind === 'StatefulSet') } as unknown as WorkloadList;
  const pods = { items: all.filter((i) => i.kind === 'Pod') } as unknown as PodList;
  if (workloads.items.length === 0) return 'no Deployment or StatefulSet';
  for (const d of workloads.items) {
    const want = d.spec.replicas ?? 1;
    const s = d.status;
    const revisionsDiffer = d.kind === 'StatefulSet' && s.currentRevision !== s.updateRevision;
    if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0) || s.updatedReplicas !== want || s.replicas !== want || s.readyReplicas !== want || s.availableReplicas !== want || revisionsDiffer) {
      return `${d.kind.toLowerCase()} ${d.metadata.name} is rolling`;
    }
  }
  for (const p of pods.items) {
    const old = [...p.spec.containers, ...(p.spec.initContainers ?? [])].find((c) => !images.has(c.image));
    if (old) return `pod ${p.metadata.name} runs ${old.image}`;
    if (!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return `pod ${p.metadata.name} is not ready`;
  }
  return undefined;
}

/** Waits until the hub's and every member's kubegate pods all run `images` and are ready. */
export async function waitRolledOut(lab: FleetLab, names: readonly string[], images: FleetImages, timeoutMs = 600_000): Promise<void> {
  const set = new Set(Object.values(images));
  const clusters = [{ name: 'hub', kubeconfig: lab.hub.adminKubeconfigPath }, ...names.map((n) => ({ name: n, kubeconfig: lab.member(n).kubeconfigFile! }))];
  await pollUntil('every kubegate pod to run the new images', async () => {
    for (const c of clusters) {
      const why = await notRolledOut(lab, c.kubeconfig, c.name === 'hub' ? HUB_NAMESPACE : AGENT_NAMESPACE, set);
      if (why) throw new Error(`${c.name}: ${why}`);
    }
    return true;
  }, timeoutMs);
}
