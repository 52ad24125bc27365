/**
 * The reconcile loop: marks only make the state dirty; a burst of them costs one rebuild after
 * the hold-off, a steady trickle is not starved past the ceiling, rebuilds never overlap, and
 * `sync` resolves only after a rebuild that began after it was called. Fake timers, so every
 * timing here is exact.
 */
import { ReconcileLoop, ReconcileLoopStoppedError } from '../../control-plane/reconcile/reconcile-loop';

interface Recorder {
  loop: ReconcileLoop;
  rebuilds: Array<string[]>;
  errors: string[];
  /** Makes the next rebuild wait until release() is called. */
  hold(): void;
  release(): void;
  failNext(message: string): void;
  concurrent: number;
}

function recorder(holdOffMs = 10, maxHoldOffMs = 50): Recorder {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let failure: string | undefined;
  let running = 0;
  const r: Recorder = {
    rebuilds: [],
    errors: [],
    concurrent: 0,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      open?.();
      gate = undefined;
    },
    failNext(message) {
      failure = message;
    },
    loop: new ReconcileLoop({
      holdOffMs,
      maxHoldOffMs,
      rebuild: async (reasons) => {
        running++;
        r.concurrent = Math.max(r.concurrent, running);
        try {
          r.rebuilds.push([...reasons].sort());
          if (gate) await gate;
          if (failure) {
            const message = failure;
            failure = undefined;
            throw new Error(message);
          }
        } finally {
          running--;
        }
      },
      onError: (err) => r.errors.push(err.message),
    }),
  };
  return r;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a burst of marks is one rebuild, after the hold-off, with every reason', async () => {
  const r = recorder();
  r.loop.markDirty('store');
  await jest.advanceTimersByTimeAsync(5);
  r.loop.markDirty('clusters');
  r.loop.markDirty('store');
  await jest.advanceTimersByTimeAsync(9);
  expect(r.rebuilds).toEqual([]);
  await jest.advanceTimersByTimeAsync(1);
  expect(r.rebuilds).toEqual([['clusters', 'store']]);
  expect(r.loop.stats).toEqual({ rebuilds: 1, failures: 0, coalesced: 2 });
});

test('a steady trickle of marks is rebuilt by the ceiling, not starved', async () => {
  const r = recorder(10, 50);
  for (let t = 0; t < 100; t += 5) {
    r.loop.markDirty(`m${t}`);
    await jest.advanceTimersByTimeAsync(5);
  }
  // Marks every 5 ms never leave 10 ms of quiet; the 50 ms ceiling rebuilds anyway.
  expect(r.rebuilds.length).toBeGreaterThanOrEqual(2);
  expect(r.rebuilds[0]).toContain('m0');
});

test('a mark during a rebuild gets a rebuild of its own afterwards; rebuilds never overlap', async () => {
  const r = recorder();
  r.hold();
  r.loop.markDirty('first');
  await jest.advanceTimersByTimeAsync(10);
  expect(r.rebuilds).toEqual([['first']]);
  r.loop.markDirty('second');
  await jest.advanceTimersByTimeAsync(100);
  expect(r.rebuilds).toHaveLength(1);
  r.release();
  await jest.advanceTimersByTimeAsync(10);
  expect(r.rebuilds).toEqual([['first'], ['second']]);
  expect(r.concurrent).toBe(1);
});

test('sync resolves after a rebuild that began after the call, not one already running', async () => {
  const r = recorder();
  r.hold();
  r.loop.markDirty('store');
  await jest.advanceTimersByTimeAsync(10);
  let synced = false;
  const done = r.loop.sync('api').then(() => (synced = true));
  r.release();
  r.hold();
  await jest.advanceTimersByTimeAsync(0);
  // The next rebuild started at once (a caller waits) and is still running.
  expect(r.rebuilds).toEqual([['store'], ['api']]);
  expect(synced).toBe(false);
  r.release();
  await done;
  expect(synced).toBe(true);
});

