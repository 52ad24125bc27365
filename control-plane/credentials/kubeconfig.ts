import { stringify } from 'yaml';
import { userServerName } from '../identity/user-identity';

export interface KubeconfigProps {
  /** Base URL of the edge, e.g. https://127.0.0.1:8443 */
  readonly edgeUrl: string;
  /** The CA that signed the edge's serving certificate. */
  readonly edgeCaPem: string;
  readonly user: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** One context per cluster, named after it. */
  readonly clusters: readonly string[];
  /**
   * The suffix of users' TLS server names (identity/user-identity.ts). Every cluster entry
   * carries `tls-server-name: userServerName(user, suffix)`: kubectl sends it as SNI, which
   * selects the user's own filter chain at the edge, and verifies the edge's certificate
   * (which holds the wildcard *.<suffix>) against it instead of the URL's host.
   */
  readonly userServerNameSuffix: string;
  /** @default the first cluster */
  readonly currentCluster?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A self-contained kubeconfig: every cluster goes through the edge at /clusters/<name>. */
/**
 * The context of a kubeconfig issued before any cluster is registered (the hub's first admin
 * credential): the edge itself, so the file still names its user's certificate and the CA, which
 * is what the kubegate CLI calls the admin API with.
 */
export const NO_CLUSTER_CONTEXT = 'kubegate';

export function buildKubeconfig(props: KubeconfigProps): string {
  if (props.clusters.length === 0) return buildKubeconfigWithoutClusters(props);
  const base = props.edgeUrl.replace(/\/+$/, '');
  const userEntry = `kubegate-${props.user}`;
  const serverName = userServerName(props.user, props.userServerNameSuffix);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: props.clusters.map((name) => ({
      name,
      cluster: {
        server: `${base}/clusters/${name}`,
        'certificate-authority-data': b64(props.edgeCaPem),
        'tls-server-name': serverName,
      },
    })),
    users: [{ name: userEntry, user: { 'client-certificate-data': b64(props.clientCertPem), 'client-key-data': b64(props.clientKeyPem) } }],
    contexts: props.clusters.map((name) => ({ name, context: { cluster: name, user: userEntry } })),
    'current-context': props.currentCluster ?? props.clusters[0] ?? '',
  };
  return stringify(doc);
}

function buildKubeconfigWithoutClusters(props: KubeconfigProps): string {
  const userEntry = `kubegate-${props.user}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: NO_CLUSTER_CONTEXT, cluster: { server: props.edgeUrl.replace(/\/+$/, ''), 'certificate-authority-data': b64(props.edgeCaPem), 'tls-server-name': userServerName(props.user, props.userServerNameSuffix) } }],
    users: [{ name: userEntry, user: { 'client-certificate-data': b64(props.clientCertPem), 'client-key-data': b64(props.clientKeyPem) } }],
    contexts: [{ name: NO_CLUSTER_CONTEXT, context: { cluster: NO_CLUSTER_CONTEXT, user: userEntry } }],
    'current-context': NO_CLUSTER_CONTEXT,
  });
}
