/**
 * The edge Envoy's bootstrap in a pod: edgeBootstrap() pointing at the controller Service's DNS
 * name, with its client certificate taken from the Secret the controller keeps current
 * (kubegate-edge-xds-client). The controller renews that certificate (it lives 7 days) and
 * Kubernetes swaps the mounted files in place; a bootstrap naming the files directly would be
 * read once, and the edge would present an expired certificate the next time it reconnects.
 * So the certificate comes through file-based SDS whose TlsCertificate watches the Secret's
 * directory, and Envoy reloads it when the files change. The CA (365 days) stays a plain file.
 * The bootstrap also holds the listener the pod's preStop hook calls (hub-edge-lifecycle.ts).
 */
import { edgeBootstrap } from '../control-plane/envoy/bootstrap';
import { EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET } from '../control-plane/hub-secrets/hub-secrets';
import { EDGE_NODE_ID } from './hub-controller-config';
import { CONTROLLER_REPLICAS_NAME } from './hub-pods';
import { edgeLifecycleResources } from './hub-edge-lifecycle';
import type { ResolvedHub } from './hub-settings';

/** Where the bootstrap ConfigMap and the client certificate's Secret are mounted. */
export const EDGE_BOOTSTRAP_DIR = '/etc/kubegate/edge';
export const EDGE_XDS_CLIENT_DIR = '/etc/kubegate/edge-xds-client';
/** The ConfigMap's keys. */
export const EDGE_BOOTSTRAP_KEY = 'bootstrap.json';
export const EDGE_XDS_CLIENT_SDS_KEY = 'xds-client-sds.json';

const TLS_SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/** The ConfigMap's files: the bootstrap, and the SDS file its clusters take their certificate from. */
export function hubEdgeBootstrapFiles(hub: ResolvedHub): Record<string, string> {
  // Every ready replica: a check one replica leaves to another is retried there (ext_authz retry policy).
  const controller = `${CONTROLLER_REPLICAS_NAME}.${hub.namespace}.svc.${hub.clusterDomain}`;
  const file = (key: string) => `${EDGE_XDS_CLIENT_DIR}/${key}`;
  const bootstrap = edgeBootstrap({
    nodeId: EDGE_NODE_ID,
    adminPort: hub.edge.adminPort,
    // A name, not an address: edgeBootstrap() resolves it (STRICT_DNS), each replica a host.
    controlPlane: { host: controller, port: hub.ports.xds },
    authz: { host: controller, port: hub.ports.authz },
    tls: { certFile: file(EDGE_XDS_CLIENT_KEYS.cert), keyFile: file(EDGE_XDS_CLIENT_KEYS.key), caFile: file(EDGE_XDS_CLIENT_KEYS.ca) },
  }) as { static_resources: { listeners?: object[]; clusters: Array<{ transport_socket: { typed_config: { common_tls_context: Record<string, unknown> } } }> } };
  for (const cluster of bootstrap.static_resources.clusters) {
    const context = cluster.transport_socket.typed_config.common_tls_context;
    delete context.tls_certificates;
    context.tls_certificate_sds_secret_configs = [
      { name: EDGE_XDS_CLIENT_SECRET, sds_config: { path_config_source: { path: `${EDGE_BOOTSTRAP_DIR}/${EDGE_XDS_CLIENT_SDS_KEY}` }, resource_api_version: 'V3' } },
    ];
  }
  // How the pod leaves without failing a request (hub-edge-lifecycle.ts): plain clusters on
  // the loopback, added after the TLS ones above.
  const lifecycle = edgeLifecycleResources(hub.edge.adminPort);
  bootstrap.static_resources.listeners = [...(bootstrap.static_resources.listeners ?? []), ...lifecycle.listeners];
  bootstrap.static_resources.clusters.push(...(lifecycle.clusters as typeof bootstrap.static_resources.clusters));
  const sds = {
    resources: [
      {
        '@type': TLS_SECRET_TYPE,
        name: EDGE_XDS_CLIENT_SECRET,
        tls_certificate: {
          certificate_chain: { filename: file(EDGE_XDS_CLIENT_KEYS.cert) },
          private_key: { filename: file(EDGE_XDS_CLIENT_KEYS.key) },
          // Kubernetes replaces a Secret's files by moving a new directory link into this one.
          watched_directory: { path: EDGE_XDS_CLIENT_DIR },
        },
      },
    ],
  };
  return { [EDGE_BOOTSTRAP_KEY]: JSON.stringify(bootstrap, null, 2), [EDGE_XDS_CLIENT_SDS_KEY]: JSON.stringify(sds, null, 2) };
}
