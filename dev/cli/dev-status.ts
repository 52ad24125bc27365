/**
 * `kubegate dev status`: whether a local stack runs from the state directory, and where to reach
 * it, in a few lines for people; `-o json` gives scripts everything stack.json holds. It reads
 * that file and checks the process, nothing more: no toolchain, no network.
 */
import type { StackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { isStackProcessAlive, readStackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { formatDuration } from '../../control-plane/api/format-duration';
import { printFields, printJson, type OutputFormat } from '../../control-plane/cli/commands/output';

function clusterList(d: StackDescriptor): string {
  return d.clusters.map((c) => (c.connection ? `${c.name} (${c.connection})` : c.name)).join(', ') || 'none';
}

function summary(stateDir: string, d: StackDescriptor, now: number): void {
  const started = Date.parse(d.startedAt);
  const age = Number.isNaN(started) ? '' : `, up ${formatDuration(Math.max(0, now - started))}`;
  printFields([
    ['stack', `running (pid ${d.pid}${age})`],
    ['state dir', stateDir],
    ['edge', d.edgeUrl],
    ['clusters', clusterList(d)],
    ['admin', `export KUBECONFIG=${d.adminKubeconfig}`],
    ['admin API', d.apiUrl ?? '(not running)'],
    ['access log', d.accessLog],
    ['status', `${d.controlPlaneStatusUrl}/status`],
  ]);
}

/** Exit 0 when a stack runs, 1 when none does (the output says why either way). */
export function status(stateDir: string, format: OutputFormat, now = Date.now()): number {
  let d: StackDescriptor | undefined;
  try {
    d = readStackDescriptor(stateDir);
  } catch {
    d = undefined;
  }
  const running = d !== undefined && isStackProcessAlive(d);
  if (format === 'json') {
    printJson(running ? { running, stateDir, ...d } : { running, stateDir, ...(d ? { stalePid: d.pid } : {}) });
    return running ? 0 : 1;
  }
  if (!d) process.stdout.write(`no local stack runs from ${stateDir}\n`);
  else if (!running) process.stdout.write(`the local stack recorded in ${stateDir} (pid ${d.pid}) is not running\n`);
  else summary(stateDir, d, now);
  return running ? 0 : 1;
}
