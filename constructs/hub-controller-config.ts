/**
 * The controller's configuration file in a cluster (control-plane/server/controller-config.ts
 * describes each field), built from the hub's props. It lives in a Secret because it may hold a
 * PostgreSQL URL with its password. Everything else the controller keeps (CAs, the edge's
 * client certificate, the admin kubeconfig) it creates itself in Secrets on first start
 * (kubernetesSecrets), so nothing secret is in the manifests otherwise. With agentInstall the
 * install listener is on (ports.install), serving links whose manifests name images.agent.
 * Pure: props in, object out.
 */
import type { ResolvedHub } from './hub-settings';

/** Where the controller's pod keeps its files: the SQLite volume, or an emptyDir with PostgreSQL. */
export const CONTROLLER_STATE_DIR = '/var/lib/kubegate';
/** Where the config file is mounted; the controller runs with --config CONTROLLER_CONFIG_FILE. */
export const CONTROLLER_CONFIG_DIR = '/etc/kubegate/controller';
export const CONTROLLER_CONFIG_KEY = 'config.yaml';
export const CONTROLLER_CONFIG_FILE = `${CONTROLLER_CONFIG_DIR}/${CONTROLLER_CONFIG_KEY}`;
/** The edge's node id, which the controller programs and the edge's bootstrap names. */
export const EDGE_NODE_ID = 'kubegate-edge';

/**
 * The config file's content. With store.postgresSecret the `store` field is left out here and
 * added in the pod from the operator's Secret (see hub-controller.ts), so that URL is never in
 * the manifests.
 */
export function hubControllerConfig(hub: ResolvedHub): Record<string, unknown> {
  const { ports } = hub;
  return {
    listenAddress: '0.0.0.0',
    stateDir: CONTROLLER_STATE_DIR,
    ...(hub.store.kind === 'sqlite' ? { store: `sqlite:${CONTROLLER_STATE_DIR}/kubegate.db` } : {}),
    ...(hub.store.kind === 'postgres-url' ? { store: hub.store.url } : {}),
    kubernetesSecrets: { namespace: hub.namespace },
    ...(hub.apiServerNames.length > 0 ? { apiServerNames: [...hub.apiServerNames] } : {}),
    ports: { xds: ports.xds, authz: ports.authz, status: ports.status, agent: ports.agent, tunnel: ports.tunnel, api: ports.api, ...(hub.agentInstall ? { install: ports.install } : {}) },
    edge: {
      nodeId: EDGE_NODE_ID,
      listenAddress: '0.0.0.0',
      listenPort: ports.edge,
      url: hub.edgeUrl,
      ...(hub.edge.userShards !== undefined ? { userShards: hub.edge.userShards } : {}),
    },
    agents: { listenAddress: '0.0.0.0', edgeTunnelAddresses: hub.edgeTunnelAddresses.map((a) => ({ ...a })) },
    ...(hub.maxCertTtl !== undefined ? { maxCertTtl: hub.maxCertTtl } : {}),
    ...(hub.agentInstall ? { agentInstall: agentInstallSection(hub.agentInstall) } : {}),
  };
}

function agentInstallSection(a: NonNullable<ResolvedHub['agentInstall']>): Record<string, unknown> {
  return {
    hubAgentEndpoint: a.hubAgentEndpoint,
    images: { agent: a.images.agent, envoy: a.images.envoy },
    allowedClusterRoles: [...a.allowedClusterRoles],
    publicUrl: a.publicUrl,
    ...(a.publiclyTrusted ? { publiclyTrusted: true } : {}),
    ...(a.tokenTtl !== undefined ? { tokenTtl: a.tokenTtl } : {}),
  };
}
