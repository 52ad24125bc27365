/**
 * What a real node could leave behind on the host, read from the real system, so a test can
 * say "the host is as it was before the node": the kernel sysctls the kubelet sets, every
 * iptables chain or rule of Kubernetes or CNI, links, routes and namespaces of the node pool,
 * mounts of node components, node cgroups, the host directories node components create, and
 * node processes. Only what a node touches is read, so other tests running beside these on the
 * same machine (their own namespaces and rules) do not make it differ.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { KUBELET_SYSCTLS, WATCHED_HOST_DIRS, readSysctl } from '../../dev/real-node/host-changes';
import { cgroupHierarchies } from '../../dev/real-node/node-cgroups';
import { RECORDS_DIR } from '../../dev/real-node/node-records';
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
}

export function hostSnapshot(tools: Toolchain): HostSnapshot {
  const sysctls: Record<string, string> = {};
  for (const name of [...KUBELET_SYSCTLS, ...MORE_SYSCTLS]) sysctls[name] = readSysctl(name) ?? '(absent)';
  const kubeLike = /KUBE-|CNI-|kgbr|kn10-215|10\.216\./;
  const iptables = ['iptables-save', 'ip6tables-save'].flatMap((tool) => lines(tool, []).filter((l) => kubeLike.test(l)).map((l) => `${tool}: ${l.replace(/\[\d+:\d+\]/, '')}`));
  const links = lines('ip', ['-o', 'link', 'show']).map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((n) => /^(kn10-215|kgbr|cni|flannel|kube-)/.test(n));
  const routes = lines('ip', ['route', 'show', 'table', 'all']).filter((l) => /10\.21[56]\./.test(l));
  const namespaces = lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('kgnode-'));
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => /kubegate-real-node|\/var\/lib\/kubelet|\/run\/containerd|kgnode-|io\.containerd|kubepods/.test(p));
  const cgroups = cgroupHierarchies().flatMap((h) => fs.readdirSync(h, { withFileTypes: true }).filter((e) => e.isDirectory() && /^(kubegate-|kubepods)/.test(e.name)).map((e) => path.join(h, e.name)));
  const hostDirs: Record<string, string[] | null> = {};
  for (const dir of WATCHED_HOST_DIRS) hostDirs[dir] = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : null;
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
    if (binaries.has(exe) || exe.endsWith('/pause')) processes.push(`${entry} ${exe}`);
  }
  return { nodeRecords: fs.existsSync(RECORDS_DIR) ? fs.readdirSync(RECORDS_DIR) : null, sysctls, conntrackHashsize: readOr('/sys/module/nf_conntrack/parameters/hashsize'), iptables, links, routes, namespaces, mounts, cgroups, hostDirs, processes };
}
