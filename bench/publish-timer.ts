/**
 * Why: a benchmark round is charged with the control plane's pushes made during it, whatever
 * caused them; the control plane only keeps running totals, so this takes differences of them.
 */

/**
 * Times every push the control plane makes (its reconcile loop's publish: desired state,
 * translate, snapshot, consistency check, validation and encoding), however it was caused.
 */
export class PublishTimer {
  private last: { count: number; ms: number; cpuMs: number };

  constructor(private readonly cp: { readonly publishStats: { readonly count: number; readonly ms: number; readonly cpuMs: number } }) {
    this.last = { ...cp.publishStats };
  }

  /**
   * The pushes since the last call, summed: wall time, and CPU time (a push is synchronous, so
   * this is what it cost, however busy the machine was).
   */
  take(): { count: number; ms: number; cpuMs: number } {
    const now = { ...this.cp.publishStats };
    const taken = { count: now.count - this.last.count, ms: now.ms - this.last.ms, cpuMs: now.cpuMs - this.last.cpuMs };
    this.last = now;
    return taken;
  }
}
