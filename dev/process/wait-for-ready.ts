/**
 * Polls a readiness check while watching the process it is about: a process that dies fails
 * the wait at once with its exit and log tail, rather than after the whole timeout.
 */
import { ReadinessTimeoutError } from './errors';
import { readLogTail } from './log-tail';
import type { ManagedProcess } from './managed-process';

/** Resolves null when ready, otherwise a short description of what is not ready yet. */
export type ReadinessCheck = () => Promise<string | null>;

export interface WaitForReadyProps {
  readonly process: ManagedProcess;
  /** What is being polled, for the error message. */
  readonly url: string;
  readonly check: ReadinessCheck;
  readonly timeoutMs: number;
  /** @default 250 */
  readonly intervalMs?: number;
}

/** A pause that ends early when the process exits, leaving no timer behind either way. */
function pause(ms: number, exited: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([slept, exited.then(() => undefined)]).finally(() => clearTimeout(timer));
}

export async function waitForReady(props: WaitForReadyProps): Promise<void> {
  const { process: proc } = props;
  const deadline = Date.now() + props.timeoutMs;
  const exited = proc.exited.then(() => 'exited' as const);
  let lastProblem = 'no check completed';
  for (;;) {
    if (proc.exit) throw proc.exitedError();
    const outcome = await Promise.race([
      props.check().then(
        (problem) => ({ problem }),
        (err: unknown) => ({ problem: err instanceof Error ? err.message : String(err) }),
      ),
      exited,
    ]);
    if (outcome === 'exited') throw proc.exitedError();
    if (outcome.problem === null) return;
    lastProblem = outcome.problem;
    if (Date.now() >= deadline) {
      throw new ReadinessTimeoutError(proc.component, props.url, props.timeoutMs, lastProblem, proc.logFile, readLogTail(proc.logFile));
    }
    await pause(Math.min(props.intervalMs ?? 250, Math.max(0, deadline - Date.now())), exited);
  }
}
