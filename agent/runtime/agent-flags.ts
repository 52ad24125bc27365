/**
 * The agent's command line. In a pod most of it has defaults from what Kubernetes mounts
 * (the ServiceAccount token and CA, KUBERNETES_SERVICE_HOST/PORT); outside one (the local
 * stack's firewalled sites) every path is given. A bad flag is named before anything starts.
 */
import * as fs from 'node:fs';
import type { AgentProps } from './agent';
import { AgentConfigError } from './agent';
import { CLUSTER_NAME } from '../protocol/identities';

/** Where Kubernetes mounts a pod's ServiceAccount credentials. */
export const IN_CLUSTER_CREDENTIALS_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/kubegate-agent';

export const AGENT_USAGE = `usage: kubegate-agent --cluster NAME --control-plane HOST:PORT --control-plane-ca-file FILE [options]

Joins kubegate (once, with a join token), then keeps a session with its control plane, the
in-cluster Envoy's secrets and the per-user ServiceAccounts of this cluster.

  --cluster NAME                 the cluster's name in kubegate (a DNS label)
  --label KEY=VALUE              a label policies select the cluster by (repeatable)
  --control-plane HOST:PORT      the control plane's agent port
  --control-plane-ca-file FILE   kubegate's internal CA certificate (PEM)
  --join-token-file FILE         the one-time join token (only until the agent holds a certificate);
                                 or the environment variable KUBEGATE_JOIN_TOKEN
  --state-dir DIR                certificate and Envoy secrets (default ${DEFAULT_AGENT_STATE_DIR})
  --kube-server URL              kube-apiserver (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
  --kube-ca-file FILE            its CA (default ${IN_CLUSTER_CREDENTIALS_DIR}/ca.crt)
  --kube-token-file FILE         the agent's ServiceAccount token, re-read when it rotates
                                 (default ${IN_CLUSTER_CREDENTIALS_DIR}/token)
  --allowed-cluster-role NAME    a ClusterRole the cluster admin lets kubegate bind (repeatable;
                                 none given: the cluster's RBAC alone decides)
  --help                         this text`;

export type ParsedAgentFlags = { readonly help: true } | { readonly help: false; readonly props: Omit<AgentProps, 'logger'> };

const VALUE_FLAGS = new Set(['--cluster', '--label', '--control-plane', '--control-plane-ca-file', '--join-token-file', '--state-dir', '--kube-server', '--kube-ca-file', '--kube-token-file', '--allowed-cluster-role']);
const REPEATABLE = new Set(['--label', '--allowed-cluster-role']);

/** Parses and checks the flags, reading the files they name; throws AgentConfigError naming the problem. */
export function parseAgentFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedAgentFlags {
  const single = new Map<string, string>();
  const repeated = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!VALUE_FLAGS.has(name)) throw new AgentConfigError(`unknown argument "${arg}" (see --help)`);
    const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new AgentConfigError(`${name} needs a value`);
    if (REPEATABLE.has(name)) repeated.set(name, [...(repeated.get(name) ?? []), value]);
    else if (single.has(name)) throw new AgentConfigError(`${name} is given twice`);
    else single.set(name, value);
  }

  const cluster = single.get('--cluster');
  if (!cluster) throw new AgentConfigError('--cluster is required');
  if (!CLUSTER_NAME.test(cluster)) throw new AgentConfigError(`--cluster "${cluster}" must be a DNS label (lowercase letters, digits and '-', at most 63)`);

  const labels: Record<string, string> = {};
  for (const label of repeated.get('--label') ?? []) {
    const eq = label.indexOf('=');
    if (eq <= 0) throw new AgentConfigError(`--label "${label}" must be KEY=VALUE`);
    labels[label.slice(0, eq)] = label.slice(eq + 1);
  }

  const controlPlane = single.get('--control-plane');
  if (!controlPlane) throw new AgentConfigError('--control-plane HOST:PORT is required');
  const cp = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(controlPlane);
  const cpPort = cp ? Number(cp[2]) : 0;
  if (!cp || cpPort < 1 || cpPort > 65535) throw new AgentConfigError(`--control-plane "${controlPlane}" must be HOST:PORT`);
  const caFile = single.get('--control-plane-ca-file');
  if (!caFile) throw new AgentConfigError('--control-plane-ca-file is required');
  const cpCaPem = readFile('--control-plane-ca-file', caFile);
  if (!cpCaPem.includes('BEGIN CERTIFICATE')) throw new AgentConfigError(`--control-plane-ca-file ${caFile} holds no PEM certificate`);

  const tokenFile = single.get('--join-token-file');
  const joinToken = tokenFile ? readFile('--join-token-file', tokenFile).trim() : env.KUBEGATE_JOIN_TOKEN?.trim();

  const server = single.get('--kube-server') ?? inClusterServer(env);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new AgentConfigError(`--kube-server "${server}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw new AgentConfigError(`--kube-server "${server}" must be https://: the agent never talks to kube-apiserver in plaintext`);
  const kubeCaFile = single.get('--kube-ca-file') ?? `${IN_CLUSTER_CREDENTIALS_DIR}/ca.crt`;
  const kubeCaPem = readFile('--kube-ca-file', kubeCaFile);
  const kubeTokenFile = single.get('--kube-token-file') ?? `${IN_CLUSTER_CREDENTIALS_DIR}/token`;
  if (!fs.existsSync(kubeTokenFile)) throw new AgentConfigError(`--kube-token-file ${kubeTokenFile} does not exist (outside a pod, give the agent's ServiceAccount token file)`);

  const allowed = repeated.get('--allowed-cluster-role');
  return {
    help: false,
    props: {
      cluster,
      labels,
      stateDir: single.get('--state-dir') ?? DEFAULT_AGENT_STATE_DIR,
      controlPlane: { host: cp[1]!.replace(/^\[|\]$/g, ''), port: cpPort, caPem: cpCaPem },
      ...(joinToken ? { joinToken } : {}),
      kube: { server, caPem: kubeCaPem, credentials: { kind: 'token-file', path: kubeTokenFile } },
      ...(allowed ? { allowedClusterRoles: allowed } : {}),
    },
  };
}

function inClusterServer(env: NodeJS.ProcessEnv): string {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new AgentConfigError('--kube-server is required outside a pod (KUBERNETES_SERVICE_HOST is not set)');
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function readFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
