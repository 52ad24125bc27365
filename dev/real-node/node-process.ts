/**
 * Starting a process inside a real node's network namespace and nothing else: `nsenter --net`
 * switches the network namespace and execs the program, so the pid, signals and log file are
 * the program's own (a ManagedProcess as any other), while the mount namespace, /sys and the
 * cgroup mounts stay the host's. The kubelet, containerd and runc must see each other's mounts,
 * and the harness must see them all to undo them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultSearchPath } from '../netns/commands';
import type { ManagedProcessProps } from '../process/managed-process';
import { BinaryMissingError } from '../process/errors';

let nsenterPath: string | undefined;

/** util-linux's nsenter, found once on PATH plus the sbin directories. */
export function nsenter(): string {
  if (nsenterPath) return nsenterPath;
  for (const dir of defaultSearchPath().split(':')) {
    const candidate = path.join(dir, 'nsenter');
    if (fs.existsSync(candidate)) return (nsenterPath = candidate);
  }
  throw new BinaryMissingError('nsenter', 'nsenter', 'is not on PATH (Debian package util-linux)');
}

/** The command line that runs `binary args` in the network namespace at `netnsPath`. */
export function inNodeNetwork(netnsPath: string, binary: string, args: readonly string[]): { binary: string; args: string[] } {
  return { binary: nsenter(), args: [`--net=${netnsPath}`, '--', binary, ...args] };
}

/** ManagedProcess props that run the same program inside the node's network namespace. */
export function nodeProcessProps(netnsPath: string, props: ManagedProcessProps): ManagedProcessProps {
  return { ...props, ...inNodeNetwork(netnsPath, props.binary, props.args) };
}

/** The environment node components run with: the sbin directories on PATH (iptables, mount, runc). */
export function nodeEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: defaultSearchPath() };
}
