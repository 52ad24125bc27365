/**
 * DNS for a local cluster with real nodes, as every conformant cluster has it: CoreDNS (built
 * by the toolchain) as a Deployment in kube-system behind the Service at CLUSTER_DNS_IP, which
 * the real nodes' kubelets hand every pod as its nameserver. kubegate's hub needs it: the edge
 * Envoy finds the controller by its Service's name. The image is the binary alone, made with
 * crane and pushed to the local registry the nodes pull from; nothing comes from the internet,
 * so names outside the cluster are not forwarded anywhere.
 */
import { stringify } from 'yaml';
import type { LocalCluster } from '../local-cluster/local-cluster';
import { pushSingleBinaryImage } from '../images/single-binary-image';

/** The cluster DNS Service's address: in the local clusters' Service range (10.0.0.0/24), by convention .10. */
export const CLUSTER_DNS_IP = '10.0.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** CoreDNS listens above 1024, so it runs as non-root without capabilities; the Service maps 53 to it. */
const DNS_PORT = 1053;
const NAMESPACE = 'kube-system';
const NAME = 'coredns';

/** The add-on could not be made or did not become ready; `message` says which step. */
export class ClusterDnsError extends Error {
  readonly code = 'ERR_CLUSTER_DNS';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterDnsError';
  }
}

export interface ClusterDnsProps {
  readonly crane: string;
  /** The toolchain's coredns binary. */
  readonly coredns: string;
  /** host:port of the local registry the nodes pull from. */
  readonly registry: string;
  /** Scratch space for the image's layer. */
  readonly workDir: string;
  /** @default 180000 */
  readonly readyTimeoutMs?: number;
}

/** Pushes CoreDNS's image, applies the add-on and waits until it answers. */
export async function installClusterDns(cluster: LocalCluster, props: ClusterDnsProps): Promise<void> {
  const image = await pushSingleBinaryImage({ crane: props.crane, binary: props.coredns, registry: props.registry, repository: 'kubegate-test/coredns', user: '65532:65532', workDir: props.workDir });
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: clusterDnsManifests(image), timeoutMs: 60_000 });
  if (applied.code !== 0) throw new ClusterDnsError(`applying CoreDNS: ${applied.stderr.trim()}`);
  const seconds = Math.round((props.readyTimeoutMs ?? 180_000) / 1000);
  const ready = await cluster.kubectl(['-n', NAMESPACE, 'wait', '--for=condition=Available', `deployment/${NAME}`, `--timeout=${seconds}s`], { timeoutMs: (seconds + 10) * 1000 });
  if (ready.code !== 0) throw new ClusterDnsError(`CoreDNS did not become Available within ${seconds}s: ${ready.stderr.trim()}`);
}

/** The add-on's objects: RBAC to watch Services and endpoints, the Corefile, the Deployment and Service. */
export function clusterDnsManifests(image: string): string {
  const labels = { 'k8s-app': 'kube-dns' };
  const corefile = [
    `.:${DNS_PORT} {`,
    '    errors',
    '    health :8080',
    '    ready :8181',
    `    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '    }',
    '    cache 30',
    '}',
    '',
  ].join('\n');
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: NAMESPACE } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kubegate-test:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubegate-test:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate-test:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NAME, namespace: NAMESPACE }, data: { Corefile: corefile } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            // CoreDNS itself must not ask itself.
            dnsPolicy: 'Default',
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'coredns',
                image,
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: DNS_PORT, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: DNS_PORT, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: NAME } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: NAMESPACE, labels },
      spec: {
        clusterIP: CLUSTER_DNS_IP,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, targetPort: DNS_PORT, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: DNS_PORT, protocol: 'TCP' },
        ],
      },
    },
  ];
  return objects.map((o) => stringify(o)).join('---\n');
}
