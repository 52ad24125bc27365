/**
 * `kubegate dev up --detach` waits here for the stack it started in the background, saying every
 * few seconds how long it has been waiting. Why its own file: the progress line once counted
 * down from a deadline computed wrongly and printed "still starting (-50 s)"; elapsed time measured
 * from the start of the wait cannot go negative, and this is small enough to test on its own.
 */
import { formatDuration } from '../../control-plane/api/format-duration';

export interface StartupWaitProps<T> {
  /** The stack's description once it is ready, else undefined. */
  readonly ready: () => T | undefined;
  /** Why the stack will never be ready (its process exited), else undefined. */
  readonly failed: () => Error | undefined;
  /** How long to wait in all before giving up. */
  readonly timeoutMs: number;
  /** Where progress lines go. */
  readonly report: (line: string) => void;
  /** @default 10000 */
  readonly reportEveryMs?: number;
  /** @default 250 */
  readonly pollMs?: number;
}

export class StartupTimeoutError extends Error {
  readonly code = 'ERR_STARTUP_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`not ready after ${formatDuration(timeoutMs)}`);
    this.name = 'StartupTimeoutError';
  }
}

/** "still starting (40 s so far, giving up after 240 s)...": time since the wait began, never negative. */
export function progressLine(elapsedMs: number, timeoutMs: number): string {
  return `still starting (${Math.max(0, Math.floor(elapsedMs / 1000))} s so far, giving up after ${Math.round(timeoutMs / 1000)} s)...`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until ready (its value), failed (throws that error) or out of time (StartupTimeoutError). */
export async function waitForStartup<T>(props: StartupWaitProps<T>): Promise<T> {
  const started = Date.now();
  const reportEveryMs = props.reportEveryMs ?? 10_000;
  let nextReport = started + reportEveryMs;
  for (;;) {
    const error = props.failed();
    if (error) throw error;
    const value = props.ready();
    if (value !== undefined) return value;
    const now = Date.now();
    if (now - started >= props.timeoutMs) throw new StartupTimeoutError(props.timeoutMs);
    if (now >= nextReport) {
      props.report(progressLine(now - started, props.timeoutMs));
      nextReport = now + reportEveryMs;
    }
    await sleep(props.pollMs ?? 250);
  }
}
