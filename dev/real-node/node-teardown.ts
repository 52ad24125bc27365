/**
 * Taking a real node's containers and mounts apart once the kubelet has stopped: containerd is
 * asked to kill and delete every task and container it still has (which unmounts their root
 * filesystems and ends their shims); then, once containerd is gone too, whatever is still
 * mounted under the node's directory (pod volumes, sandbox /dev/shm, pod network namespaces,
 * overlay snapshots) is unmounted, deepest first. Every step tolerates finding nothing.
 */
import * as fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../../control-plane/log/logger';
import { ctr } from './containerd';

const run = promisify(execFile);

/** Kills and deletes every task, then deletes every container, in containerd's Kubernetes namespace. */
export async function removeAllContainers(ctrBinary: string, socket: string, logger: Logger): Promise<void> {
  if (!fs.existsSync(socket)) return;
  const list = async (what: 'tasks' | 'containers') => (await ctr(ctrBinary, socket, [what, 'ls', '-q']).catch(() => '')).split('\n').map((l) => l.trim()).filter(Boolean);
  const tasks = await list('tasks');
  for (const id of tasks) await ctr(ctrBinary, socket, ['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => undefined);
  for (const id of tasks) await ctr(ctrBinary, socket, ['tasks', 'delete', '--force', id]).catch((err: unknown) => logger.warn('ctr tasks delete failed', { id, error: err }));
  for (const id of await list('containers')) await ctr(ctrBinary, socket, ['containers', 'delete', id]).catch((err: unknown) => logger.warn('ctr containers delete failed', { id, error: err }));
  if (tasks.length > 0) logger.info('containers removed through containerd', { tasks: tasks.length });
}

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length || (a < b ? 1 : -1));
}

/** Unmounts everything under `dir`; a busy mount is detached lazily. Returns what stayed mounted. */
export async function unmountAllUnder(dir: string, logger: Logger): Promise<string[]> {
  // A mount can be stacked several times on one point: go round until nothing is left.
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return [];
    for (const point of points) {
      try {
        await run('umount', [point]);
      } catch {
        await run('umount', ['-l', point]).catch((err: unknown) => logger.warn('umount failed', { mount: point, error: err }));
      }
    }
    logger.info('mounts under the node directory removed', { count: points.length });
  }
  return mountsUnder(dir);
}

/** Pids of live processes whose command line names something under the directory `text` (shims name containerd's socket, relays their socket files). */
export function processesNaming(text: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${text}/`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
