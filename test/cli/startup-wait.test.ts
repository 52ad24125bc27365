/**
 * `kubegate dev up --detach` waiting for its background stack: the progress it prints is the time
 * since it began waiting (a cold start once printed "still starting (-50 s)"), and it ends on
 * ready, on the stack's exit, or at its limit, each told apart.
 */
import { progressLine, StartupTimeoutError, waitForStartup } from '../../dev/cli/startup-wait';

const seconds = (line: string) => Number(/^still starting \((\d+) s so far, giving up after \d+ s\)\.\.\.$/.exec(line)?.[1]);

describe('progressLine', () => {
  test.each([
    [0, 'still starting (0 s so far, giving up after 240 s)...'],
    [9_999, 'still starting (9 s so far, giving up after 240 s)...'],
    [50_000, 'still starting (50 s so far, giving up after 240 s)...'],
  ])('%i ms into a 240 s wait', (elapsed, line) => {
    expect(progressLine(elapsed, 240_000)).toBe(line);
  });

  test('a clock that steps back still reads 0 s, never a negative time', () => {
    expect(progressLine(-50_000, 240_000)).toBe('still starting (0 s so far, giving up after 240 s)...');
  });
});

describe('waitForStartup', () => {
  test('reports elapsed time that never goes down, and returns what ready() gave', async () => {
    const lines: string[] = [];
    let polls = 0;
    const value = await waitForStartup({
      timeoutMs: 60_000,
      reportEveryMs: 1,
      pollMs: 2,
      report: (line) => lines.push(line),
      failed: () => undefined,
      ready: () => (++polls >= 20 ? { pid: 42 } : undefined),
    });
    expect(value).toEqual({ pid: 42 });
    expect(lines.length).toBeGreaterThan(0);
    const times = lines.map(seconds);
    expect(times.every((s) => Number.isInteger(s) && s >= 0)).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test("the stack's exit ends the wait with its error", async () => {
    const exited = new Error('the local stack exited during startup');
    let polls = 0;
    await expect(
      waitForStartup({ timeoutMs: 60_000, pollMs: 1, report: () => undefined, failed: () => (++polls > 3 ? exited : undefined), ready: () => undefined }),
    ).rejects.toBe(exited);
  });

  test('out of time: a StartupTimeoutError naming the limit', async () => {
    const err = await waitForStartup({ timeoutMs: 20, pollMs: 1, report: () => undefined, failed: () => undefined, ready: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupTimeoutError);
    expect((err as Error).message).toBe('not ready after 20ms');
  });
});
