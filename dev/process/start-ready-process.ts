import { ManagedProcess, type ManagedProcessProps } from './managed-process';
import { waitForReady, type ReadinessCheck } from './wait-for-ready';

export interface Readiness {
  /** What is polled, for error messages. */
  readonly url: string;
  readonly check: ReadinessCheck;
  readonly timeoutMs: number;
}

/**
 * Starts a process and resolves once its readiness check passes. If it never does (or the
 * process dies first), the process is stopped before the error is rethrown, so a failed start
 * leaves nothing running.
 */
export async function startReadyProcess(props: ManagedProcessProps, readiness: Readiness): Promise<ManagedProcess> {
  const proc = ManagedProcess.start(props);
  try {
    await waitForReady({ process: proc, ...readiness });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}
