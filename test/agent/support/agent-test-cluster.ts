/**
 * What the agent's tests share: one real local cluster per test file, KubeClients for it,
 * applying manifests, and requests as an impersonated identity.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../../dev/local-cluster/local-cluster';
import { silentLogger } from '../../../control-plane/log/logger';
import { loadToolchain } from '../../../dev/toolchain/tools';
import { KubeClient, type KubeClientProps } from '../../../agent/kubernetes/kube-client';
import { isAlreadyExists } from '../../../agent/kubernetes/kube-errors';
import type { KubeObject } from '../../../agent/kubernetes/kube-objects';
import { tlsRequest, type TlsResponse } from '../../support/tls-request';

export interface AgentTestCluster {
  readonly cluster: LocalCluster;
  /** A client authenticated as the harness admin (system:masters). */
  readonly admin: KubeClient;
  /** Stops the cluster, closes clients made here and removes the state directory. */
  stop(): Promise<void>;
  /** A client for this cluster with other credentials or options; closed by stop(). */
  client(props: Partial<KubeClientProps> & Pick<KubeClientProps, 'credentials'>): KubeClient;
}

export async function startAgentTestCluster(name: string): Promise<AgentTestCluster> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `kubegate-${name}-`));
  const cluster = await startLocalCluster({ name, stateDir, toolchain: loadToolchain(), logger: silentLogger });
  const clients: KubeClient[] = [];
  const client = (props: Partial<KubeClientProps> & Pick<KubeClientProps, 'credentials'>) => {
    const c = new KubeClient({ server: cluster.apiserverUrl, caPem: cluster.caPem, ...props });
    clients.push(c);
    return c;
  };
  const admin = client({ credentials: { kind: 'client-certificate', ...cluster.adminCredentials } });
  return {
    cluster,
    admin,
    client,
    async stop() {
      for (const c of clients) c.close();
      await cluster.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  ServiceAccount: 'serviceaccounts',
  ConfigMap: 'configmaps',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
};

/** The collection path a manifest is created in, and its own path. */
export function manifestPaths(obj: KubeObject): { collection: string; object: string } {
  const plural = PLURALS[obj.kind];
  if (!plural) throw new Error(`no path known for kind ${obj.kind}`);
  const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
  const ns = obj.metadata.namespace;
  const collection = ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
  return { collection, object: `${collection}/${obj.metadata.name}` };
}

/** Creates each object, or replaces it when it exists (like `kubectl apply` for whole objects). */
export async function applyManifests(client: KubeClient, manifests: readonly KubeObject[]): Promise<void> {
  for (const obj of manifests) {
    const paths = manifestPaths(obj);
    try {
      await client.create(paths.collection, obj);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const current = await client.get<KubeObject>(paths.object);
      await client.replace(paths.object, { ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion } });
    }
  }
}

export const namespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

/** A ClusterRole with one rule; the built-in view/edit roles are empty without the aggregation controller. */
export function clusterRole(name: string, rule: { apiGroups?: string[]; resources: string[]; verbs: string[] }): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: rule.apiGroups ?? [''], ...rule }] };
}

/**
 * RBAC decisions come from the apiserver's informer cache, which trails writes by a moment, so
 * an assertion about what someone may do is retried until it holds (or the deadline passes,
 * and the last failure is thrown).
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Runs `fn`, expecting it to reject, and returns what it rejected with. */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but it resolved');
}

export interface RequestAsOptions {
  /** Bearer token of the caller; without it, the admin's client certificate. */
  readonly token?: string;
  readonly impersonateUser?: string;
  readonly impersonateGroups?: readonly string[];
  readonly method?: string;
  readonly path: string;
  readonly body?: unknown;
}

/** A real request to the apiserver as the admin or a token holder, optionally impersonating. */
export function requestAs(cluster: LocalCluster, opts: RequestAsOptions): Promise<TlsResponse> {
  const headers: Record<string, string | string[]> = { Accept: 'application/json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.impersonateUser) headers['Impersonate-User'] = opts.impersonateUser;
  if (opts.impersonateGroups?.length) headers['Impersonate-Group'] = [...opts.impersonateGroups];
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  return tlsRequest({
    url: `${cluster.apiserverUrl}${opts.path}`,
    caPem: cluster.caPem,
    ...(opts.token ? {} : cluster.adminCredentials),
    method: opts.method ?? 'GET',
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
}

/** Who the apiserver says the caller is (SelfSubjectReview, allowed to every authenticated identity). */
export async function whoAmI(client: KubeClient): Promise<{ username: string; groups: string[] }> {
  const review = await client.create<{ status: { userInfo: { username: string; groups?: string[] } } }>('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
  });
  return { username: review.status.userInfo.username, groups: review.status.userInfo.groups ?? [] };
}
