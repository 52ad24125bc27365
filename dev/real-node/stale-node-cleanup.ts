/**
 * Undoing what crashed runs left behind. A run that exits normally takes its nodes apart
 * itself; one that was SIGKILLed cannot, so its kubelet's sysctls, its pods' mounts, its
 * cgroups and its network namespace stay until this finds the run's node records
 * (node-records.ts) and sees that their owner is gone. RealNode.join() runs it before the first
 * node of a process records the host's state, so a crashed run's changes are never taken for
 * the machine's own.
 */
import { silentLogger, type Logger } from '../../control-plane/log/logger';
import { resolveNetworkTools, runTool } from '../netns/commands';
import { linkExists, namespaceExists } from '../netns/host-network';
import { restoreHostState } from './host-changes';
import { processesInCgroupRoot, removeCgroupRoot } from './node-cgroups';
import { processesInNode } from './node-network';
import { isStale, readNodeRecords, removeNodeRecord, type NodeRecord } from './node-records';
import { processesNaming, unmountAllUnder } from './node-teardown';

/** Removes every node of a dead process; returns `<owner>/<node>` of each one removed. */
export async function cleanupStaleNodes(options: { logger?: Logger } = {}): Promise<string[]> {
  const logger = options.logger ?? silentLogger;
  const records = readNodeRecords();
  const stale = records.filter(isStale);
  if (stale.length === 0) return [];
  const tools = resolveNetworkTools();
  for (const record of stale) {
    logger.warn('removing a real node a dead process left behind', { node: record.node, owner: record.owner, stateDir: record.stateDir });
    await killAll(record, tools);
    await unmountAllUnder(record.stateDir, logger);
    if (record.cgroupRoot) removeCgroupRoot(record.cgroupRoot);
    if (record.hostInterface && (await linkExists(tools, record.hostInterface))) await runTool(tools.ip, ['link', 'del', 'dev', record.hostInterface]);
    if (record.netns && (await namespaceExists(tools, record.netns))) await runTool(tools.ip, ['netns', 'del', record.netns]);
  }
  // The host's state from before those runs is put back only when no live node needs it changed.
  const live = records.filter((r) => !isStale(r));
  if (live.length === 0) restoreHostState({ sysctls: stale[0]!.sysctlsBefore, dirs: stale[0]!.dirsBefore }, logger);
  for (const record of stale) removeNodeRecord(record);
  return stale.map((r) => `${r.owner}/${r.node}`);
}

async function killAll(record: NodeRecord, tools: ReturnType<typeof resolveNetworkTools>): Promise<void> {
  // Those inside the node, and those on the host that name its directory (the host end of the relay).
  const find = async () => [...new Set([...(record.netns ? await processesInNode({ tools, netns: record.netns }) : []), ...(record.cgroupRoot ? processesInCgroupRoot(record.cgroupRoot) : []), ...processesNaming(record.stateDir)])];
  const deadline = Date.now() + 10_000;
  for (let pids = await find(); pids.length > 0 && Date.now() < deadline; pids = await find()) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

