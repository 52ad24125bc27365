/**
 * Removing what crashed runs left behind. A run that exits normally tears its sites down
 * itself; one that was SIGKILLed cannot, so its namespaces, veth pairs and host rules stay until
 * this finds them by name and sees that their owner is gone.
 */
import { silentLogger, type Logger } from '../../control-plane/log/logger';
import { assertRoot, resolveNetworkTools, runTool } from './commands';
import { listNamespaces } from './host-network';
import { removeHostRules, removeSite } from './site-removal';
import { isStaleSiteNetns } from './site-netns-name';

/**
 * Removes what crashed runs left behind: namespaces named by this harness whose creating
 * process is gone (with anything still running in them and their veth pair), and host rules
 * tagged for such namespaces. Sites of live processes, this one included, are not touched.
 * Returns the namespaces removed.
 */
export async function cleanupStaleSites(options: { logger?: Logger } = {}): Promise<string[]> {
  const logger = options.logger ?? silentLogger;
  assertRoot();
  const tools = resolveNetworkTools();
  const removed: string[] = [];
  for (const netns of await listNamespaces(tools)) {
    if (!isStaleSiteNetns(netns)) continue;
    // The site end is named after its subnet; its peer on the host has the same stem.
    let hostInterface: string | undefined;
    try {
      const { stdout } = await runTool(tools.ip, ['-n', netns, '-j', 'link', 'show']);
      const site = (JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname).find((n) => /^kg[\d-]+s$/.test(n));
      if (site) hostInterface = site.replace(/s$/, 'h');
    } catch {
      // a namespace half-built by a crash may hold nothing yet
    }
    await removeSite(tools, netns, hostInterface, logger);
    removed.push(netns);
    logger.info('removed stale firewalled site', { netns, hostInterface });
  }
  // Rules whose namespace is already gone.
  await removeHostRules(tools, (netns) => isStaleSiteNetns(netns), logger);
  return removed;
}
