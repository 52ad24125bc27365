/**
 * The cgroup subtree of one real node. The kubelet puts every pod under `cgroupRoot`/kubepods;
 * with the default root two kubelets on one machine would share kubepods, and each would remove
 * the other's pods' cgroups as orphans. So each node gets a root of its own, /kubegate-<node>-<pid>,
 * made in every cgroup hierarchy before the kubelet starts (it insists the root exists) and
 * removed, deepest first, once everything in it has ended. Works with the cgroup v1 hierarchies
 * this machine mounts and with a single cgroup v2 hierarchy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const CGROUP_MOUNT = '/sys/fs/cgroup';

/** The mounted hierarchies: /sys/fs/cgroup itself on cgroup v2, each controller's directory on v1. */
export function cgroupHierarchies(): string[] {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const dirs = mounts
    .map((line) => line.split(' '))
    .filter((f) => (f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]!.startsWith(CGROUP_MOUNT))
    .map((f) => f[1]!);
  return [...new Set(dirs)].sort();
}

/** Creates `root` (e.g. /kubegate-node-0-1234) in every hierarchy; returns the directories made. */
export function createCgroupRoot(root: string): string[] {
  const made: string[] = [];
  for (const hierarchy of cgroupHierarchies()) {
    const dir = path.join(hierarchy, root);
    if (fs.existsSync(dir)) continue;
    fs.mkdirSync(dir);
    made.push(dir);
    // A v1 cpuset cgroup starts with no CPUs and no memory nodes: nothing could run in it.
    if (fs.existsSync(path.join(hierarchy, 'cpuset.cpus')) && fs.existsSync(path.join(dir, 'cpuset.cpus'))) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(dir, file), fs.readFileSync(path.join(hierarchy, file), 'utf8'));
    }
  }
  return made;
}

/** Pids of the processes in `root`'s subtree, in any hierarchy. */
export function processesInCgroupRoot(root: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of cgroupHierarchies()) {
    const walk = (dir: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      try {
        for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) pids.add(Number(line));
      } catch {
        // removed meanwhile
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    };
    walk(path.join(hierarchy, root));
  }
  return [...pids];
}

/**
 * Removes `root`'s subtree in every hierarchy, deepest first (a cgroup directory is removed with
 * rmdir, and only once it has no processes and no children). Returns what could not be removed.
 */
export function removeCgroupRoot(root: string): string[] {
  const left: string[] = [];
  for (const hierarchy of cgroupHierarchies()) {
    const remove = (dir: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) remove(path.join(dir, e.name));
      try {
        fs.rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(`cgroup ${dir} (${(err as NodeJS.ErrnoException).code})`);
      }
    };
    remove(path.join(hierarchy, root));
  }
  return left;
}
