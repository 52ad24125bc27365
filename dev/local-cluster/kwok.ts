/**
 * kwok (sigs.k8s.io/kwok) plays the kubelet of fake nodes: it keeps the nodes Ready and their
 * leases renewed, moves pods scheduled onto them through their lifecycle (Running with a pod
 * IP, deleted once terminating), and serves the kubelet API for them on one port, so that
 * `kubectl exec`, `logs`, `attach` and `port-forward` go apiserver -> kubelet API as on a real
 * cluster and do something real:
 *   - exec runs the requested command on this machine, in `execWorkDir` (ClusterExec, local),
 *   - logs serve `logsFile`, in the CRI log format kubelets read (ClusterLogs),
 *   - attach follows that same file from its end (ClusterAttach),
 *   - port-forward to any pod port connects to 127.0.0.1:`portForwardTarget` (ClusterPortForward).
 *
 * Everything is configured by flags and one kwok config file (Stages, ClusterExec, ClusterLogs,
 * ClusterAttach, ClusterPortForward), not by kwok's CRDs (--enable-crds), so nothing is
 * installed into the cluster. The Stages are the ones kwokctl uses (node: fast and
 * heartbeat-with-lease, pod: fast), from the kwok release the toolchain built the binary from.
 *
 * The kubelet API serves TLS with a certificate from the cluster CA for 127.0.0.1, which is
 * every node's InternalIP and where the apiserver (--kubelet-certificate-authority, the
 * kubelet client certificate) connects. kwok does not authenticate its clients: anything on
 * this machine that reaches the port can exec commands as the harness's user. It listens on
 * loopback only (TLS, and plain HTTP on the same port), and exec'd commands get a minimal
 * environment; it is a test harness.
 *
 * Known kwok (v0.8.0) limits of exec: the command's stdin is never closed, so a command that
 * reads stdin to its end (`cat`) waits for ever, one that stops by itself (`head -n 1`) works;
 * a non-zero exit comes back as an apiserver error ("... exit status 3", kubectl exits 1)
 * rather than as the command's own exit code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { TlsClientMaterial } from '../process/https-probe';
import { HOST_PLACEMENT, placedGet, type ProcessPlacement } from '../process/process-placement';
import type { ManagedProcess } from '../process/managed-process';
import { waitForReady } from '../process/wait-for-ready';
import type { KeyPairFiles } from './cluster-pki';
import type { Logger } from '../../control-plane/log/logger';

export const KWOK_COMPONENT = 'kwok';
/** Nodes with this annotation are kwok's; the harness creates its nodes with it. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
const KWOK_NODE_ANNOTATION_VALUE = 'fake';
/** Pod IPs kwok hands out; apart from the service range (10.0.0.0/24). */
export const KWOK_POD_CIDR = '10.244.0.0/16';
/** Every kwok node's InternalIP: where the apiserver reaches kwok's kubelet API. */
export const KWOK_NODE_IP = '127.0.0.1';
const NODE_LEASE_DURATION_SECONDS = 40;

/** The stage files kwokctl runs kwok with, in the toolchain's kwokStages directory. */
export const KWOK_STAGE_FILES = ['node-initialize.yaml', 'node-heartbeat-with-lease.yaml', 'pod-ready.yaml', 'pod-complete.yaml', 'pod-delete.yaml'];

/** What the kubelet API does for pods on kwok's nodes. */
export interface KwokPodIoProps {
  /** Working directory of commands run by `kubectl exec` (created if missing). @default <stateDir>/kwok/exec */
  readonly execWorkDir?: string;
  /**
   * Served as every container's log by `kubectl logs`, and followed by `kubectl attach`; in the
   * CRI log format (see formatCriLog and KwokInfo.appendContainerLog). Created empty if missing.
   * @default <stateDir>/kwok/containers.log
   */
  readonly logsFile?: string;
  /**
   * A port on 127.0.0.1 that `kubectl port-forward` to any port of any kwok pod connects to.
   * @default none: port-forward is refused ("no forward found")
   */
  readonly portForwardTarget?: number;
}

