/**
 * Steady load through the edge as one kubeconfig's user (no kubectl process per request), with
 * a sample of something taken while it runs: for the pods' CPU and memory under load.
 */
import { kubeconfigUser, requestAs } from '../../support/kubeconfig-client';

export interface EdgeLoad<T> {
  readonly requests: number;
  readonly failures: number;
  /**
   * What `during` returned, taken three quarters of the way through: the kubelet's figures
   * are averaged over its last housekeeping period (about 10 s), so earlier they still show idle.
   */
  readonly sampled: T;
}

export async function loadAgainstEdge<T>(props: { kubeconfig: string; path: string; concurrency: number; durationMs: number; during: () => Promise<T> }): Promise<EdgeLoad<T>> {
  const user = kubeconfigUser(props.kubeconfig);
  const until = Date.now() + props.durationMs;
  let requests = 0;
  let failures = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const r = await requestAs(user, props.path);
      requests++;
      if (r.status !== 200) failures++;
    }
  };
  const workers = Array.from({ length: props.concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, (props.durationMs * 3) / 4));
  const sampled = await props.during();
  await Promise.all(workers);
  return { requests, failures, sampled };
}
