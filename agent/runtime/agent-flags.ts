/**
 * The agent's command line. In a pod most of it has defaults from what Kubernetes mounts
 * (the ServiceAccount token and CA, KUBERNETES_SERVICE_HOST/PORT); outside one (the local
 * stack's firewalled sites) every path is given. A bad flag is named before anything starts.
 *
 * Node's util.parseArgs splits the arguments (as for the kubegate command); the values are
 * checked against AGENT_FLAGS_SCHEMA with ajv (flag-check.ts); files and URLs, which a schema
 * cannot judge, after it.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { flagCheck } from './flag-check';
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
  --identity-secret NS/NAME      keep the agent's certificate in this Secret (which must exist)
                                 instead of the state directory, so a restarted pod needs no token
  --kube-server URL              kube-apiserver (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
  --kube-ca-file FILE            its CA (default ${IN_CLUSTER_CREDENTIALS_DIR}/ca.crt)
  --kube-token-file FILE         the agent's ServiceAccount token, re-read when it rotates
                                 (default ${IN_CLUSTER_CREDENTIALS_DIR}/token)
  --allowed-cluster-role NAME    a ClusterRole the cluster admin lets kubegate bind (repeatable;
                                 none given: the cluster's RBAC alone decides)
  --envoy-admin HOST:PORT        the in-cluster Envoy's admin interface (the pod's loopback):
                                 readiness waits for its tunnels, and on SIGTERM the agent drains it
                                 so requests in flight finish while another pod takes new ones
  --drain-timeout-seconds N      how long that drain waits for requests in flight (default 20)
  --health-address HOST:PORT     serve /healthz and /readyz here (e.g. 0.0.0.0:8081 for probes)
  --help                         this text`;

export type ParsedAgentFlags = { readonly help: true } | { readonly help: false; readonly props: Omit<AgentProps, 'logger'> };

const SINGLE = { type: 'string' } as const;
const REPEATABLE = { type: 'string', multiple: true } as const;
const OPTIONS = {
  cluster: SINGLE,
  label: REPEATABLE,
  'control-plane': SINGLE,
  'control-plane-ca-file': SINGLE,
  'join-token-file': SINGLE,
  'state-dir': SINGLE,
  'identity-secret': SINGLE,
  'kube-server': SINGLE,
  'kube-ca-file': SINGLE,
  'kube-token-file': SINGLE,
  'allowed-cluster-role': REPEATABLE,
  'envoy-admin': SINGLE,
  'drain-timeout-seconds': SINGLE,
  'health-address': SINGLE,
  help: { type: 'boolean', short: 'h' },
} as const;

/** HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 one, PORT 1 to 65535 in at most five digits. */
const HOST_PORT = '^(\\[[^\\]]+\\]|[^:]+):(?=\\d{1,5}$)(?!0+$)0*(\\d{1,4}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])$';

/** The flags' values; problems are told in this order, the order of the usage text. */
export const AGENT_FLAGS_SCHEMA = {
  type: 'object',
  properties: {
    cluster: {
      type: 'string',
      pattern: CLUSTER_NAME.source,
      problems: { required: '--cluster is required', pattern: `--cluster "{text}" must be a DNS label (lowercase letters, digits and '-', at most 63)` },
    },
    label: { type: 'array', items: { type: 'string', pattern: '^[^=]+=', problems: { pattern: '--label "{text}" must be KEY=VALUE' } } },
    'control-plane': {
      type: 'string',
      pattern: HOST_PORT,
      problems: { required: '--control-plane HOST:PORT is required', pattern: '--control-plane "{text}" must be HOST:PORT' },
    },
    'control-plane-ca-file': { type: 'string', problems: { required: '--control-plane-ca-file is required' } },
    'join-token-file': { type: 'string' },
    'state-dir': { type: 'string' },
    'identity-secret': {
      type: 'string',
      pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$',
      problems: { pattern: '--identity-secret "{text}" must be NAMESPACE/NAME of a Secret' },
    },
    'kube-server': { type: 'string' },
    'kube-ca-file': { type: 'string' },
    'kube-token-file': { type: 'string' },
    'allowed-cluster-role': { type: 'array', items: { type: 'string' } },
    'envoy-admin': { type: 'string', pattern: HOST_PORT, problems: { pattern: '--envoy-admin "{text}" must be HOST:PORT' } },
    'drain-timeout-seconds': {
      type: 'string',
      pattern: '^(0|[1-9]\\d{0,3})$',
      problems: { pattern: '--drain-timeout-seconds "{text}" must be a whole number of seconds from 0 to 9999' },
    },
    'health-address': { type: 'string', pattern: HOST_PORT, problems: { pattern: '--health-address "{text}" must be HOST:PORT' } },
  },
  required: ['cluster', 'control-plane', 'control-plane-ca-file'],
  additionalProperties: false,
};

const checkValues = flagCheck(AGENT_FLAGS_SCHEMA);