export interface KwokProps {
  readonly binary: string;
  /** Where the process runs and is probed from. @default HOST_PLACEMENT */
  readonly placement?: ProcessPlacement;
  /** The directory with the Stage manifests (KWOK_STAGE_FILES). */
  readonly stagesDir: string;
  readonly stateDir: string;
  readonly logDir: string;
  /** The kubelet API's port on 127.0.0.1, also every node's kubelet port. */
  readonly port: number;
  readonly apiserverUrl: string;
  /** A kubeconfig for the apiserver with kwok's client certificate. */
  readonly kubeconfigPath: string;
  /** The kubelet API's serving certificate. */
  readonly serving: KeyPairFiles;
  /** Trusted for kwok's serving certificate, with a client certificate the apiserver lets create nodes. */
  readonly adminTls: TlsClientMaterial;
  readonly nodeNames: readonly string[];
  readonly podIo?: KwokPodIoProps;
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
  /** How long the nodes may take to become Ready and schedulable. */
  readonly nodesReadyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** Appended after the harness's own flags. @default [] */
  readonly extraArgs?: readonly string[];
}

export interface KwokInfo {
  /** The kubelet API: https://127.0.0.1:<port> */
  readonly url: string;
  readonly execWorkDir: string;
  readonly logsFile: string;
  readonly portForwardTarget: number | undefined;
  /** Appends `text` to logsFile as container output, one CRI log line per line of text. */
  appendContainerLog(text: string, stream?: 'stdout' | 'stderr'): void;
}

export interface Kwok extends KwokInfo {
  readonly process: ManagedProcess;
}

/** `text` as CRI log lines ("<RFC 3339 time> <stream> F <line>"), the format kubelets read. */
export function formatCriLog(text: string, stream: 'stdout' | 'stderr' = 'stdout', at: Date = new Date()): string {
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.map((line) => `${at.toISOString()} ${stream} F ${line}\n`).join('');
}

export function kwokNodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
}

function kwokDir(stateDir: string): string {
  return path.join(stateDir, 'kwok');
}

interface ResolvedPodIo {
  readonly execWorkDir: string;
  readonly logsFile: string;
  readonly portForwardTarget: number | undefined;
}

function resolvePodIo(stateDir: string, io: KwokPodIoProps = {}): ResolvedPodIo {
  return {
    execWorkDir: path.resolve(io.execWorkDir ?? path.join(kwokDir(stateDir), 'exec')),
    logsFile: path.resolve(io.logsFile ?? path.join(kwokDir(stateDir), 'containers.log')),
    portForwardTarget: io.portForwardTarget,
  };
}

/** The kwok config file: the Stages, and what exec/logs/attach/port-forward do. */
export function kwokConfig(stagesDir: string, io: ResolvedPodIo): string {
  const api = 'kwok.x-k8s.io/v1alpha1';
  // No KwokConfiguration document: kwok applies its defaults only when there is none (one from
  // a file is taken as it is), so its options are given as flags instead.
  const docs: unknown[] = [
    { apiVersion: api, kind: 'ClusterExec', metadata: { name: 'local-exec' }, spec: { execs: [{ local: { workDir: io.execWorkDir } }] } },
    { apiVersion: api, kind: 'ClusterLogs', metadata: { name: 'logs-file' }, spec: { logs: [{ logsFile: io.logsFile }] } },
    { apiVersion: api, kind: 'ClusterAttach', metadata: { name: 'logs-file' }, spec: { attaches: [{ logsFile: io.logsFile }] } },
  ];
  if (io.portForwardTarget !== undefined) {
    docs.push({ apiVersion: api, kind: 'ClusterPortForward', metadata: { name: 'local-port' }, spec: { forwards: [{ target: { address: '127.0.0.1', port: io.portForwardTarget } }] } });
  }
  const stages = KWOK_STAGE_FILES.map((file) => fs.readFileSync(path.join(stagesDir, file), 'utf8').trim());
  return [...docs.map((d) => stringify(d).trim()), ...stages].join('\n---\n') + '\n';
}

