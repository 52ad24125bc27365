/**
 * Every way starting or running a child process (etcd, kube-apiserver, Envoy) can fail, one
 * class each, with a stable `code` so callers can branch on it and a message that says what
 * went wrong and what to do about it.
 */

/** A port the cluster needs is already bound by someone else. */
export class PortInUseError extends Error {
  readonly code = 'ERR_PORT_IN_USE';
  constructor(
    readonly port: number,
    readonly component: string,
    readonly host = '127.0.0.1',
  ) {
    super(`${component} cannot use port ${host}:${port}: it is already in use; free it or choose another port`);
    this.name = 'PortInUseError';
  }
}

/** A binary from the toolchain is not where tools.json says it is, or cannot be run. */
export class BinaryMissingError extends Error {
  readonly code = 'ERR_BINARY_MISSING';
  constructor(
    readonly component: string,
    readonly path: string,
    reason = 'does not exist',
  ) {
    super(`${component} binary ${path} ${reason}: run toolchain/install.sh to install the toolchain`);
    this.name = 'BinaryMissingError';
  }
}

/** A managed process ended while it was expected to be running (typically during startup). */
export class ProcessExitedError extends Error {
  readonly code = 'ERR_PROCESS_EXITED';
  constructor(
    readonly component: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly logFile: string,
    readonly logTail: string,
  ) {
    // Neither code nor signal: the operating system never ran it (see the log for why).
    const how = signal ? `was killed by ${signal}` : exitCode === null ? 'could not be started' : `exited with code ${exitCode}`;
    super(`${component} ${how}; log ${logFile}${formatTail(logTail)}`);
    this.name = 'ProcessExitedError';
  }
}

/** A process kept running but did not become ready in time. */
export class ReadinessTimeoutError extends Error {
  readonly code = 'ERR_READINESS_TIMEOUT';
  constructor(
    readonly component: string,
    readonly url: string,
    readonly timeoutMs: number,
    readonly lastProblem: string,
    readonly logFile: string,
    readonly logTail: string,
  ) {
    super(`${component} was not ready at ${url} after ${timeoutMs} ms (last check: ${lastProblem}); log ${logFile}${formatTail(logTail)}`);
    this.name = 'ReadinessTimeoutError';
  }
}

function formatTail(tail: string): string {
  return tail ? `, last lines:\n${tail}` : ' (empty)';
}
