/**
 * A single-member etcd on loopback, TLS only: clients must present a certificate from the etcd
 * CA (--client-cert-auth), and the peer port, unused by one member but always opened by etcd,
 * is mutual TLS too.
 */
import * as path from 'node:path';
import { HOST_PLACEMENT, placedGet, type ProcessPlacement } from '../process/process-placement';
import type { ManagedProcess } from '../process/managed-process';
import type { ClusterPki } from './cluster-pki';
import type { Logger } from '../../control-plane/log/logger';

export const ETCD_COMPONENT = 'etcd';
/** The member's name; fixed, since it only has to be unique within a one-member cluster. */
const MEMBER_NAME = 'local';

export interface EtcdProps {
  readonly binary: string;
  /** Where the process runs and is probed from. @default HOST_PLACEMENT */
  readonly placement?: ProcessPlacement;
  readonly stateDir: string;
  readonly logDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly pki: ClusterPki;
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** Appended after the harness's own flags. @default [] */
  readonly extraArgs?: readonly string[];
}

export interface Etcd {
  /** https://127.0.0.1:<clientPort> */
  readonly url: string;
  readonly process: ManagedProcess;
}

export function etcdDataDir(stateDir: string): string {
  return path.join(stateDir, 'etcd-data');
}

export function etcdArgs(props: Pick<EtcdProps, 'stateDir' | 'clientPort' | 'peerPort' | 'pki' | 'extraArgs'>): string[] {
  const clientUrl = `https://127.0.0.1:${props.clientPort}`;
  const peerUrl = `https://127.0.0.1:${props.peerPort}`;
  const { pki } = props;
  return [
    `--name=${MEMBER_NAME}`,
    `--data-dir=${etcdDataDir(props.stateDir)}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${MEMBER_NAME}=${peerUrl}`,
    '--initial-cluster-state=new',
    '--client-cert-auth=true',
    `--trusted-ca-file=${pki.etcdCa.certFile}`,
    `--cert-file=${pki.etcdServer.certFile}`,
    `--key-file=${pki.etcdServer.keyFile}`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${pki.etcdCa.certFile}`,
    `--peer-cert-file=${pki.etcdPeer.certFile}`,
    `--peer-key-file=${pki.etcdPeer.keyFile}`,
    ...(props.extraArgs ?? []),
  ];
}

/** Starts etcd and resolves once /health reports healthy; stops it again if it never does. */
export async function startEtcd(props: EtcdProps): Promise<Etcd> {
  const url = `https://127.0.0.1:${props.clientPort}`;
  // The apiserver's own etcd client certificate: the probe proves what the apiserver needs,
  // that this exact identity can reach etcd over mTLS.
  const tls = { caPem: props.pki.etcdCa.certPem, certPem: props.pki.apiserverEtcdClient.certPem, keyPem: props.pki.apiserverEtcdClient.keyPem };
  const placement = props.placement ?? HOST_PLACEMENT;
  const proc = await placement.startReady(
    {
      component: ETCD_COMPONENT,
      binary: props.binary,
      args: etcdArgs(props),
      logFile: path.join(props.logDir, 'etcd.log'),
      logger: props.logger,
      stopTimeoutMs: props.stopTimeoutMs,
    },
    {
      url: `${url}/health`,
      timeoutMs: props.readyTimeoutMs,
      check: async () => {
        const res = await placedGet(placement, `${url}/health`, tls);
        if (res.status !== 200) return `HTTP ${res.status}: ${res.body.trim()}`;
        // {"health":"true","reason":""}: etcd has a leader and no alarms.
        const health = (JSON.parse(res.body) as { health?: unknown }).health;
        return health === 'true' ? null : `unhealthy: ${res.body.trim()}`;
      },
    },
  );
  props.logger.info('etcd ready', { url, pid: proc.pid });
  return { url, process: proc };
}
