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
import type { PortRange } from '../process/ephemeral-port-range';

export { parsePortRange, type PortRange } from '../process/ephemeral-port-range';

/** The smallest range worth moving to: fewer ports would run a busy site out of connections. */
const MIN_SITE_RANGE = 2000;

/**
 * A range for the site above the host's, or none when there is no room (the site then keeps
 * the host's). Not below it: that is where free-port.ts picks servers' ports.
 */
export function siteEphemeralRange(host: PortRange): PortRange | undefined {
  if (65535 - host.high >= MIN_SITE_RANGE) return { low: host.high + 1, high: 65535 };
  return undefined;
}
