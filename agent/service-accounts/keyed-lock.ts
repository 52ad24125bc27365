/**
 * Runs operations on the same key one after another, and operations on different keys side by
 * side. The ServiceAccountManager keys by ServiceAccount name so that, within one agent, an
 * ensure() and a removal for the same user never interleave (a removal between "SA exists" and
 * "create bindings" would otherwise leave bindings behind). Across agent replicas the
 * apiserver's AlreadyExists/NotFound/Conflict answers do that job.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // Run after the previous holder whatever its outcome; its failure is its caller's to see.
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // Forget the key once nobody is queued behind us, so the map does not grow with every user.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** How many keys have an operation running or queued. */
  get size(): number {
    return this.tails.size;
  }
}
