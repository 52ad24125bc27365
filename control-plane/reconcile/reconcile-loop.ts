/**
 * The one place the edge's configuration is rebuilt from. Store notices, API calls, timers,
 * agent events and certificate issuance only mark it dirty (with a reason, for logs); the loop
 * waits a short hold-off so a burst of changes costs one rebuild, then runs the rebuild, one at
 * a time. A change marked during a rebuild gets a rebuild of its own afterwards.
 *
 * The hold-off is Contour's: each new mark restarts a short wait, but never past a ceiling
 * counted from the first mark, so a steady trickle of changes cannot starve the edge.
 *
 * `sync` is how the API keeps "answered once in force": it resolves once a rebuild that began
 * after the call has finished, so a store write made before the call is in what it published.
 * A caller is waiting, so sync skips the hold-off; what is already marked rides along.
 */
export interface ReconcileLoopProps {
  /** Reads the sources and publishes; the reasons say what marked the state dirty. */
  readonly rebuild: (reasons: ReadonlySet<string>) => Promise<void>;
  /** A rebuild that failed; the waiters of that rebuild are rejected with the same error. */
  readonly onError: (err: Error, reasons: ReadonlySet<string>) => void;
  /** Quiet time after the last mark before rebuilding. @default 10 */
  readonly holdOffMs?: number;
  /** Longest wait after the first mark of a burst. @default 100 */
  readonly maxHoldOffMs?: number;
  /**
   * After a failed rebuild its reasons are marked again and retried after this long, doubling
   * up to 30 s while failures go on: a store that is briefly away must not leave an expired
   * certificate's chain, or a registered cluster, unpublished. @default 500
   */
  readonly retryAfterMs?: number;
}

export class ReconcileLoopStoppedError extends Error {
  readonly code = 'RECONCILE_STOPPED';
  constructor() {
    super('the control plane is stopping: no further configuration is published');
    this.name = 'ReconcileLoopStoppedError';
  }
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export interface ReconcileLoopStats {
  /** Rebuilds run (each may or may not publish a new snapshot). */
  readonly rebuilds: number;
  readonly failures: number;
  /** Marks that joined a pending rebuild instead of causing one. */
  readonly coalesced: number;
}

export class ReconcileLoop {
  private dirty = new Set<string>();
  private waiters: Waiter[] = [];
  private timer?: NodeJS.Timeout;
  private burstStartedAt?: number;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly holdOffMs: number;
  private readonly maxHoldOffMs: number;
  private readonly retryAfterMs: number;
  /** The next retry's delay; back to retryAfterMs after a rebuild succeeds. */
  private retryDelayMs: number;
  private counts = { rebuilds: 0, failures: 0, coalesced: 0 };

  constructor(private readonly props: ReconcileLoopProps) {
    this.holdOffMs = props.holdOffMs ?? 10;
    this.maxHoldOffMs = Math.max(props.maxHoldOffMs ?? 100, this.holdOffMs);
    this.retryAfterMs = props.retryAfterMs ?? 500;
    this.retryDelayMs = this.retryAfterMs;
  }

  get stats(): ReconcileLoopStats {
    return { ...this.counts };
  }

  /** Something the configuration depends on changed: rebuild soon. */
  markDirty(reason: string): void {
    if (this.stopped) return;
    if (this.dirty.size > 0 || this.waiters.length > 0) this.counts.coalesced++;
    this.dirty.add(reason);
    // A caller waiting in sync keeps the rebuild immediate, whatever is marked after it.
    if (!this.running) this.schedule(this.waiters.length > 0 ? 0 : this.holdOffMs);
  }

  /**
   * Marks dirty and resolves once a rebuild that began after this call has finished: at once
   * when none is running, else right after the one that is.
   */
  sync(reason: string): Promise<void> {
    if (this.stopped) return Promise.reject(new ReconcileLoopStoppedError());
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.markDirty(reason);
      if (!this.running) this.schedule(0);
    });
  }

  private schedule(holdOffMs: number): void {
    const now = performance.now();
    this.burstStartedAt ??= now;
    const delay = Math.max(0, Math.min(holdOffMs, this.burstStartedAt + this.maxHoldOffMs - now));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delay);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.burstStartedAt = undefined;
    if (this.stopped || this.running) return;
    const reasons = this.dirty;
    const waiters = this.waiters;
    this.dirty = new Set();
    this.waiters = [];
    let failed = false;
    this.running = (async () => {
      this.counts.rebuilds++;
      try {
        await this.props.rebuild(reasons);
        this.retryDelayMs = this.retryAfterMs;
        for (const w of waiters) w.resolve();
      } catch (err) {
        failed = true;
        this.counts.failures++;
        const error = err instanceof Error ? err : new Error(String(err));
        for (const w of waiters) w.reject(error);
        // What asked for this rebuild still needs one.
        for (const reason of reasons) this.dirty.add(reason);
        try {
          this.props.onError(error, reasons);
        } catch {
          // A failing error report must not stop the loop.
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
    if (this.stopped) this.rejectWaiters();
    else if (this.waiters.length > 0) this.schedule(0);
    else if (failed) this.scheduleRetry();
    else if (this.dirty.size > 0) this.schedule(this.holdOffMs);
  }

  private scheduleRetry(): void {
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
    if (this.timer) clearTimeout(this.timer);
    this.burstStartedAt = undefined;
    this.timer = setTimeout(() => void this.run(), delay);
  }

  /** Publishes nothing more; a rebuild under way finishes first. Pending callers of sync are rejected. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    this.rejectWaiters();
  }

  private rejectWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new ReconcileLoopStoppedError());
  }
}