test('sync skips the hold-off, and what was marked before rides along', async () => {
  const r = recorder();
  r.loop.markDirty('store');
  const done = r.loop.sync('api');
  await jest.advanceTimersByTimeAsync(0);
  await done;
  expect(r.rebuilds).toEqual([['api', 'store']]);
});

test("a failed rebuild rejects that rebuild's callers, is reported, and the loop carries on", async () => {
  const r = recorder();
  r.failNext('store unavailable');
  const failed = r.loop.sync('api');
  const caught = failed.catch((err: Error) => err.message);
  await jest.advanceTimersByTimeAsync(10);
  expect(await caught).toBe('store unavailable');
  expect(r.errors).toEqual(['store unavailable']);
  const next = r.loop.sync('api');
  await jest.advanceTimersByTimeAsync(10);
  await expect(next).resolves.toBeUndefined();
  expect(r.loop.stats).toMatchObject({ rebuilds: 2, failures: 1 });
});

test('a failed rebuild is tried again with its reasons, backing off, until it succeeds', async () => {
  const r = recorder();
  r.failNext('store unavailable');
  r.loop.markDirty('certificate-expired');
  await jest.advanceTimersByTimeAsync(10);
  expect(r.rebuilds).toEqual([['certificate-expired']]);
  r.failNext('store unavailable');
  await jest.advanceTimersByTimeAsync(499);
  expect(r.rebuilds).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(r.rebuilds).toEqual([['certificate-expired'], ['certificate-expired']]);
  // The second failure doubles the wait.
  await jest.advanceTimersByTimeAsync(999);
  expect(r.rebuilds).toHaveLength(2);
  await jest.advanceTimersByTimeAsync(1);
  expect(r.rebuilds).toHaveLength(3);
  expect(r.errors).toEqual(['store unavailable', 'store unavailable']);
  // Succeeded: nothing more runs.
  await jest.advanceTimersByTimeAsync(60_000);
  expect(r.rebuilds).toHaveLength(3);
});

test('an error report that throws does not stop the loop', async () => {
  let rebuilds = 0;
  const loop = new ReconcileLoop({
    rebuild: async () => {
      rebuilds++;
      if (rebuilds === 1) throw 'not an Error';
    },
    onError: () => {
      throw new Error('reporting failed');
    },
  });
  const first = loop.sync('api').catch((err: Error) => err.message);
  await jest.advanceTimersByTimeAsync(0);
  expect(await first).toBe('not an Error');
  const second = loop.sync('api');
  await jest.advanceTimersByTimeAsync(0);
  await expect(second).resolves.toBeUndefined();
  expect(rebuilds).toBe(2);
});

test('a mark arriving while a caller waits does not delay that caller by the hold-off', async () => {
  const r = recorder();
  const done = r.loop.sync('api');
  r.loop.markDirty('store');
  await jest.advanceTimersByTimeAsync(0);
  await done;
  expect(r.rebuilds).toEqual([['api', 'store']]);
});

test('stop: a pending caller is told, later marks are ignored, a sync after it fails at once', async () => {
  const r = recorder();
  const pending = r.loop.sync('api');
  const outcome = pending.catch((err: Error) => err);
  await r.loop.stop();
  expect(await outcome).toBeInstanceOf(ReconcileLoopStoppedError);
  r.loop.markDirty('store');
  await jest.advanceTimersByTimeAsync(100);
  expect(r.rebuilds).toEqual([]);
  await expect(r.loop.sync('api')).rejects.toMatchObject({ code: 'RECONCILE_STOPPED' });
});

test('stop waits for the rebuild under way and rejects callers waiting for the next one', async () => {
  const r = recorder();
  r.hold();
  r.loop.markDirty('store');
  await jest.advanceTimersByTimeAsync(10);
  const next = r.loop.sync('api').catch((err: Error) => err);
  const stopped = r.loop.stop();
  r.release();
  await stopped;
  expect(await next).toBeInstanceOf(ReconcileLoopStoppedError);
  expect(r.rebuilds).toEqual([['store']]);
});