export function kwokArgs(props: Pick<KwokProps, 'port' | 'kubeconfigPath' | 'serving' | 'extraArgs'>, configPath: string): string[] {
  return [
    `--config=${configPath}`,
    `--kubeconfig=${props.kubeconfigPath}`,
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=${KWOK_NODE_ANNOTATION_VALUE}`,
    `--cidr=${KWOK_POD_CIDR}`,
    `--node-ip=${KWOK_NODE_IP}`,
    `--node-port=${props.port}`,
    `--server-address=127.0.0.1:${props.port}`,
    `--tls-cert-file=${props.serving.certFile}`,
    `--tls-private-key-file=${props.serving.keyFile}`,
    // Renew each node's Lease as a kubelet does (every 10 s): the node lifecycle controller
    // takes that as the heartbeat. kwok's own default is 0, no leases, and the heartbeat Stage
    // updates the node's status only every 10 minutes, so the node would turn NotReady.
    `--node-lease-duration-seconds=${NODE_LEASE_DURATION_SECONDS}`,
    ...(props.extraArgs ?? []),
  ];
}

/**
 * A node for kwok to play: no taints of its own, so ordinary workloads are scheduled onto it.
 * It is created with its addresses and kubelet port, as a kubelet registers its node: kwok's
 * node-initialize Stage writes `addresses:` empty when it plays again for a node that lacks a
 * Hostname address (it knows no node name to give), which would leave the apiserver nowhere to
 * send exec, logs and port-forward.
 */
export function kwokNodeManifest(name: string, kubeletPort: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    spec: {},
    status: {
      addresses: [
        { type: 'InternalIP', address: KWOK_NODE_IP },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    },
  };
}

interface NodeStatusView {
  metadata: { name: string };
  spec?: { taints?: { key: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/** null when the node is Ready and carries no not-ready/unreachable taint, else why not. */
function nodeProblem(node: NodeStatusView): string | null {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `node ${node.metadata.name} is not Ready (${ready ? ready.status : 'no Ready condition yet'})`;
  const taint = node.spec?.taints?.find((t) => t.key.startsWith('node.kubernetes.io/'));
  return taint ? `node ${node.metadata.name} still has the taint ${taint.key}:${taint.effect}` : null;
}

/**
 * Starts kwok, waits for its kubelet API's /healthz, creates the nodes and waits until each is
 * Ready and schedulable (the node lifecycle controller of kube-controller-manager lifts the
 * not-ready taint every new node starts with). Stops kwok again if any of that fails.
 */
export async function startKwok(props: KwokProps): Promise<Kwok> {
  const io = resolvePodIo(props.stateDir, props.podIo);
  const dir = kwokDir(props.stateDir);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(io.execWorkDir, { recursive: true });
  fs.mkdirSync(path.dirname(io.logsFile), { recursive: true });
  if (!fs.existsSync(io.logsFile)) fs.writeFileSync(io.logsFile, '');
  const configPath = path.join(dir, 'kwok.yaml');
  fs.writeFileSync(configPath, kwokConfig(props.stagesDir, io));

  const url = `https://127.0.0.1:${props.port}`;
  const placement = props.placement ?? HOST_PLACEMENT;
  const proc = await placement.startReady(
    {
      component: KWOK_COMPONENT,
      binary: props.binary,
      args: kwokArgs(props, configPath),
      logFile: path.join(props.logDir, 'kwok.log'),
      logger: props.logger,
      stopTimeoutMs: props.stopTimeoutMs,
      // Commands run by `kubectl exec` inherit kwok's environment: only what they need, none
      // of the harness's. KWOK_WORKDIR keeps kwok from reading ~/.kwok/kwok.yaml.
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: io.execWorkDir, KWOK_WORKDIR: dir },
    },
    {
      url: `${url}/healthz`,
      timeoutMs: props.readyTimeoutMs,
      check: async () => {
        const res = await placedGet(placement, `${url}/healthz`, props.adminTls);
        return res.status === 200 ? null : `/healthz: HTTP ${res.status}: ${res.body.trim().slice(0, 300)}`;
      },
    },
  );
  try {
    for (const name of props.nodeNames) {
      const res = await placement.request(`${props.apiserverUrl}/api/v1/nodes`, { tls: props.adminTls, method: 'POST', json: kwokNodeManifest(name, props.port) });
      if (res.status !== 201) throw new Error(`creating node ${name}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    }
    await waitForReady({
      process: proc,
      url: `${props.apiserverUrl}/api/v1/nodes`,
      timeoutMs: props.nodesReadyTimeoutMs,
      check: async () => {
        for (const name of props.nodeNames) {
          const res = await placedGet(placement, `${props.apiserverUrl}/api/v1/nodes/${name}`, props.adminTls);
          if (res.status !== 200) return `node ${name}: HTTP ${res.status}`;
          const problem = nodeProblem(JSON.parse(res.body) as NodeStatusView);
          if (problem) return problem;
        }
        return null;
      },
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  props.logger.info('kwok ready', { url, pid: proc.pid, nodes: props.nodeNames });
  return {
    url,
    process: proc,
    ...io,
    appendContainerLog: (text, stream) => fs.appendFileSync(io.logsFile, formatCriLog(text, stream)),
  };
}
