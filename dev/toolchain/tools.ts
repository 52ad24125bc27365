/**
 * Finds the real binaries that toolchain/install.sh put in the cache, by reading the
 * tools.json it writes. Nothing here downloads or builds: a missing tool is a clear error that
 * names the command which installs it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../control-plane/proto/project-root';

export interface Toolchain {
  readonly envoy: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  /** Built from the same tools module and version as kube-apiserver. */
  readonly kubeScheduler: string;
  /** Built from the same tools module and version as kube-apiserver. */
  readonly kubeControllerManager: string;
  /** The node agent of real (not kwok) nodes; built with kube-apiserver, in the same go build. */
  readonly kubelet: string;
  /** Services on real nodes; built with kube-apiserver, in the same go build. */
  readonly kubeProxy: string;
  /** Debian's containerd, runc and CNI plugins (bridge, host-local, loopback, portmap): what real nodes run pods with. */
  readonly containerd: string;
  readonly runc: string;
  readonly cniPluginDir: string;
  /** sigs.k8s.io/kwok's controller: fake nodes, and the kubelet API for their pods. */
  readonly kwok: string;
  /** Directory of the kwok release's lifecycle Stage manifests (node-initialize.yaml, pod-ready.yaml, ...). */
  readonly kwokStages: string;
  readonly kubectl: string;
  /** go-containerregistry's crane: builds and pushes kubegate's images, serves the local registry. */
  readonly crane: string;
  /** Helm (v4): installs and upgrades the chart generated from kubegate's constructs. */
  readonly helm: string;
  /** CoreDNS: the DNS of test clusters with real nodes (dev/cluster-dns). */
  readonly coredns: string;
  /**
   * toolchain/audit-decode built against k8s.io/apiserver at the pinned Kubernetes version:
   * decodes an audit.k8s.io/v1 EventList strictly with the real audit types and re-encodes it.
   */
  readonly auditDecode: string;
  /**
   * toolchain/request-info built against k8s.io/apiserver at the pinned Kubernetes version:
   * reads requests as JSON lines and answers with the RequestInfo kube-apiserver derives for
   * each (RequestInfoFactory.NewRequestInfo, configured as kube-apiserver configures it).
   */
  readonly requestInfo: string;
  /**
   * toolchain/host-override built against k8s.io/client-go at the pinned Kubernetes version: a
   * client-go program that overrides the kubeconfig's server URL, as Kubernetes' e2e framework
   * does (client-go then drops tls-server-name).
   */
  readonly hostOverride: string;
  /**
   * toolchain/pause: kubegate's own static pause program, the process of every pod sandbox on a
   * real test node (the harness makes containerd's sandbox image of it).
   */
  readonly pause: string;
  /**
   * The Pulumi CLI (toolchain/pulumi/, version = npm @pulumi/pulumi). Its directory also holds
   * the plugins a Pulumi release ships beside the CLI: `pulumiLanguageNodejs` and
   * `pulumiDynamicProvider` (and pulumi-analyzer-policy). The CLI finds them next to its own
   * executable or on PATH, so either run this path as it is or put its directory first on PATH;
   * for the Automation API, `PulumiCommand.get({ root: path.dirname(path.dirname(pulumi)) })`
   * does the latter.
   */
  readonly pulumi: string;
  /** The Node.js language host `pulumi up` starts to run a JavaScript/TypeScript program (next to `pulumi`). */
  readonly pulumiLanguageNodejs: string;
  /** pulumi-resource-pulumi-nodejs, the script that serves `pulumi.dynamic.Resource`s (next to `pulumi`). */
  readonly pulumiDynamicProvider: string;
  /**
   * pulumi-resource-kubernetes, labelled `versions.pulumiKubernetes` (the plugin version npm
   * @pulumi/kubernetes asks for). Not found on its own: install it into each PULUMI_HOME with
   * `pulumi plugin install resource kubernetes <versions.pulumiKubernetes> --file <this>`.
   */
  readonly pulumiKubernetes: string;
  readonly versions: { readonly envoy: string; readonly kubernetes: string; readonly etcd: string; readonly kwok: string; /** Absent in a tools.json from before crane was added. */ readonly crane?: string; /** Absent before helm was added. */ readonly helm?: string; readonly coredns?: string; /** Absent before Pulumi was added. */ readonly pulumi?: string; readonly pulumiKubernetes?: string };
}

export class ToolchainMissingError extends Error {
  readonly code = 'ERR_TOOLCHAIN_MISSING';
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainMissingError';
  }
}

export function toolchainCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUBEGATE_CACHE_DIR) return env.KUBEGATE_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kubegate');
}

/** The checkout's root, where toolchain/ and dist/ are: the product's own root. */
export { projectRoot };

/** The pinned versions from toolchain/versions.env, the one place they are written. */
export function pinnedVersions(): Record<string, string> {
  const text = fs.readFileSync(path.join(projectRoot(), 'toolchain', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export function loadToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain {
  const manifest = path.join(toolchainCacheDir(env), 'tools.json');
  const hint = 'run toolchain/install.sh (the README commands do this for you)';
  if (!fs.existsSync(manifest)) throw new ToolchainMissingError(`no toolchain at ${manifest}: ${hint}`);
  const tools = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Toolchain;
  const pinned = pinnedVersions();
  const v = tools.versions;
  if (v.envoy !== pinned.ENVOY_VERSION || v.kubernetes !== pinned.KUBERNETES_VERSION || v.etcd !== pinned.ETCD_VERSION || v.kwok !== pinned.KWOK_VERSION || (v.crane !== undefined && v.crane !== pinned.CRANE_VERSION) || (v.helm !== undefined && v.helm !== pinned.HELM_VERSION) || (v.coredns !== undefined && v.coredns !== pinned.COREDNS_VERSION) || (v.pulumi !== undefined && v.pulumi !== pinned.PULUMI_VERSION) || (v.pulumiKubernetes !== undefined && v.pulumiKubernetes !== pinned.PULUMI_KUBERNETES_VERSION)) {
    throw new ToolchainMissingError(`toolchain at ${manifest} was built for other versions than toolchain/versions.env: ${hint}`);
  }
  for (const key of ['envoy', 'etcd', 'kubeApiserver', 'kubeScheduler', 'kubeControllerManager', 'kubelet', 'kubeProxy', 'containerd', 'runc', 'cniPluginDir', 'kwok', 'kwokStages', 'kubectl', 'crane', 'helm', 'coredns', 'auditDecode', 'requestInfo', 'hostOverride', 'pause', 'pulumi', 'pulumiLanguageNodejs', 'pulumiDynamicProvider', 'pulumiKubernetes'] as const) {
    // A tools.json from before a binary was added lacks its key: that too means "run the installer".
    const what = key === 'kwokStages' || key === 'cniPluginDir' ? 'directory' : 'binary';
    if (typeof tools[key] !== 'string' || !fs.existsSync(tools[key])) throw new ToolchainMissingError(`${key} ${what} ${tools[key]} is missing: ${hint}`);
  }
  return tools;
}
