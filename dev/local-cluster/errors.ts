/**
 * Failures particular to the local cluster harness. Process failures (a port in use, a missing
 * binary, a process that exited or never became ready) are shared with Envoy and live in
 * dev/process/errors.ts; they are re-exported here for the harness's callers.
 */
export { PortInUseError, BinaryMissingError, ProcessExitedError, ReadinessTimeoutError } from '../process/errors';

/** Another running cluster owns the state directory; starting would wipe its etcd data. */
export class StateDirInUseError extends Error {
  readonly code = 'ERR_STATE_DIR_IN_USE';
  constructor(
    readonly stateDir: string,
    readonly ownerPid: number,
  ) {
    super(`state directory ${stateDir} is in use by a local cluster of process ${ownerPid}: stop that cluster or choose another state directory`);
    this.name = 'StateDirInUseError';
  }
}

/** The props passed to startLocalCluster cannot work. */
export class LocalClusterConfigError extends Error {
  readonly code = 'ERR_LOCAL_CLUSTER_CONFIG';
  constructor(message: string) {
    super(`invalid local cluster configuration: ${message}`);
    this.name = 'LocalClusterConfigError';
  }
}