interface AgentFlagValues {
  readonly cluster: string;
  readonly label?: readonly string[];
  readonly 'control-plane': string;
  readonly 'control-plane-ca-file': string;
  readonly 'join-token-file'?: string;
  readonly 'state-dir'?: string;
  readonly 'identity-secret'?: string;
  readonly 'kube-server'?: string;
  readonly 'kube-ca-file'?: string;
  readonly 'kube-token-file'?: string;
  readonly 'allowed-cluster-role'?: readonly string[];
  readonly 'envoy-admin'?: string;
  readonly 'drain-timeout-seconds'?: string;
  readonly 'health-address'?: string;
}

/**
 * The flags as given. parseArgs runs without its strict mode so that each mistake is named
 * the agent's way: an unknown or misplaced argument, a flag without a value or given twice.
 */
function flagValues(argv: readonly string[]): Record<string, string | string[]> | 'help' {
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | string[]> = {};
  for (const token of tokens) {
    if (token.kind === 'option' && token.name === 'help' && token.value === undefined) return 'help';
    const option = token.kind === 'option' && token.name !== 'help' ? (OPTIONS as Record<string, { multiple?: boolean }>)[token.name] : undefined;
    if (token.kind !== 'option' || !option) throw new AgentConfigError(`unknown argument "${argv[token.index]}" (see --help)`);
    const flag = `--${token.name}`;
    if (token.value === undefined || token.value === '') throw new AgentConfigError(`${flag} needs a value`);
    if (option.multiple) values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), token.value];
    else if (values[token.name] !== undefined) throw new AgentConfigError(`${flag} is given twice`);
    else values[token.name] = token.value;
  }
  return values;
}

/** Parses and checks the flags, reading the files they name; throws AgentConfigError naming the problem. */
export function parseAgentFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedAgentFlags {
  const given = flagValues(argv);
  if (given === 'help') return { help: true };
  const problem = checkValues(given);
  if (problem !== undefined) throw new AgentConfigError(problem);
  const flags = given as unknown as AgentFlagValues;
  const cluster = flags.cluster;

  const labels: Record<string, string> = {};
  for (const label of flags.label ?? []) {
    const eq = label.indexOf('=');
    labels[label.slice(0, eq)] = label.slice(eq + 1);
  }

  const controlPlane = flags['control-plane'];
  const cpHost = controlPlane.slice(0, controlPlane.lastIndexOf(':'));
  const cpPort = Number(controlPlane.slice(controlPlane.lastIndexOf(':') + 1));
  const caFile = flags['control-plane-ca-file'];
  const cpCaPem = readFile('--control-plane-ca-file', caFile);
  if (!cpCaPem.includes('BEGIN CERTIFICATE')) throw new AgentConfigError(`--control-plane-ca-file ${caFile} holds no PEM certificate`);

  const tokenFile = flags['join-token-file'];
  const joinToken = tokenFile ? readFile('--join-token-file', tokenFile).trim() : env.KUBEGATE_JOIN_TOKEN?.trim();

  const server = flags['kube-server'] ?? inClusterServer(env);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new AgentConfigError(`--kube-server "${server}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw new AgentConfigError(`--kube-server "${server}" must be https://: the agent never talks to kube-apiserver in plaintext`);
  const kubeCaFile = flags['kube-ca-file'] ?? `${IN_CLUSTER_CREDENTIALS_DIR}/ca.crt`;
  const kubeCaPem = readFile('--kube-ca-file', kubeCaFile);
  const kubeTokenFile = flags['kube-token-file'] ?? `${IN_CLUSTER_CREDENTIALS_DIR}/token`;
  if (!fs.existsSync(kubeTokenFile)) throw new AgentConfigError(`--kube-token-file ${kubeTokenFile} does not exist (outside a pod, give the agent's ServiceAccount token file)`);

  const allowed = flags['allowed-cluster-role'];
  const health = flags['health-address'];
  return {
    help: false,
    props: {
      cluster,
      labels,
      stateDir: flags['state-dir'] ?? DEFAULT_AGENT_STATE_DIR,
      controlPlane: { host: cpHost.replace(/^\[|\]$/g, ''), port: cpPort, caPem: cpCaPem },
      ...(joinToken ? { joinToken } : {}),
      kube: { server, caPem: kubeCaPem, credentials: { kind: 'token-file', path: kubeTokenFile } },
      ...(allowed ? { allowedClusterRoles: [...allowed] } : {}),
      ...(flags['envoy-admin'] ? { envoyAdmin: flags['envoy-admin'] } : {}),
      ...(flags['drain-timeout-seconds'] !== undefined ? { drainTimeoutMs: Number(flags['drain-timeout-seconds']) * 1000 } : {}),
      ...(health ? { health: { host: health.slice(0, health.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(health.slice(health.lastIndexOf(':') + 1)) } } : {}),
      ...(flags['identity-secret'] ? { identitySecret: { namespace: flags['identity-secret'].split('/')[0]!, name: flags['identity-secret'].split('/')[1]! } } : {}),
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
