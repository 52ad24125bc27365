/**
 * Steady load through the edge as one kubeconfig's user (no kubectl process per request), with
 * a sample of something taken while it runs (the pods' CPU and memory under load), or with
 * every answer kept on a timeline while something is done to the hub (a controller killed).
 */
import { kubeconfigUser, requestAs, type SeenRequest } from '../../support/kubeconfig-client';

export interface EdgeLoad<T> {
  readonly requests: number;
  readonly failures: number;
  /** The failures by status (or error code when there was no answer). */
  readonly failuresBy: Readonly<Record<string, number>>;
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
  const failuresBy: Record<string, number> = {};
  const worker = async () => {
    while (Date.now() < until) {
      const r = await requestAs(user, props.path);
      requests++;
      if (r.status !== 200) {
        failures++;
        failuresBy[String(r.status)] = (failuresBy[String(r.status)] ?? 0) + 1;
      }
    }
  };
  const workers = Array.from({ length: props.concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, (props.durationMs * 3) / 4));
  const sampled = await props.during();
  await Promise.all(workers);
  return { requests, failures, failuresBy, sampled };
}

/** One answer of a timed load: when it was sent (ms since the load started) and what came back. */
export interface TimedAnswer extends SeenRequest {
  readonly sentAtMs: number;
}

/** Load for durationMs; `action` runs atMs into it. Every answer, in the order they came. */
export async function loadWithTimeline(props: { kubeconfig: string; path: string; concurrency: number; durationMs: number; atMs: number; action: () => Promise<void> }): Promise<TimedAnswer[]> {
  const user = kubeconfigUser(props.kubeconfig);
  const start = Date.now();
  const answers: TimedAnswer[] = [];
  const worker = async () => {
    while (Date.now() - start < props.durationMs) {
      const sentAtMs = Date.now() - start;
      answers.push({ ...(await requestAs(user, props.path)), sentAtMs });
    }
  };
  const workers = Array.from({ length: props.concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, props.atMs));
  await props.action();
  await Promise.all(workers);
  return answers;
}
