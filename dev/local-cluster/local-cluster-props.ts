/**
 * What startLocalCluster() accepts: ports, which components run, timeouts and extra flags, with
 * their defaults and the checks that refuse a contradictory set before anything starts. The
 * options are most of what a reader of the cluster's start needs to look up, so they have a
 * file of their own.
 */
import type { Logger } from '../../control-plane/log/logger';
import type { ProcessPlacement } from '../process/process-placement';
import type { Toolchain } from '../toolchain/tools';
import { LocalClusterConfigError } from './errors';
import type { KwokPodIoProps } from './kwok';

export interface LocalClusterPorts {
  /** kube-apiserver's secure port. @default a free port */
  readonly apiserver?: number;
  /** etcd's client port. @default a free port */
  readonly etcdClient?: number;
  /** etcd's peer port (opened by etcd even for one member). @default a free port */
  readonly etcdPeer?: number;
  /** kube-scheduler's secure port; only with controlPlane 'full'. @default a free port */
  readonly kubeScheduler?: number;
  /** kube-controller-manager's secure port; only with controlPlane 'full'. @default a free port */
  readonly kubeControllerManager?: number;
  /** kwok's kubelet API (every node's kubelet port); only with controlPlane 'full' and nodes. @default a free port */
  readonly kwok?: number;
}

/** The ports a running cluster uses; those of components it does not run are undefined. */
export type LocalClusterPortsInUse = Required<Pick<LocalClusterPorts, 'apiserver' | 'etcdClient' | 'etcdPeer'>> &
  Pick<LocalClusterPorts, 'kubeScheduler' | 'kubeControllerManager' | 'kwok'>;

/**
 * 'apiserver-only': etcd and kube-apiserver; nothing reconciles objects (no ServiceAccounts,
 * a Deployment never gets Pods). 'full': also kube-scheduler, kube-controller-manager and kwok.
 */
export type LocalClusterControlPlane = 'apiserver-only' | 'full';

export interface LocalClusterTimeouts {
  /** How long etcd may take to report healthy. @default 30000 */
  readonly etcdReadyMs?: number;
  /** How long kube-apiserver may take to pass /readyz. @default 90000 */
  readonly apiserverReadyMs?: number;
  /** How long each process gets after SIGTERM before SIGKILL. @default 15000 */
  readonly stopMs?: number;
  /**
   * 'full' only: how long kube-scheduler, kube-controller-manager and kwok may take to pass
   * /healthz, and the controller manager to create the `default` ServiceAccount. @default 60000
   */
  readonly controlPlaneReadyMs?: number;
  /** 'full' only: how long the kwok nodes may take to become Ready and schedulable. @default 60000 */
  readonly nodesReadyMs?: number;
}

export interface LocalClusterProps {
  /** The cluster's name: the admin kubeconfig's cluster and context are named after it. */
  readonly name: string;
  /** Directory for PKI, etcd data, kubeconfig and logs; created if missing. One cluster at a time. */
  readonly stateDir: string;
  /** @default loadToolchain() */
  readonly toolchain?: Toolchain;
  /** @default createLogger('local-cluster') */
  readonly logger?: Logger;
  /**
   * Where the cluster's processes run and are probed from: the host, or a firewalled site
   * (dev/netns) standing in for a cluster behind a firewall. @default HOST_PLACEMENT
   */
  readonly placement?: ProcessPlacement;
  /** Fixed ports; any not given is a free port on 127.0.0.1. @default {} */
  readonly ports?: LocalClusterPorts;
  /** Start of every certificate's validity. @default new Date() */
  readonly now?: Date;
  /** @default see LocalClusterTimeouts */
  readonly timeouts?: LocalClusterTimeouts;
  /** Write kube-apiserver's audit log (metadata of every request) to `auditLogPath`. @default true */
  readonly auditLog?: boolean;
  /** Extra etcd flags, after the harness's own. @default [] */
  readonly extraEtcdArgs?: readonly string[];
  /** Extra kube-apiserver flags, after the harness's own. @default [] */
  readonly extraApiserverArgs?: readonly string[];
  /**
   * Which components run: 'apiserver-only' (etcd, kube-apiserver) or 'full' (also
   * kube-scheduler, kube-controller-manager, and kwok playing `nodes` nodes).
   * @default 'apiserver-only'
   */
  readonly controlPlane?: LocalClusterControlPlane;
  /**
   * How many nodes kwok plays in a 'full' cluster, named kwok-node-0, kwok-node-1, ...; 0 runs
   * no kwok (nothing runs pods). Setting it needs controlPlane 'full'.
   * @default 1 with controlPlane 'full'
   */
  readonly nodes?: number;
  /** What exec, logs, attach and port-forward do for pods on kwok nodes. @default see KwokPodIoProps */
  readonly podIo?: KwokPodIoProps;
  /** Extra kube-scheduler flags, after the harness's own. @default [] */
  readonly extraSchedulerArgs?: readonly string[];
  /** Extra kube-controller-manager flags, after the harness's own. @default [] */
  readonly extraControllerManagerArgs?: readonly string[];
  /** Extra kwok flags, after the harness's own. @default [] */
  readonly extraKwokArgs?: readonly string[];
}

