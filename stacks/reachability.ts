/**
 * Why: Pulumi's Kubernetes provider previews a cluster it cannot reach as if nothing were there,
 * so a typo in a kubeconfig or a cluster that is down would show up as a plan to create
 * everything, and then fail halfway through `up`. The program asks every cluster of the stack
 * for its version first, all at once, and stops with the list of those that did not answer.
 */
import { kubeTarget, KubeconfigError } from './kube/kubeconfig-target';
import { clusterVersion, UnreachableError } from './kube/kube-request';
import { FleetConfigError, type FleetConfig, type Kubeconfig } from './fleet-config';

/** Resolves when every cluster answered; throws FleetConfigError naming each that did not. */
export async function checkReachable(config: FleetConfig, timeoutMs = 10_000): Promise<void> {
  const targets: Array<{ key: string; label: string; kubeconfig: Kubeconfig }> = [
    { key: 'kubegate:hub', label: 'the hub cluster', kubeconfig: config.hub.kubeconfig },
    ...config.clusters.map((c, i) => ({ key: `kubegate:clusters[${i}]`, label: `cluster ${c.name}`, kubeconfig: c.kubeconfig })),
  ];
  const problems = (
    await Promise.all(
      targets.map(async ({ key, label, kubeconfig }) => {
        try {
          await clusterVersion(kubeTarget(kubeconfig.text, `${key}'s kubeconfig (${kubeconfig.source})`, kubeconfig.context), label, timeoutMs);
          return undefined;
        } catch (err) {
          if (err instanceof KubeconfigError || err instanceof UnreachableError) return `${key}: ${err.message}`;
          throw err;
        }
      }),
    )
  ).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new FleetConfigError(problems);
}
