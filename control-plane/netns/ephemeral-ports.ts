/**
 * Ports inside a site that cannot collide with the ones the harness picks for it.
 *
 * The harness chooses a site's listening ports (kube-apiserver, etcd, the in-cluster Envoy's
 * admin port, ...) by asking the host's kernel for free ones, which come from the host's
 * ephemeral range. Inside the site, the same processes make many outgoing connections (the
 * apiserver to etcd, the agent to the apiserver), whose local ports the site's kernel takes
 * from the site's own ephemeral range (net.ipv4.ip_local_port_range is per network namespace,
 * and starts out as the host's). A connection can then hold the very port a component is about
 * to listen on: "Address already in use". Giving the site an ephemeral range disjoint from
 * the host's removes that.
 */

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** The smallest range worth moving to: fewer ports would run a busy site out of connections. */
const MIN_SITE_RANGE = 2000;

/** `net.ipv4.ip_local_port_range` as the kernel prints it ("32768\t60999"). */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  const low = m ? Number(m[1]) : NaN;
  const high = m ? Number(m[2]) : NaN;
  if (!m || !(low >= 1 && low <= high && high <= 65535)) throw new Error(`not a port range: ${JSON.stringify(text)}`);
  return { low, high };
}

/**
 * A range for the site outside the host's: above it if there is room, else below it (never
 * under 1024), else none (the host's range covers nearly everything; the site keeps it).
 */
export function siteEphemeralRange(host: PortRange): PortRange | undefined {
  if (65535 - host.high >= MIN_SITE_RANGE) return { low: host.high + 1, high: 65535 };
  if (host.low - 1 - 1024 >= MIN_SITE_RANGE) return { low: 1024, high: host.low - 1 };
  return undefined;
}
