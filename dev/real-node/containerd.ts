/**
 * A real node's container runtime: Debian's containerd with a config of the node's own (root,
 * state and socket under the node's directory, so nodes never share images, snapshots or
 * sockets), runc with cgroupfs, the overlayfs snapshotter, the CNI plugins from the toolchain and
 * the bridge config of this node, the local registry reached over plain HTTP, and the pause
 * image as sandbox image. Started inside the node's network namespace: the CNI bridge, the pods'
 * network namespaces and the streaming server for exec and port-forward belong there.
 *
 * Facts of this kind of machine the config encodes (shared/research/real-node):
 *   - the machine's root lacks CAP_SYS_RESOURCE: without restrict_oom_score_adj every sandbox
 *     fails in runc ("can't get final child's PID from pipe"), since the pause container asks
 *     for oom_score_adj -998;
 *   - PID 1 is not systemd: SystemdCgroup = false;
 *   - there is no AppArmor: disable_apparmor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../../control-plane/log/logger';
import type { ManagedProcess } from '../process/managed-process';
import { startReadyProcess } from '../process/start-ready-process';
import { nodeEnvironment, nodeProcessProps } from './node-process';

const run = promisify(execFile);
export const CONTAINERD_COMPONENT = 'containerd';
/** The containerd namespace the CRI plugin keeps Kubernetes' containers and images in. */
export const CRI_NAMESPACE = 'k8s.io';

export interface ContainerdPaths {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly configFile: string;
  /** hosts.toml per registry (containerd's config_path). */
  readonly registryConfigDir: string;
}

export function containerdPaths(dir: string): ContainerdPaths {
  return {
    root: path.join(dir, 'root'),
    state: path.join(dir, 'state'),
    socket: path.join(dir, 'containerd.sock'),
    configFile: path.join(dir, 'config.toml'),
    registryConfigDir: path.join(dir, 'certs.d'),
  };
}

export interface ContainerdProps {
  readonly binary: string;
  readonly runc: string;
  readonly netnsPath: string;
  /** The node's containerd directory. */
  readonly dir: string;
  readonly logDir: string;
  readonly cniPluginDir: string;
  readonly cniConfigDir: string;
  /** The pause image's reference, pulled by containerd itself. */
  readonly sandboxImage: string;
  /** host:port registries reached over plain HTTP (the local registry). */
  readonly plainHttpRegistries: readonly string[];
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

const toml = (s: string) => JSON.stringify(s);

export function containerdConfig(p: ContainerdPaths, props: Pick<ContainerdProps, 'runc' | 'cniPluginDir' | 'cniConfigDir' | 'sandboxImage' | 'dir'>): string {
  return `version = 2
root = ${toml(p.root)}
state = ${toml(p.state)}
# Plugins that would look for other storage or send traces: not used by a test node.
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${toml(p.socket)}

[ttrpc]
  address = ${toml(`${p.socket}.ttrpc`)}

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = ${toml(path.join(props.dir, 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${toml(props.sandboxImage)}
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = ${toml(props.runc)}
        Root = ${toml(path.join(props.dir, 'runc'))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${toml(props.cniPluginDir)}
    conf_dir = ${toml(props.cniConfigDir)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${toml(p.registryConfigDir)}
`;
}

/** certs.d/<host:port>/hosts.toml: pull and resolve over plain HTTP from that very address. */
export function writeRegistryHosts(p: ContainerdPaths, registries: readonly string[]): void {
  for (const registry of registries) {
    const dir = path.join(p.registryConfigDir, registry);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'hosts.toml'), `server = ${toml(`http://${registry}`)}\n\n[host.${toml(`http://${registry}`)}]\n  capabilities = ["pull", "resolve"]\n`);
  }
}

/** Runs ctr against this containerd (from the host: the socket is a file). */
export async function ctr(ctrBinary: string, socket: string, args: readonly string[]): Promise<string> {
  return (await run(ctrBinary, ['--address', socket, '--namespace', CRI_NAMESPACE, ...args], { maxBuffer: 16 << 20, timeout: 30_000 })).stdout;
}

/** ctr comes with containerd, in the same directory. */
export function ctrBinary(containerd: string): string {
  return path.join(path.dirname(containerd), 'ctr');
}

export async function startContainerd(props: ContainerdProps): Promise<{ process: ManagedProcess; paths: ContainerdPaths }> {
  const p = containerdPaths(props.dir);
  fs.mkdirSync(props.dir, { recursive: true });
  fs.writeFileSync(p.configFile, containerdConfig(p, props));
  writeRegistryHosts(p, props.plainHttpRegistries);
  const logFile = path.join(props.logDir, 'containerd.log');
  const proc = await startReadyProcess(
    nodeProcessProps(props.netnsPath, {
      component: CONTAINERD_COMPONENT,
      binary: props.binary,
      args: ['--config', p.configFile],
      logFile,
      logger: props.logger,
      env: nodeEnvironment(),
      stopTimeoutMs: props.stopTimeoutMs,
    }),
    {
      url: p.socket,
      timeoutMs: props.readyTimeoutMs,
      check: async () => {
        if (!fs.existsSync(p.socket)) return `no socket ${p.socket} yet`;
        // The CRI plugin is what the kubelet talks to; it loads after the socket appears.
        const plugins = await ctr(ctrBinary(props.binary), p.socket, ['plugins', 'ls']);
        return /io\.containerd\.grpc\.v1\s+cri\s+\S+\s+ok/.test(plugins) ? null : 'the CRI plugin is not loaded yet';
      },
    },
  );
  props.logger.info('containerd ready', { socket: p.socket, pid: proc.pid });
  return { process: proc, paths: p };
}
