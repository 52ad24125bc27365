/**
 * Taking a site apart: the processes left inside its namespace, the host's FORWARD rules tagged
 * for it, its veth pair and the namespace, each step tolerating a concurrent cleanup that got
 * there first. Shared by FirewalledSite.destroy() and the cleanup of crashed runs.
 */
import type { Logger } from '../../control-plane/log/logger';
import { formatCommand, runTool, type NetworkTools } from './commands';
import { taggedHostRules } from './firewall-rules';
import { linkExists, namespaceExists } from './host-network';

/** Stops every process still inside the namespace: SIGTERM, then SIGKILL after 3 s. */
async function killNamespaceProcesses(tools: NetworkTools, netns: string, logger: Logger): Promise<void> {
  const pidsInside = async (): Promise<number[]> => {
    try {
      const { stdout } = await runTool(tools.ip, ['netns', 'pids', netns]);
      return stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== process.pid);
    } catch {
      return [];
    }
  };
  let pids = await pidsInside();
  for (const [signal, waitMs] of [['SIGTERM', 3000], ['SIGKILL', 3000]] as const) {
    if (pids.length === 0) return;
    logger.info('stopping processes left in the site', { netns, pids, signal });
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      pids = await pidsInside();
      if (pids.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  if (pids.length > 0) logger.warn('processes survived SIGKILL in the site', { netns, pids });
}

export async function removeHostRules(tools: NetworkTools, shouldRemove: (netns: string) => boolean, logger: Logger): Promise<void> {
  for (const iptables of [tools.iptables, tools.ip6tables]) {
    const { stdout } = await runTool(iptables, ['-w', '-S', 'FORWARD']);
    for (const rule of taggedHostRules(stdout)) {
      if (!shouldRemove(rule.netns)) continue;
      try {
        await runTool(iptables, ['-w', ...rule.deleteArgs]);
      } catch (err) {
        // Someone else (a concurrent cleanupStaleSites) may have removed it first.
        const still = taggedHostRules((await runTool(iptables, ['-w', '-S', 'FORWARD'])).stdout).some((r) => r.deleteArgs.join(' ') === rule.deleteArgs.join(' '));
        if (still) throw err;
      }
      logger.debug('host rule removed', { command: formatCommand(iptables, rule.deleteArgs) });
    }
  }
}

/** Processes, host rules, veth pair, namespace: each step tolerates finding nothing to remove. */
export async function removeSite(tools: NetworkTools, netns: string, hostInterface: string | undefined, logger: Logger): Promise<void> {
  const exists = await namespaceExists(tools, netns);
  if (exists) await killNamespaceProcesses(tools, netns, logger);
  await removeHostRules(tools, (n) => n === netns, logger);
  // Deleting one end of a veth pair deletes both, at once (deleting the namespace alone would
  // leave it to the kernel's asynchronous namespace cleanup).
  // Each removal tolerates losing a race to a concurrent cleanup: it fails only if the thing is still there.
  if (hostInterface && (await linkExists(tools, hostInterface))) {
    await runTool(tools.ip, ['link', 'del', 'dev', hostInterface]).catch(async (err: unknown) => {
      if (await linkExists(tools, hostInterface)) throw err;
    });
  }
  if (exists) {
    await runTool(tools.ip, ['netns', 'del', netns]).catch(async (err: unknown) => {
      if (await namespaceExists(tools, netns)) throw err;
    });
  }
}
