/**
 * Every way joining a real node to a local cluster, or taking it away again, can fail: one class
 * each, with a stable `code` to branch on and a message that names the problem. Process
 * failures (a binary missing, a process that exited or never became ready) are dev/process's
 * errors; failing `ip`/`iptables` commands are dev/netns's NetnsCommandError.
 */

/** The props given to RealNode.join() cannot work (a bad name, a cluster without a scheduler, ...). */
export class RealNodeConfigError extends Error {
  readonly code = 'ERR_REAL_NODE_CONFIG';
  constructor(message: string) {
    super(`invalid real node configuration: ${message}`);
    this.name = 'RealNodeConfigError';
  }
}

/** Real nodes need root: they create network namespaces, cgroups and mounts. */
export class RealNodeNotRootError extends Error {
  readonly code = 'ERR_REAL_NODE_NOT_ROOT';
  constructor(readonly euid: number) {
    super(`a real node needs root (network namespace, cgroups, mounts), but this process runs as uid ${euid}`);
    this.name = 'RealNodeNotRootError';
  }
}

/** Every /24 of the node pool is taken (by other nodes, sites or host routes). */
export class NoFreeNodeSubnetError extends Error {
  readonly code = 'ERR_REAL_NODE_NO_FREE_SUBNET';
  constructor(readonly pool: string) {
    super(`no free /24 for a real node's link in ${pool}: stop other nodes or remove routes that overlap it`);
    this.name = 'NoFreeNodeSubnetError';
  }
}

/** A command the node runs on the host (ctr, mount, umount, crane) failed. */
export class NodeCommandError extends Error {
  readonly code = 'ERR_REAL_NODE_COMMAND_FAILED';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed${exitCode === null ? '' : ` with exit code ${exitCode}`}: ${stderr.trim().slice(0, 2000) || '(no output)'}`);
    this.name = 'NodeCommandError';
  }
}

/** stop() finished but left something of the node on the host (a mount, a process, a cgroup). */
export class NodeLeftoversError extends Error {
  readonly code = 'ERR_REAL_NODE_LEFTOVERS';
  constructor(
    readonly node: string,
    readonly leftovers: readonly string[],
  ) {
    super(`stopping node ${node} left ${leftovers.length} thing(s) behind on the host: ${leftovers.join('; ')}`);
    this.name = 'NodeLeftoversError';
  }
}
