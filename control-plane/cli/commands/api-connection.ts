/**
 * How a CLI command finds the admin API and who it calls as, the same way for every command:
 *
 *   server:      --server URL, else $KUBEGATE_SERVER, else `apiUrl` in the local stack's
 *                stack.json (--state-dir, $KUBEGATE_STATE_DIR, .state)
 *   credentials: --kubeconfig FILE, else the first file of $KUBECONFIG, else
 *                <state-dir>/admin.kubeconfig; its current context's user's client
 *                certificate and key, and its cluster's CA for the API's server certificate
 *
 * A kubeconfig kubegate issued therefore works as is: the identity that reaches clusters
 * through the edge is the identity that calls the API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ApiClient } from '../api-client';
import { UsageError } from '../cli-error';
import { defaultStateDir, readStackDescriptor, StackNotRunningError } from '../stack-descriptor';

/** parseArgs options every API command accepts. */
export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  kubeconfig: { type: 'string' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONNECTION_HELP = `Connection:
  --server URL          the kubegate API (default $KUBEGATE_SERVER, else the local stack's)
  --kubeconfig FILE     whose client certificate to call as (default the first file of
                        $KUBECONFIG, else <state-dir>/admin.kubeconfig)
  --state-dir DIR       the local stack's state directory (default .state or
                        $KUBEGATE_STATE_DIR)
`;

export interface ConnectionValues {
  readonly server?: string;
  readonly kubeconfig?: string;
  readonly 'state-dir'?: string;
}

/** A kubeconfig that cannot be used to call the API; the message says which part is missing. */
export class KubeconfigCredentialsError extends Error {
  readonly code = 'ERR_KUBECONFIG_CREDENTIALS';
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigCredentialsError';
  }
}

export interface KubeconfigCredentials {
  readonly file: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export function connect(values: ConnectionValues, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const stateDir = path.resolve(values['state-dir'] ?? defaultStateDir(env));
  const server = values.server ?? (env.KUBEGATE_SERVER || undefined) ?? serverFromStack(stateDir);
  const credentials = readKubeconfigCredentials(kubeconfigFile(values, env, stateDir));
  return new ApiClient({ server, caPem: credentials.caPem, certPem: credentials.certPem, keyPem: credentials.keyPem });
}

function serverFromStack(stateDir: string): string {
  let descriptor;
  try {
    descriptor = readStackDescriptor(stateDir);
  } catch (err) {
    // Say how to reach a control plane that is not the local stack, too.
    if (err instanceof StackNotRunningError) err.message += '; or pass --server URL (or set KUBEGATE_SERVER)';
    throw err;
  }
  if (!descriptor.apiUrl) {
    throw new UsageError(`the local stack in ${stateDir} does not serve the admin API (stack.json has no apiUrl); pass --server URL or set KUBEGATE_SERVER`);
  }
  return descriptor.apiUrl;
}

function kubeconfigFile(values: ConnectionValues, env: NodeJS.ProcessEnv, stateDir: string): string {
  if (values.kubeconfig) return path.resolve(values.kubeconfig);
  const first = (env.KUBECONFIG ?? '').split(path.delimiter).find((f) => f.length > 0);
  if (first) return path.resolve(first);
  return path.join(stateDir, 'admin.kubeconfig');
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name?: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name?: string; cluster?: Record<string, unknown> }[];
  users?: { name?: string; user?: Record<string, unknown> }[];
}

/** The client certificate, key and CA of a kubeconfig's current context. */
export function readKubeconfigCredentials(file: string): KubeconfigCredentials {
  let doc: KubeconfigDoc;
  try {
    doc = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as KubeconfigDoc;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      throw new KubeconfigCredentialsError(`kubeconfig ${file} does not exist; pass --kubeconfig FILE with a kubeconfig kubegate issued`);
    }
    throw new KubeconfigCredentialsError(`cannot read kubeconfig ${file}: ${e.message}`);
  }
  const name = doc['current-context'];
  if (!name) throw new KubeconfigCredentialsError(`kubeconfig ${file} has no current-context`);
  const context = doc.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new KubeconfigCredentialsError(`kubeconfig ${file}: current context "${name}" is not defined`);
  const user = doc.users?.find((u) => u.name === context.user)?.user;
  if (!user) throw new KubeconfigCredentialsError(`kubeconfig ${file}: user "${context.user}" of context "${name}" is not defined`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new KubeconfigCredentialsError(`kubeconfig ${file}: cluster "${context.cluster}" of context "${name}" is not defined`);
  const dir = path.dirname(file);
  const pem = (entry: Record<string, unknown>, key: string, what: string): string => {
    const data = entry[`${key}-data`];
    if (typeof data === 'string' && data.length > 0) return Buffer.from(data, 'base64').toString('utf8');
    const ref = entry[key];
    if (typeof ref === 'string' && ref.length > 0) {
      try {
        return fs.readFileSync(path.resolve(dir, ref), 'utf8');
      } catch (err) {
        throw new KubeconfigCredentialsError(`kubeconfig ${file}: cannot read ${key} ${ref}: ${(err as Error).message}`);
      }
    }
    throw new KubeconfigCredentialsError(`kubeconfig ${file}: context "${name}" has no ${what}; the kubegate CLI needs a kubeconfig kubegate issued (client certificate and key)`);
  };
  return {
    file,
    certPem: pem(user, 'client-certificate', 'client certificate'),
    keyPem: pem(user, 'client-key', 'client key'),
    caPem: pem(cluster, 'certificate-authority', 'certificate authority'),
  };
}
