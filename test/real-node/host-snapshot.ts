/**
 * What a real node could leave behind on the host, read from the real system, so a test can
 * say "the host is as it was before the node": the kernel sysctls the kubelet sets, every
 * iptables chain or rule of Kubernetes or CNI, links, routes and namespaces of the node pool,
 * mounts of node components, node cgroups, the host directories node components create, and
 * node processes. Only what a node touches is read, so other tests running beside these on the
 * same machine (their own namespaces and rules) do not make it differ; what belongs to real
 * nodes of other live processes (found by their records) is left out, and while such nodes run
 * the machine-wide sysctls and directories are theirs to set, so expectHostAsBefore() compares
 * those only when no other process's node ran at either time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { KUBELET_SYSCTLS, WATCHED_HOST_DIRS, readSysctl } from '../../dev/real-node/host-changes';
import { cgroupHierarchies } from '../../dev/real-node/node-cgroups';
import { currentOwner, isStale, readNodeRecords, RECORDS_DIR } from '../../dev/real-node/node-records';
import { processesInCgroupRoot } from '../../dev/real-node/node-cgroups';
import type { Toolchain } from '../../dev/toolchain/tools';

const MORE_SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.forwarding', 'net.ipv4.conf.all.route_localnet', 'net.bridge.bridge-nf-call-iptables', 'net.netfilter.nf_conntrack_max', 'net.netfilter.nf_conntrack_tcp_timeout_established'];
const PATH_ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

function lines(binary: string, args: readonly string[]): string[] {
  try {
    return execFileSync(binary, [...args], { encoding: 'utf8', env: PATH_ENV, maxBuffer: 64 << 20 }).split('\n');
  } catch {
    return [`(${binary} ${args.join(' ')} failed)`];
  }
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '(absent)';
  }
}

export interface HostSnapshot {
  readonly sysctls: Record<string, string>;
  readonly conntrackHashsize: string;
  readonly iptables: string[];
  readonly links: string[];
  readonly routes: string[];
  readonly namespaces: string[];
  readonly mounts: string[];
  readonly cgroups: string[];
  readonly hostDirs: Record<string, string[] | null>;
  readonly processes: string[];
  /** Crash records of running nodes (node-records.ts). */
  readonly nodeRecords: string[] | null;
  /** Real nodes of other live processes ran when this was taken. */
  readonly othersLive: boolean;
}

export function hostSnapshot(tools: Toolchain): HostSnapshot {
  const me = currentOwner();
  const others = readNodeRecords().filter((r) => r.owner !== me && !isStale(r));
  const otherTags = others.map((r) => r.owner);
  const otherIndices = new Set(others.map((r) => /^kgnode-(\d+)-/.exec(r.netns ?? '')?.[1]).filter(Boolean));
  const otherDirs = others.map((r) => `${r.stateDir}/`);
  const otherPids = new Set(others.flatMap((r) => [...(r.cgroupRoot ? processesInCgroupRoot(r.cgroupRoot) : []), ...(r.netns ? lines('ip', ['netns', 'pids', r.netns]).filter(Boolean).map(Number) : [])]));
  const theirs = (text: string) => otherTags.some((t) => text.includes(t)) || otherDirs.some((d) => text.includes(d)) || [...otherIndices].some((i) => new RegExp(`kn10-215-${i}[hn]|10\\.21[56]\\.${i}\\.`).test(text));
  const sysctls: Record<string, string> = {};
  for (const name of [...KUBELET_SYSCTLS, ...MORE_SYSCTLS]) sysctls[name] = readSysctl(name) ?? '(absent)';
  const kubeLike = /KUBE-|CNI-|kgbr|kn10-215|10\.216\./;
  const iptables = ['iptables-save', 'ip6tables-save'].flatMap((tool) => lines(tool, []).filter((l) => kubeLike.test(l)).map((l) => `${tool}: ${l.replace(/\[\d+:\d+\]/, '')}`));
  const links = lines('ip', ['-o', 'link', 'show']).map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((n) => /^(kn10-215|kgbr|cni|flannel|kube-)/.test(n) && !theirs(n));
  const routes = lines('ip', ['route', 'show', 'table', 'all']).filter((l) => /10\.21[56]\./.test(l) && !theirs(l));
  const namespaces = lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('kgnode-') && !theirs(n));
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => /kubegate-real-node|\/var\/lib\/kubelet|\/run\/containerd|kgnode-|io\.containerd|kubepods/.test(p) && !theirs(p));
  const cgroups = cgroupHierarchies().flatMap((h) => fs.readdirSync(h, { withFileTypes: true }).filter((e) => e.isDirectory() && /^(kubegate-|kubepods)/.test(e.name) && !theirs(e.name)).map((e) => path.join(h, e.name)));
  const hostDirs: Record<string, string[] | null> = {};
  for (const dir of WATCHED_HOST_DIRS) hostDirs[dir] = fs.existsSync(dir) ? fs.readdirSync(dir).filter((e) => !theirs(e)).sort() : null;
  const binaries = new Set([tools.kubelet, tools.kubeProxy, tools.containerd, tools.pause, path.join(path.dirname(tools.containerd), 'containerd-shim-runc-v2')]);
  const processes: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let exe: string;
    try {
      exe = fs.readlinkSync(`/proc/${entry}/exe`);
    } catch {
      continue;
    }
    if ((binaries.has(exe) || exe.endsWith('/pause')) && !otherPids.has(Number(entry)) && !theirs(readOr(`/proc/${entry}/cmdline`).replace(/\0/g, ' '))) processes.push(`${entry} ${exe}`);
  }
  return { othersLive: others.length > 0, nodeRecords: fs.existsSync(RECORDS_DIR) ? fs.readdirSync(RECORDS_DIR).filter((f) => !theirs(f)) : null, sysctls, conntrackHashsize: readOr('/sys/module/nf_conntrack/parameters/hashsize'), iptables, links, routes, namespaces, mounts, cgroups, hostDirs, processes };
}

/**
 * The host is as `before` in everything of this process's nodes; the machine-wide sysctls and
 * directories only when no other process's real node ran at either time (they are its to set).
 */
export function expectHostAsBefore(before: HostSnapshot, after: HostSnapshot): void {
  const shared = before.othersLive || after.othersLive;
  const view = (s: HostSnapshot) => {
    const { othersLive: _o, sysctls, conntrackHashsize, hostDirs, nodeRecords, ...own } = s;
    return shared ? own : { ...own, sysctls, conntrackHashsize, hostDirs, nodeRecords };
  };
  expect(view(after)).toEqual(view(before));
}
