/**
 * Every way building or running a firewalled site can fail, one class each, with a stable
 * `code` to branch on and a message that says what went wrong and what to do about it.
 */

/** Network namespaces, veth pairs and iptables rules need root. */
export class NotRootError extends Error {
  readonly code = 'ERR_NETNS_NOT_ROOT';
  constructor(readonly euid: number) {
    super(`firewalled sites need root (network namespaces, veth pairs and iptables rules), but this process runs as uid ${euid}; run the tests as root`);
    this.name = 'NotRootError';
  }
}

/** `ip`, `iptables`, `iptables-restore` or their IPv6 twins are not installed. */
export class ToolMissingError extends Error {
  readonly code = 'ERR_NETNS_TOOL_MISSING';
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
    readonly searched: readonly string[],
  ) {
    super(`${tool} is not installed (looked in ${searched.join(':')}): install Debian's ${debianPackage} package (apt-get install -y ${debianPackage}) or run toolchain/install.sh`);
    this.name = 'ToolMissingError';
  }
}

/** The kernel refused to create a network namespace: typically a container without CAP_NET_ADMIN. */
export class NetnsUnsupportedError extends Error {
  readonly code = 'ERR_NETNS_UNSUPPORTED';
  constructor(
    readonly netns: string,
    readonly stderr: string,
  ) {
    super(`cannot create network namespace ${netns}: ${stderr.trim() || 'permission denied'}; this environment lacks CAP_NET_ADMIN/CAP_SYS_ADMIN (a container started without --cap-add NET_ADMIN?), so firewalled sites cannot run here`);
    this.name = 'NetnsUnsupportedError';
  }
}

/** The site's /24 overlaps a route or address the host already has, or its veth name is taken. */
export class SubnetCollisionError extends Error {
  readonly code = 'ERR_NETNS_SUBNET_COLLISION';
  constructor(
    readonly subnet: string,
    readonly conflict: string,
  ) {
    super(`subnet ${subnet} collides with ${conflict}; choose another index, or run cleanupStaleSites() if a crashed run left it behind`);
    this.name = 'SubnetCollisionError';
  }
}

/** Automatic allocation found no /24 in the pool that is free on this host. */
export class NoFreeSubnetError extends Error {
  readonly code = 'ERR_NETNS_NO_FREE_SUBNET';
  constructor(readonly pool: string) {
    super(`no free /24 left in ${pool} for a firewalled site; destroy sites that are no longer needed or run cleanupStaleSites()`);
    this.name = 'NoFreeSubnetError';
  }
}

/** A namespace with this site's name already exists (the same name used twice in one process). */
export class SiteExistsError extends Error {
  readonly code = 'ERR_NETNS_SITE_EXISTS';
  constructor(readonly netns: string) {
    super(`network namespace ${netns} already exists: give each site of one process its own name`);
    this.name = 'SiteExistsError';
  }
}

/** The props describe something the harness will not build. */
export class InvalidSiteConfigError extends Error {
  readonly code = 'ERR_NETNS_INVALID_CONFIG';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`invalid firewalled site ${field}: ${problem}`);
    this.name = 'InvalidSiteConfigError';
  }
}

/** A method was called in the wrong lifecycle state (exec before create(), create() twice). */
export class SiteStateError extends Error {
  readonly code = 'ERR_NETNS_SITE_STATE';
  constructor(
    readonly site: string,
    readonly state: string,
    action: string,
  ) {
    super(`cannot ${action} firewalled site ${site}: it is ${state}`);
    this.name = 'SiteStateError';
  }
}

/** A setup or teardown command (ip, iptables-restore) failed for a reason not covered above. */
export class NetnsCommandError extends Error {
  readonly code = 'ERR_NETNS_COMMAND_FAILED';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed${exitCode === null ? '' : ` with exit code ${exitCode}`}: ${stderr.trim() || '(no output)'}`);
    this.name = 'NetnsCommandError';
  }
}
