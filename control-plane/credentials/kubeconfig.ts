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
export function buildKubeconfig(props: KubeconfigProps): string {
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
