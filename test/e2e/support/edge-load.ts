/**
 * Steady load through the edge as one kubeconfig's user (no kubectl process per request), with
 * a sample of something taken while it runs: for the pods' CPU and memory under load.
 */
import { kubeconfigUser, requestAs } from '../../support/kubeconfig-client';

export interface EdgeLoad<T> {
  readonly requests: number;
  readonly failures: number;
  /** What `during` returned, taken half-way through. */
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
  await new Promise((resolve) => setTimeout(resolve, props.durationMs / 2));
  const sampled = await props.during();
  await Promise.all(workers);
  return { requests, failures, sampled };
}
