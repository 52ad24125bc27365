/**
 * Why: the revocation benchmark's victims and bystanders are open watches of two kinds (a real
 * `kubectl get -w`, and a raw HTTP/2 watch sent as kubectl sends it); this file opens them and
 * holds what they watch (the namespace, its RBAC and the policy that lets the watchers in), so
 * that bench/revocation.ts reads as the rounds it measures.
 */
import * as http2 from 'node:http2';
import { spawn, type ChildProcess } from 'node:child_process';
import type { LocalStack } from '../dev/stack/local-stack';
import { userServerName } from '../control-plane/identity/user-identity';
import { waitFor } from './bench-support';

export const CLUSTER = 'bench';
export const NAMESPACE = 'watch-ns';
export const GROUP = 'watchers';
const SEED_CONFIGMAP = 'seed';

export type ClientKind = 'raw' | 'kubectl';

export const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: bench-watchers}
spec:
  subjects: {groups: [${GROUP}]}
  clusters: {names: [${CLUSTER}]}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch], namespaces: [${NAMESPACE}]}
`;

// The aggregated view role is empty without kube-controller-manager, hence a role of our own.
export const CLUSTER_OBJECTS = `apiVersion: v1
kind: Namespace
metadata: {name: ${NAMESPACE}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${SEED_CONFIGMAP}, namespace: ${NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bench-watcher}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bench-watchers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-watcher}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ${GROUP}}
`;

/** One user's open watch. Times are performance.now(). */
export interface Watcher {
  readonly user: string;
  readonly kind: ClientKind;
  /** Resolves when the stream is closed (raw) or kubectl exited. */
  readonly closed: Promise<number>;
  closedAt?: number;
  /** First GOAWAY from the edge (raw only). */
  goawayAt?: number;
  output(): string;
  stop(): void;
}

export function rawWatch(stack: LocalStack, user: string, cert: { certPem: string; keyPem: string }): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    let out = '';
    let settle: (t: number) => void = () => undefined;
    const closed = new Promise<number>((r) => (settle = r));
    const session = http2.connect(stack.edgeUrl, { ca: stack.pki.servingCa.certPem, cert: cert.certPem, key: cert.keyPem, servername: userServerName(user) });
    const watcher: Watcher = {
      user,
      kind: 'raw',
      closed,
      output: () => out,
      stop: () => session.destroy(),
    };
    const markClosed = () => {
      if (watcher.closedAt === undefined) {
        watcher.closedAt = performance.now();
        settle(watcher.closedAt);
      }
    };
    session.on('error', (err) => reject(err));
    session.on('goaway', () => (watcher.goawayAt ??= performance.now()));
    session.on('close', markClosed);
    const stream = session.request({
      ':method': 'GET',
      ':path': `/clusters/${CLUSTER}/api/v1/namespaces/${NAMESPACE}/configmaps?watch=true&allowWatchBookmarks=true`,
      accept: 'application/json',
      'user-agent': 'kubegate-bench/revocation',
    });
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) resolve(watcher);
      else reject(new Error(`watch as ${user} answered ${status}`));
    });
    stream.on('data', (d: string) => (out += d));
    stream.on('error', () => undefined);
    stream.on('close', markClosed);
    stream.end();
  });
}

export async function kubectlWatch(stack: LocalStack, user: string): Promise<Watcher> {
  const kubeconfig = await stack.writeKubeconfig({ user, clusters: [CLUSTER] });
  let out = '';
  const proc: ChildProcess = spawn(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', NAMESPACE, '-w', '-o', 'name']);
  let settle: (t: number) => void = () => undefined;
  const closed = new Promise<number>((r) => (settle = r));
  const watcher: Watcher = { user, kind: 'kubectl', closed, output: () => out, stop: () => proc.kill('SIGKILL') };
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  proc.on('exit', () => {
    watcher.closedAt = performance.now();
    settle(watcher.closedAt);
  });
  // The initial list has been printed: the watch request follows at once.
  await waitFor(() => out.includes(`configmap/${SEED_CONFIGMAP}`) || watcher.closedAt !== undefined, 60_000, `kubectl watch as ${user}`);
  if (watcher.closedAt !== undefined) throw new Error(`kubectl watch as ${user} exited: ${out.trim()}`);
  return watcher;
}
