/**
 * What the tunnel-overhead benchmark sets up in a local stack with one tunnelled cluster, and
 * the two ways it sends the same request:
 *
 *   tunnel  through the edge as a kubegate user: mTLS to the edge, ext_authz, the reverse
 *           tunnel (HTTP/2, its own TLS), the in-cluster Envoy (assertion check, credential
 *           injection), then HTTP/1.1 + TLS to kube-apiserver;
 *   direct  straight to kube-apiserver with exactly what the in-cluster Envoy sends it: the
 *           proxy ServiceAccount's token and Impersonate-User naming the user's ServiceAccount,
 *           so the apiserver does the same authentication, impersonation and RBAC work on both.
 */
import type { LocalStack } from '../dev/stack/local-stack';
import type { TunnelSite } from '../dev/stack/tunnel-site';
import { KubeClient } from '../agent/kubernetes/kube-client';
import { PROXY_SERVICE_ACCOUNT } from '../agent/rbac/rbac-names';
import { SYSTEM_NAMESPACE, USERS_NAMESPACE } from '../agent/protocol/identities';
import { serviceAccountName, serviceAccountUsername } from '../agent/service-accounts/service-account-names';
import { issueUserCertificate } from '../control-plane/credentials/user-certificate';
import { userServerName } from '../control-plane/identity/user-identity';
import type { KeyPairPem } from '../control-plane/pki/certificates';
import type { LoadTarget } from './load';
import { getOnce } from './load';
import { waitFor } from './bench-support';

export const CLUSTER = 'bench';
export const GROUP = 'tunnel-bench';
export const BENCH_USER = 'tunnel-bench-user';
export const LIST_NAMESPACE = 'bench-list';
export const WATCH_NAMESPACE = 'bench-watch';
/** The same small GET as bench/edge-overhead.ts, so the two can be read side by side. */
export const SMALL_GET_PATH = '/api/v1/namespaces/default';
/**
 * A local tunnel site lets its agent bind only the ClusterRoles in LOCAL_ALLOWED_CLUSTER_ROLES
 * (dev/stack/tunnel-site.ts), as a cluster admin would restrict it; this is the reading
 * role among them. It has no rules until created here (no controller manager aggregates roles).
 */
const READER_ROLE = 'kubegate-e2e-reader';

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: tunnel-bench}
spec:
  subjects: {groups: [${GROUP}]}
  clusters: {names: [${CLUSTER}]}
  rules:
    - {apiGroups: [""], resources: [configmaps, namespaces], verbs: [get, list, watch]}
  clusterRoles: [{name: ${READER_ROLE}}]
`;

const CLUSTER_OBJECTS = `apiVersion: v1
kind: Namespace
metadata: {name: ${LIST_NAMESPACE}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${WATCH_NAMESPACE}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: seed, namespace: ${WATCH_NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${READER_ROLE}}
rules:
  - {apiGroups: [""], resources: [configmaps, namespaces], verbs: [get, list, watch]}
`;

/** A kubegate user's client identity at the edge. */
export interface EdgeClient extends KeyPairPem {
  readonly caPem: string;
  readonly servername: string;
}

export class TunnelBench {
  private constructor(
    readonly stack: LocalStack,
    readonly site: TunnelSite,
    /** The cluster's admin, for objects the benchmark needs (never on a measured path). */
    readonly admin: KubeClient,
    readonly user: EdgeClient,
    private readonly proxyToken: string,
  ) {}

  /** Cluster objects, the policy, the bench user and the proxy's token; the user's ServiceAccount exists once this returns. */
  static async prepare(stack: LocalStack): Promise<TunnelBench> {
    const site = stack.tunnelSite(CLUSTER);
    const applied = await site.cluster.kubectl(['apply', '-f', '-'], CLUSTER_OBJECTS);
    if (applied.code !== 0) throw new Error(`could not prepare cluster "${CLUSTER}": ${applied.stderr.trim()}`);
    await stack.applyPolicies([...(await stack.store.getPolicySet()).files, { fileName: 'tunnel-bench.yaml', text: POLICY }], 'bench');
    await stack.createUser(BENCH_USER, [GROUP]);
    const issued = issueUserCertificate(stack.pki.userCa, { user: BENCH_USER, ttlMs: 8 * 3_600_000, now: new Date() });
    const user = { certPem: issued.certPem, keyPem: issued.keyPem, caPem: stack.pki.servingCa.certPem, servername: userServerName(BENCH_USER) };
    const admin = new KubeClient({ server: site.cluster.apiserverUrl, caPem: site.cluster.caPem, credentials: { kind: 'client-certificate', ...site.cluster.adminCredentials } });
    try {
      // A token of the ServiceAccount the in-cluster Envoy authenticates as (it reads its own
      // from the agent's secret files); long enough for the longest run.
      const { token } = await admin.requestServiceAccountToken(SYSTEM_NAMESPACE, PROXY_SERVICE_ACCOUNT, { expirationSeconds: 6 * 3600 });
      const bench = new TunnelBench(stack, site, admin, user, token);
      // The first request through the tunnel makes the agent create the user's ServiceAccount,
      // which the direct side impersonates.
      await bench.check(bench.tunnel(SMALL_GET_PATH));
      // The apiserver's RBAC cache learns of the new binding a moment later.
      const direct = bench.direct(SMALL_GET_PATH);
      await waitFor(async () => (await getOnce(direct)).status === 200, 10_000, 'direct GET', 100).catch(() => bench.check(direct));
      return bench;
    } catch (err) {
      admin.close();
      throw err;
    }
  }

  /** `apiPath` through the edge and the tunnel, as the bench user (or `as`). */
  tunnel(apiPath: string, as: EdgeClient = this.user): LoadTarget {
    return { name: 'tunnel', url: `${this.stack.edgeUrl}/clusters/${CLUSTER}${apiPath}`, ...as };
  }

  /** `apiPath` straight to kube-apiserver, as the in-cluster Envoy sends it for the bench user. */
  direct(apiPath: string): LoadTarget {
    return {
      name: 'direct',
      url: this.site.cluster.apiserverUrl + apiPath,
      caPem: this.site.cluster.caPem,
      headers: {
        Authorization: `Bearer ${this.proxyToken}`,
        'Impersonate-User': serviceAccountUsername(USERS_NAMESPACE, serviceAccountName(BENCH_USER)),
      },
    };
  }

  /** A user of the bench group at the edge, with a certificate of their own. */
  edgeClient(cert: KeyPairPem, user: string): EdgeClient {
    return { certPem: cert.certPem, keyPem: cert.keyPem, caPem: this.stack.pki.servingCa.certPem, servername: userServerName(user) };
  }

  /** The processes on the paths, for CPU per request. */
  get pids(): Record<string, number> {
    return {
      'kube-apiserver': this.site.cluster.pids.apiserver,
      etcd: this.site.cluster.pids.etcd,
      'edge-envoy': this.stack.envoy.pid!,
      'in-cluster-envoy': this.site.envoy.pid!,
      agent: this.site.agent.pid!,
      // The control plane runs in the benchmark's process.
      'control-plane': process.pid,
    };
  }

  /** One GET that must answer 200; the body, for a setup that is not what it should be. */
  async check(target: LoadTarget): Promise<string> {
    const r = await getOnce(target);
    if (r.status !== 200) throw new Error(`GET ${target.url} (${target.name}) answered ${r.status}: ${r.body.slice(0, 300)}`);
    return r.body;
  }

  close(): void {
    this.admin.close();
  }
}
