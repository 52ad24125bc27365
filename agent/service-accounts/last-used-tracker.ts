/**
 * In-memory record of when each user last used their ServiceAccount.
 *
 * Every proxied request is a use, but writing the kubegate.io/last-used annotation on each one
 * would turn read traffic into apiserver writes. Uses are recorded here instead, and written
 * out in batches by ServiceAccountManager.flushLastUsed() only when the recorded use is newer
 * than the annotation by more than a throttle interval; idle removal then looks at both.
 */
export class LastUsedTracker {
  /** user -> latest use seen by this process (ms since the epoch). */
  private readonly touched = new Map<string, number>();
  /** user -> the annotation value last read from or written to the cluster. */
  private readonly annotated = new Map<string, number>();

  /** Records a use; an older use than one already recorded changes nothing. */
  touch(user: string, at: number): void {
    const previous = this.touched.get(user);
    if (previous === undefined || at > previous) this.touched.set(user, at);
  }

  lastTouch(user: string): number | undefined {
    return this.touched.get(user);
  }

  /** Remembers what the cluster's annotation says, so flushes need not read it again. */
  noteAnnotation(user: string, at: number | undefined): void {
    if (at === undefined) return;
    const previous = this.annotated.get(user);
    if (previous === undefined || at > previous) this.annotated.set(user, at);
  }

  /** Users whose recorded use is more than `throttleMs` newer than the annotation we know of. */
  due(throttleMs: number): { readonly user: string; readonly at: number }[] {
    const due: { user: string; at: number }[] = [];
    for (const [user, at] of this.touched) {
      const annotated = this.annotated.get(user);
      if (annotated === undefined || at - annotated > throttleMs) due.push({ user, at });
    }
    return due;
  }

  /** Drops everything about `user`, e.g. once their ServiceAccount is removed. */
  forget(user: string): void {
    this.touched.delete(user);
    this.annotated.delete(user);
  }
}
