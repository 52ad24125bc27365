/**
 * Why: the stacks read a few things from clusters themselves (is each cluster reachable before
 * anything changes; the hub's admin credential and internal CA, which its controller creates at
 * first start), from inside `pulumi preview` and from dynamic providers, where no Kubernetes
 * client library runs. This reads the one context of a kubeconfig such reads need: the server,
 * its CA, and a client certificate or bearer token. Credentials a program would have to run
 * (exec plugins, auth providers) are refused by name rather than half-supported.
 *
 * Plain functions over node built-ins and `yaml` only: dynamic providers serialize what they call.
 */
import * as fs from 'node:fs';
import { parse } from 'yaml';

/** Where and how to reach one cluster's API, from a kubeconfig context. */
export interface KubeTarget {
  /** https://HOST[:PORT][/path] */
  readonly server: string;
  readonly caPem?: string;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly token?: string;
}

/** A kubeconfig that cannot be used; the message names the part. */
export class KubeconfigError extends Error {
  readonly code = 'ERR_KUBECONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

type Named<T> = { name?: unknown; [key: string]: unknown } & Partial<Record<string, T>>;

/**
 * The target of `context` (default: the current context) of the kubeconfig `text`. `label`
 * names the kubeconfig in errors ("cluster prod-eu's kubeconfig").
 */
export function kubeTarget(text: string, label: string, context?: string): KubeTarget {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new KubeconfigError(`${label} is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object') throw new KubeconfigError(`${label} is not a kubeconfig (no mapping at its top)`);
  const contextName = context ?? (typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined);
  if (!contextName) throw new KubeconfigError(`${label} names no current-context; give a context`);
  const ctx = entry(doc, 'contexts', 'context', contextName, label);
  const clusterName = ctx.cluster;
  if (typeof clusterName !== 'string') throw new KubeconfigError(`${label}: context "${contextName}" names no cluster`);
  const cluster = entry(doc, 'clusters', 'cluster', clusterName, label);
  const server = cluster.server;
  if (typeof server !== 'string' || !/^https:\/\/[^/\s]+/.test(server)) {
    throw new KubeconfigError(`${label}: cluster "${clusterName}" has no https server URL (got ${JSON.stringify(server ?? null)})`);
  }
  const userName = ctx.user;
  const user = typeof userName === 'string' ? entry(doc, 'users', 'user', userName, label) : {};
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw new KubeconfigError(`${label}: user "${String(userName)}" gets its credential from a program (exec or auth-provider), which kubegate's stacks do not run; use a client certificate or a token`);
  }
  const caPem = pem(cluster, 'certificate-authority', label);
  const certPem = pem(user, 'client-certificate', label);
  const keyPem = pem(user, 'client-key', label);
  if ((certPem === undefined) !== (keyPem === undefined)) throw new KubeconfigError(`${label}: user "${String(userName)}" has a client certificate without its key, or a key without its certificate`);
  const token = typeof user.token === 'string' ? user.token : typeof user.tokenFile === 'string' ? readFile(user.tokenFile, label).trim() : undefined;
  return {
    server: server.replace(/\/+$/, ''),
    ...(caPem !== undefined ? { caPem } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(typeof cluster['tls-server-name'] === 'string' ? { tlsServerName: cluster['tls-server-name'] } : {}),
    ...(certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : {}),
    ...(token ? { token } : {}),
  };
}

function entry(doc: Record<string, unknown>, list: string, field: string, name: string, label: string): Record<string, unknown> {
  const items = doc[list];
  const found = Array.isArray(items) ? (items as Named<Record<string, unknown>>[]).find((i) => i && i.name === name) : undefined;
  const value = found?.[field];
  if (!value || typeof value !== 'object') throw new KubeconfigError(`${label} has no ${field} named "${name}"`);
  return value as Record<string, unknown>;
}

/** `<key>-data` (base64) or `<key>` (a file). */
function pem(section: Record<string, unknown>, key: string, label: string): string | undefined {
  const data = section[`${key}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  const file = section[key];
  return typeof file === 'string' ? readFile(file, label) : undefined;
}

function readFile(file: string, label: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`${label} names ${file}, which cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
