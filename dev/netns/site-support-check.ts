/**
 * Whether this machine can run firewalled sites at all, found out by trying, so that test
 * suites and the dev stack fail early with the specific reason (not root, a tool missing,
 * namespaces or iptables not permitted) instead of halfway through building a site.
 */
import { assertRoot, resolveNetworkTools, runTool } from './commands';
import { siteIPv4Rules, siteIPv6Rules } from './firewall-rules';
import { addNamespace } from './host-network';
import { NETNS_PREFIX, ownerTag } from './site-netns-name';

/**
 * Proves this machine can run firewalled sites: root, the tools, a namespace can be created,
 * and iptables works inside it. Throws the specific error otherwise. Leaves nothing behind.
 */
export async function checkFirewalledSiteSupport(): Promise<void> {
  assertRoot();
  const tools = resolveNetworkTools();
  const netns = `${NETNS_PREFIX}probe-${ownerTag()}`;
  await addNamespace(tools, netns);
  try {
    await runTool(tools.ip, ['netns', 'exec', netns, tools.iptablesRestore], siteIPv4Rules([]));
    await runTool(tools.ip, ['netns', 'exec', netns, tools.ip6tablesRestore], siteIPv6Rules());
  } finally {
    await runTool(tools.ip, ['netns', 'del', netns]);
  }
}
