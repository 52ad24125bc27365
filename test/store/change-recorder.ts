/**
 * Records what a store's `watch` reports, and lets a test wait for a particular change. Waiting
 * has no deadline of its own: if the change never comes, jest's test timeout fails the test,
 * so nothing here depends on how fast a machine is.
 */
import type { Store, StoreChange } from '../../control-plane/store/store';

export interface ChangeRecorder {
  /** Every change reported so far, in order. */
  readonly changes: StoreChange[];
  /**
   * The first matching change, already recorded or still to come; with `from`, only changes
   * recorded at that index or later count (pass `changes.length` to wait for a new one).
   */
  waitFor(match: (change: StoreChange) => boolean, from?: number): Promise<StoreChange>;
  stop(): void;
}

export function recordChanges(store: Store): ChangeRecorder {
  const changes: StoreChange[] = [];
  const waiters: { match: (c: StoreChange) => boolean; resolve: (c: StoreChange) => void }[] = [];
  const stop = store.watch((change) => {
    changes.push(change);
    for (const w of [...waiters]) {
      if (w.match(change)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(change);
      }
    }
  });
  return {
    changes,
    stop,
    waitFor(match, from = 0) {
      const seen = changes.slice(from).find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
