/**
 * How long to wait before trying a sink again. Exponential, so a sink that is down is not
 * hammered, with jitter, so many control planes whose sink came back do not all retry in the
 * same instant; bounded, so a recovered sink is found again within maxMs.
 */
export interface BackoffPolicy {
  /** The first retry waits about this long. */
  readonly initialMs: number;
  /** No wait is longer. */
  readonly maxMs: number;
}

/**
 * The wait before retry number `attempt` (0 for the first): between half and all of
 * initialMs * 2^attempt, capped at maxMs ("equal jitter": never 0, so a failing sink is never
 * retried in a tight loop). A server's Retry-After raises the wait up to maxMs.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 52));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  const asked = retryAfterMs !== undefined ? Math.min(retryAfterMs, policy.maxMs) : 0;
  return Math.round(Math.max(jittered, asked));
}
