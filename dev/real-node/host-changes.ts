/**
 * What a real node changes on the host outside its own directories and network namespace, and
 * undoing it. The kubelet sets kernel sysctls it wants (vm.overcommit_memory=1, kernel.panic=10,
 * kernel.panic_on_oops=1, ...) when it starts, and the kubelet, containerd and libcni create a
 * few host directories whose paths are compiled in (/var/lib/kubelet/device-plugins,
 * /var/log/containers, /var/lib/cni/results, /run/containerd/s). The state before is recorded
 * when the first node of this process starts and put back when the last one has stopped (nodes
 * share these, so an earlier stop must not pull them from under a running kubelet).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../control-plane/log/logger';

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

/** Puts back a state read from a crashed run's record; returns what it could not restore. */
export function restoreHostState(state: { readonly sysctls: Readonly<Record<string, string>>; readonly dirs: Readonly<Record<string, readonly string[] | null>> }, logger: Logger): string[] {
  return restore({ sysctls: new Map(Object.entries(state.sysctls)), dirs: new Map(Object.entries(state.dirs).map(([d, e]) => [d, e ? new Set(e) : null])) }, logger);
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

/** Called before a node starts anything: the first one records the host as it is. */
export function acquireHostChanges(): void {
  if (holders === 0) recorded = capture();
  holders++;
}

/** Called once a node has stopped everything: the last one puts the host back. Returns problems left. */
export function releaseHostChanges(logger: Logger): string[] {
  if (holders === 0) return [];
  holders--;
  if (holders > 0 || !recorded) return [];
  const problems = restore(recorded, logger);
  recorded = undefined;
  return problems;
}

/** For the process 'exit' hook: restore whatever was recorded, now, whoever still holds it. */
export function restoreHostChangesNow(logger: Logger): void {
  if (!recorded) return;
  restore(recorded, logger);
  recorded = undefined;
  holders = 0;
}