export const DEFAULT_TIMEOUTS: Required<LocalClusterTimeouts> = {
  etcdReadyMs: 30_000,
  apiserverReadyMs: 90_000,
  stopMs: 15_000,
  controlPlaneReadyMs: 60_000,
  nodesReadyMs: 60_000,
};
const MAX_NODES = 100;
const FULL_ONLY_PORTS = ['kubeScheduler', 'kubeControllerManager', 'kwok'] as const;

export function validateLocalClusterProps(props: LocalClusterProps): void {
  if (!props.name || /\s/.test(props.name)) throw new LocalClusterConfigError(`name must be non-empty without whitespace, got ${JSON.stringify(props.name)}`);
  if (!props.stateDir) throw new LocalClusterConfigError('stateDir must be set');
  const fixed = Object.entries(props.ports ?? {}).filter(([, p]) => p !== undefined) as [string, number][];
  for (const [key, port] of fixed) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LocalClusterConfigError(`ports.${key} must be a TCP port (1-65535), got ${port}`);
  }
  const full = props.controlPlane === 'full';
  if (props.controlPlane !== undefined && props.controlPlane !== 'apiserver-only' && !full) {
    throw new LocalClusterConfigError(`controlPlane must be 'apiserver-only' or 'full', got ${JSON.stringify(props.controlPlane)}`);
  }
  if (props.nodes !== undefined) {
    if (!full) throw new LocalClusterConfigError(`nodes needs controlPlane 'full' (nothing runs pods without a scheduler), got nodes ${props.nodes}`);
    if (!Number.isInteger(props.nodes) || props.nodes < 0 || props.nodes > MAX_NODES) throw new LocalClusterConfigError(`nodes must be an integer from 0 to ${MAX_NODES}, got ${props.nodes}`);
  }
  for (const key of FULL_ONLY_PORTS) {
    if (props.ports?.[key] !== undefined && !full) throw new LocalClusterConfigError(`ports.${key} needs controlPlane 'full'`);
  }
  if ((props.podIo !== undefined || props.extraKwokArgs !== undefined || props.ports?.kwok !== undefined) && (!full || props.nodes === 0)) {
    throw new LocalClusterConfigError(`podIo, extraKwokArgs and ports.kwok need kwok nodes (controlPlane 'full' and nodes of at least 1)`);
  }
  const target = props.podIo?.portForwardTarget;
  if (target !== undefined && (!Number.isInteger(target) || target < 1 || target > 65535)) {
    throw new LocalClusterConfigError(`podIo.portForwardTarget must be a TCP port (1-65535), got ${target}`);
  }
  const seen = new Map<number, string>();
  for (const [key, port] of fixed) {
    const other = seen.get(port);
    if (other) throw new LocalClusterConfigError(`ports.${other} and ports.${key} are both ${port}`);
    seen.set(port, key);
  }
}
