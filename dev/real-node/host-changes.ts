/**
 * What a real node changes on the host outside its own directories and network namespace, and
 * undoing it. The kubelet sets kernel sysctls it wants (vm.overcommit_memory=1, kernel.panic=10,
 * kernel.panic_on_oops=1, ...) when it starts, and the kubelet, containerd and libcni create a
 * few host directories whose paths are compiled in (/var/lib/kubelet/device-plugins,
 * /var/log/containers, /var/lib/cni/results, /run/containerd/s). The state before is recorded
 * when the first node of this process starts and put back when the last one has stopped (nodes
 * share these, so an earlier stop must not pull them from under a running kubelet). Nodes of
 * other processes on the machine count too, through their records (node-records.ts): the state
 * from before the first of them is the one put back, by whichever node stops last.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../control-plane/log/logger';
import { currentOwner, isStale, readNodeRecords, type NodeRecord } from './node-records';

/** The sysctls the kubelet's container manager sets to its defaults on start (they are global, not per namespace). */
export const KUBELET_SYSCTLS = ['vm.overcommit_memory', 'vm.panic_on_oom', 'kernel.panic', 'kernel.panic_on_oops', 'kernel.keys.root_maxkeys', 'kernel.keys.root_maxbytes'] as const;

/**
 * Host directories node components create at fixed paths. One that did not exist before is
 * removed whole; in one that did, only the entries that appeared are removed.
 */
export const WATCHED_HOST_DIRS = ['/var/lib/kubelet', '/var/log/containers', '/var/log/pods', '/var/lib/cni', '/etc/cni', '/opt/cni', '/run/containerd', '/var/lib/containerd', '/opt/containerd', '/etc/containerd', '/etc/kubernetes', '/usr/libexec/kubernetes'] as const;

const sysctlFile = (name: string) => path.join('/proc/sys', ...name.split('.'));

export function readSysctl(name: string): string | undefined {
  try {
    return fs.readFileSync(sysctlFile(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

interface HostState {
  readonly sysctls: ReadonlyMap<string, string>;
  /** Entries of each watched directory, or null when it did not exist. */
  readonly dirs: ReadonlyMap<string, ReadonlySet<string> | null>;
}

function entries(dir: string): Set<string> | null {
  try {
    return new Set(fs.readdirSync(dir));
  } catch {
    return null;
  }
}

function capture(): HostState {
  const sysctls = new Map<string, string>();
  for (const name of KUBELET_SYSCTLS) {
    const value = readSysctl(name);
    if (value !== undefined) sysctls.set(name, value);
  }
  return { sysctls, dirs: new Map(WATCHED_HOST_DIRS.map((d) => [d, entries(d)])) };
}

/** The recorded state as plain JSON, for the node's crash record (node-records.ts). */
export function recordedHostState(): { sysctls: Record<string, string>; dirs: Record<string, string[] | null> } {
  const state = recorded ?? capture();
  return {
    sysctls: Object.fromEntries(state.sysctls),
    dirs: Object.fromEntries([...state.dirs].map(([d, e]) => [d, e ? [...e].sort() : null])),
  };
}

type PlainHostState = { readonly sysctls: Readonly<Record<string, string>>; readonly dirs: Readonly<Record<string, readonly string[] | null>> };

function fromPlain(state: PlainHostState): HostState {
  return { sysctls: new Map(Object.entries(state.sysctls)), dirs: new Map(Object.entries(state.dirs).map(([d, e]) => [d, e ? new Set(e) : null])) };
}

/** Puts back a state read from a crashed run's record; returns what it could not restore. */
export function restoreHostState(state: PlainHostState, logger: Logger): string[] {
  return restore(fromPlain(state), logger);
}

/** Puts the recorded state back; returns what it could not restore. */
function restore(state: HostState, logger: Logger): string[] {
  const problems: string[] = [];
  for (const [name, before] of state.sysctls) {
    const now = readSysctl(name);
    if (now === before) continue;
    try {
      fs.writeFileSync(sysctlFile(name), `${before}\n`);
      logger.info('sysctl restored', { sysctl: name, from: now, to: before });
    } catch (err) {
      problems.push(`sysctl ${name} is ${now}, could not set it back to ${before}: ${(err as Error).message}`);
    }
  }
  for (const [dir, before] of state.dirs) {
    const now = entries(dir);
    if (now === null) continue;
    const added = before === null ? [dir] : [...now].filter((e) => !before.has(e)).map((e) => path.join(dir, e));
    for (const target of added) {
      try {
        fs.rmSync(target, { recursive: true, force: true });
        logger.info('host path the node created removed', { path: target });
      } catch (err) {
        problems.push(`${target} could not be removed: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

let recorded: HostState | undefined;
let holders = 0;

/** How many nodes of this process hold the recorded state (0: none runs). */
export function hostChangesHolders(): number {
  return holders;
}

/** Live nodes of other processes on this machine (their records: node-records.ts). */
function otherProcessesNodes(): NodeRecord[] {
  const me = currentOwner();
  return readNodeRecords().filter((r) => r.owner !== me && !isStale(r));
}

/**
 * Called before a node starts anything: the first one of this process records the host as it
 * is, or, when another process's nodes already run (their kubelets have changed it), adopts the
 * state those recorded from before theirs.
 */
export function acquireHostChanges(): void {
  if (holders === 0) {
    const other = otherProcessesNodes()[0];
    recorded = other ? fromPlain({ sysctls: other.sysctlsBefore, dirs: other.dirsBefore }) : capture();
  }
  holders++;
}

/**
 * Called once a node has stopped everything: the last one of the machine (no node of this or
 * another process left running) puts the host back. Returns problems left.
 */
export function releaseHostChanges(logger: Logger): string[] {
  if (holders === 0) return [];
  holders--;
  if (holders > 0 || !recorded) return [];
  const state = recorded;
  recorded = undefined;
  if (otherProcessesNodes().length > 0) {
    logger.info('host settings left as the other running nodes need them', {});
    return [];
  }
  return restore(state, logger);
}

/** For the process 'exit' hook: restore whatever was recorded, now, unless other processes' nodes still run. */
export function restoreHostChangesNow(logger: Logger): void {
  if (!recorded) return;
  if (otherProcessesNodes().length === 0) restore(recorded, logger);
  recorded = undefined;
  holders = 0;
}

/**
 * Entries of the watched host directories that belong to one node, whoever restores the rest:
 * names carrying one of `names` (its cgroup root, its CNI network), and symbolic links into
 * `stateDir` (the kubelet's /var/log/containers links to its pods' logs). Removed when the node
 * stops, even while other nodes keep the directories themselves.
 */
export function removeNodeHostEntries(names: readonly string[], stateDir: string, logger: Logger): void {
  const dirs = [...WATCHED_HOST_DIRS, '/var/lib/cni/results', '/var/lib/kubelet/device-plugins'];
  for (const dir of dirs) {
    let list: string[];
    try {
      list = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of list) {
      const full = path.join(dir, entry);
      let mine = names.some((n) => entry.includes(n));
      if (!mine) {
        try {
          mine = fs.lstatSync(full).isSymbolicLink() && fs.readlinkSync(full).startsWith(`${stateDir}/`);
        } catch {
          continue;
        }
      }
      if (!mine) continue;
      fs.rmSync(full, { recursive: true, force: true });
      logger.debug('host entry of the node removed', { path: full });
    }
  }
}
