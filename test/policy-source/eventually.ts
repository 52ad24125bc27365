/**
 * Waits for something the watcher does in the background (an fs.watch event, a poll) by
 * retrying an assertion, instead of sleeping for a guessed time. The bound is generous and only
 * there so that a failure shows the last assertion's message instead of jest's timeout, and so
 * that no retry loop outlives its test.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
    }
  }
}
