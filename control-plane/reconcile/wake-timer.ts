/**
 * A wake-up at a moment of the control plane's clock (epoch ms): when the next certificate
 * expires, or when an open stream's allowance ends. It only calls `wake`, which marks the
 * configuration dirty; the reconcile loop does the rest. Re-arming keeps the earlier of the two
 * moments unless `reset` says the new one replaces it.
 */

/** setTimeout's ceiling; a later moment is reached by waking early and arming again. */
const MAX_TIMER_MS = 2_147_483_647;
/** Past the moment, so the decision made then sees it has passed. */
const LATE_MS = 5;

export class WakeTimer {
  private timer?: NodeJS.Timeout;
  private at = Number.MAX_SAFE_INTEGER;
  private stopped = false;

  constructor(
    private readonly clock: () => number,
    private readonly wake: () => void,
  ) {}

  /** When it fires next (epoch ms); MAX_SAFE_INTEGER when it is not armed. */
  get armedAt(): number {
    return this.at;
  }

  /** Fires no later than `at`. */
  armBy(at: number): void {
    if (this.stopped || !Number.isFinite(at) || at >= Number.MAX_SAFE_INTEGER || at >= this.at) return;
    this.arm(at);
  }

  /** Fires at `at` and not at the moment armed before; MAX_SAFE_INTEGER disarms. */
  reset(at: number): void {
    this.clear();
    if (this.stopped || !Number.isFinite(at) || at >= Number.MAX_SAFE_INTEGER) return;
    this.arm(at);
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private arm(at: number): void {
    this.clear();
    this.at = at;
    const delay = Math.min(Math.max(at - this.clock(), 0) + LATE_MS, MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.at = Number.MAX_SAFE_INTEGER;
      if (!this.stopped) this.wake();
    }, delay);
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.MAX_SAFE_INTEGER;
  }
}
