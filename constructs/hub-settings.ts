/**
 * The hub's props checked in one pass and completed: the shape by hub-props-schema.ts, then what
 * a schema cannot judge (a store that cannot serve the replicas asked for, ports used twice, a
 * tunnel address that cannot be derived), every problem named with its prop. The result has
 * every default filled in, so the hub's parts never guess.
 */
import { parseDurationMs } from '../control-plane/config/duration';
import { MAX_USER_CERT_TTL_MS } from '../control-plane/credentials/user-certificate';
import { MAX_INSTALL_TTL_MS, MIN_INSTALL_TTL_MS } from '../control-plane/agent-gateway/install-token';
import { dottedPath } from '../control-plane/validation/schema-check';
import { checkHubPropsShape } from './hub-props-schema';
import { EDGE_LIFECYCLE_PORT } from './hub-edge-lifecycle';
import { KubegateHubPropsError, type HubResources, type KubegateHubProps } from './hub-props';

export interface ResolvedResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

export type ResolvedStore =
  | { readonly kind: 'sqlite'; readonly size: string; readonly storageClass?: string }
  | { readonly kind: 'postgres-url'; readonly url: string }
  | { readonly kind: 'postgres-secret'; readonly secret: string; readonly key: string };

export interface HubPorts {
  readonly xds: number;
  readonly authz: number;
  readonly status: number;
  readonly agent: number;
  readonly tunnel: number;
  readonly api: number;
  readonly install: number;
  readonly edge: number;
}

/** agentInstall with its defaults: the controller config's `agentInstall` section. */
export interface ResolvedAgentInstall {
  readonly hubAgentEndpoint: string;
  readonly publicUrl: string;
  readonly images: { readonly agent: string; readonly envoy: string };
  readonly allowedClusterRoles: readonly string[];
  readonly publiclyTrusted: boolean;
  readonly tokenTtl?: string;
}

/** The props with every default filled in. */
export interface ResolvedHub {
  readonly namespace: string;
  readonly images: { readonly controller: string; readonly envoy: string };
  readonly edgeUrl: string;
  /** The edge Service's user port: edgeUrl's port. */
  readonly edgeServicePort: number;
  /** Each edge replica's tunnel Service as member clusters reach it, by ordinal (replica i at edgeTunnelAddress's port + i). */
  readonly edgeTunnelAddresses: readonly { readonly host: string; readonly port: number }[];
  readonly controller: { readonly replicas: number; readonly resources: ResolvedResources };
  readonly edge: { readonly replicas: number; readonly resources: ResolvedResources; readonly adminPort: number; readonly userShards?: number };
  readonly store: ResolvedStore;
  readonly serviceType: 'LoadBalancer' | 'NodePort';
  readonly nodePorts: NonNullable<KubegateHubProps['nodePorts']>;
  readonly serviceAnnotations: Readonly<Record<string, string>>;
  readonly ports: HubPorts;
  readonly apiAllowedCidrs: readonly string[];
  readonly apiServerNames: readonly string[];
  readonly metricsNamespaceSelector: Readonly<Record<string, string>>;
  readonly clusterDomain: string;
  readonly maxCertTtl?: string;
  /** One-command imports; undefined when off. */
  readonly agentInstall?: ResolvedAgentInstall;
}

export const DEFAULT_HUB_NAMESPACE = 'kubegate-system';
export const DEFAULT_HUB_PORTS: HubPorts = { xds: 18000, authz: 18001, status: 18002, agent: 18003, tunnel: 18004, api: 18005, install: 18006, edge: 8443 };
const CONTROLLER_RESOURCES: ResolvedResources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } };
const EDGE_RESOURCES: ResolvedResources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } };

/** Checks the props and fills in every default; throws KubegateHubPropsError naming every problem. */
export function resolveHubProps(props: KubegateHubProps): ResolvedHub {
  const shape = checkHubPropsShape(props).map((issue) => `${dottedPath(issue.path) || 'props'}: ${issue.message}`);
  if (shape.length > 0) throw new KubegateHubPropsError(shape);
  const problems: string[] = [];
  const ports: HubPorts = { ...DEFAULT_HUB_PORTS, ...props.ports };
  const byPort = new Map<number, string[]>();
  for (const [name, port] of Object.entries(ports)) byPort.set(port, [...(byPort.get(port) ?? []), name]);
  for (const [port, names] of byPort) if (names.length > 1) problems.push(`ports: ${port} is used by ${names.join(' and ')} (each listener needs its own)`);
  const adminPort = props.edge?.adminPort ?? 9901;
  if (byPort.has(adminPort)) problems.push(`edge.adminPort: ${adminPort} is also ports.${byPort.get(adminPort)!.join(', ports.')}`);
  // The edge's preStop listener (hub-edge-lifecycle.ts) has a port of its own in the pod.
  const lifecycleTakenBy = adminPort === EDGE_LIFECYCLE_PORT ? ['edge.adminPort'] : (byPort.get(EDGE_LIFECYCLE_PORT) ?? []).map((name) => `ports.${name}`);
  if (lifecycleTakenBy.length > 0) problems.push(`${lifecycleTakenBy.join(', ')}: ${EDGE_LIFECYCLE_PORT} is the edge's lifecycle port (its pods' preStop hook calls it); choose another`);

  const store = resolveStore(props.store ?? {}, problems);
  const replicas = props.controller?.replicas ?? 1;
  if (replicas > 1 && store.kind === 'sqlite') {
    problems.push(`controller.replicas: ${replicas} replicas need an external PostgreSQL (store.postgresUrl or store.postgresSecret): SQLite on a volume serves one replica only`);
  }
  const url = new URL(props.edgeUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const edgeServicePort = url.port === '' ? 443 : Number(url.port);
  if (edgeServicePort === ports.tunnel) problems.push(`edgeUrl: its port ${edgeServicePort} is also ports.tunnel, and the edge Service carries both`);
  const serviceType = props.serviceType ?? 'LoadBalancer';
  const nodePorts = props.nodePorts ?? {};
  const edgeReplicas = props.edge?.replicas ?? 1;
  const edgeTunnelAddress = resolveTunnelAddress(props, { host, ports, serviceType, nodePorts, edgeReplicas }, problems);
  const agentInstall = props.agentInstall && resolveAgentInstall(props, problems);
  if (props.maxCertTtl !== undefined && parseDurationMs(props.maxCertTtl) > MAX_USER_CERT_TTL_MS) problems.push(`maxCertTtl: must be at most 24h (user certificates are short-lived by design), got ${JSON.stringify(props.maxCertTtl)}`);
  if (problems.length > 0) throw new KubegateHubPropsError(problems);

  return {
    namespace: props.namespace ?? DEFAULT_HUB_NAMESPACE,
    images: { controller: props.images.controller, envoy: props.images.envoy },
    edgeUrl: props.edgeUrl.replace(/\/$/, ''),
    edgeServicePort,
    edgeTunnelAddresses: Array.from({ length: edgeReplicas }, (_, i) => ({ host: edgeTunnelAddress!.host, port: edgeTunnelAddress!.port + i })),
    controller: { replicas, resources: resourcesOf(props.controller ?? {}, CONTROLLER_RESOURCES) },
    edge: {
      replicas: edgeReplicas,
      resources: resourcesOf(props.edge ?? {}, EDGE_RESOURCES),
      adminPort,
      ...(props.edge?.userShards !== undefined ? { userShards: props.edge.userShards } : {}),
    },
    store,
    serviceType,
    nodePorts,
    serviceAnnotations: props.serviceAnnotations ?? {},
    ports,
    apiAllowedCidrs: props.apiAllowedCidrs ?? [],
    apiServerNames: props.apiServerNames ?? [],
    metricsNamespaceSelector: props.metricsNamespaceSelector ?? { 'kubernetes.io/metadata.name': 'monitoring' },
    clusterDomain: props.clusterDomain ?? 'cluster.local',
    ...(props.maxCertTtl !== undefined ? { maxCertTtl: props.maxCertTtl } : {}),
    ...(agentInstall ? { agentInstall } : {}),
  };
}

interface TunnelContext {
  readonly host: string;
  readonly ports: HubPorts;
  readonly serviceType: 'LoadBalancer' | 'NodePort';
  readonly nodePorts: NonNullable<KubegateHubProps['nodePorts']>;
  readonly edgeReplicas: number;
}

/**
 * Where member clusters dial edge replica 0 (replica i at its port + i), and the rules that
 * keep every replica's tunnel reachable there. With LoadBalancer and one replica the user
 * Service carries the tunnel port too, so edgeUrl's host serves; more replicas have a load
 * balancer each (port ports.tunnel + i), which must answer at edgeUrl's host (a shared address)
 * unless edgeTunnelAddress says where they do. With NodePort, replica i's nodePort is
 * nodePorts.tunnel + i, so several replicas need it fixed.
 */
function resolveTunnelAddress(props: KubegateHubProps, c: TunnelContext, problems: string[]): { host: string; port: number } | undefined {
  const { ports, nodePorts, edgeReplicas } = c;
  const last = (first: number) => first + edgeReplicas - 1;
  let address: { host: string; port: number } | undefined;
  if (props.edgeTunnelAddress !== undefined) {
    const i = props.edgeTunnelAddress.lastIndexOf(':');
    address = { host: props.edgeTunnelAddress.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(props.edgeTunnelAddress.slice(i + 1)) };
  } else if (c.serviceType === 'LoadBalancer') address = { host: c.host, port: ports.tunnel };
  else if (nodePorts.tunnel !== undefined) address = { host: c.host, port: nodePorts.tunnel };
  else problems.push('edgeTunnelAddress: is required with serviceType NodePort unless nodePorts.tunnel is fixed (member clusters must know where the tunnel listener is)');

  if (address && last(address.port) > 65535) {
    problems.push(`edge.replicas: ${edgeReplicas} replicas need tunnel ports ${address.port} to ${last(address.port)}, past 65535 (edgeTunnelAddress or nodePorts.tunnel is too high)`);
  }
  if (edgeReplicas > 1 && c.serviceType === 'NodePort' && nodePorts.tunnel === undefined && props.edgeTunnelAddress !== undefined) {
    problems.push(`nodePorts.tunnel: is required with serviceType NodePort and ${edgeReplicas} edge replicas (replica i's tunnel nodePort is nodePorts.tunnel + i, which member clusters dial)`);
  }
  const nodePortFirst = nodePorts.tunnel;
  // (When the address is derived from nodePorts.tunnel, the address rule above has said it.)
  if (nodePortFirst !== undefined && props.edgeTunnelAddress !== undefined && last(nodePortFirst) > 65535) {
    problems.push(`nodePorts.tunnel: ${edgeReplicas} edge replicas' tunnel nodePorts run from ${nodePortFirst} to ${last(nodePortFirst)}, past 65535`);
  }
  if (nodePortFirst !== undefined && edgeReplicas > 1) {
    for (const [name, port] of Object.entries(nodePorts)) {
      if (name !== 'tunnel' && port !== undefined && port >= nodePortFirst && port <= last(nodePortFirst)) {
        problems.push(`nodePorts.${name}: ${port} is one of the edge replicas' tunnel nodePorts (nodePorts.tunnel ${nodePortFirst} to ${last(nodePortFirst)}, one per replica)`);
      }
    }
  }
  if (edgeReplicas > 1 && c.serviceType === 'LoadBalancer') {
    if (last(ports.tunnel) > 65535) problems.push(`ports.tunnel: ${edgeReplicas} edge replicas' tunnel Services listen on ${ports.tunnel} to ${last(ports.tunnel)}, past 65535`);
  }
  return address;
}

/** The controller checks the same at start (controller-config.ts); here it fails before anything is applied. */
function resolveAgentInstall(props: KubegateHubProps, problems: string[]): ResolvedAgentInstall | undefined {
  const a = props.agentInstall!;
  if (props.images.agent === undefined) problems.push('images.agent: is required with agentInstall (the agent image install links deploy)');
  if (a.tokenTtl !== undefined) {
    const ms = parseDurationMs(a.tokenTtl);
    if (ms < MIN_INSTALL_TTL_MS || ms > MAX_INSTALL_TTL_MS) problems.push(`agentInstall.tokenTtl: must be at least 1s and at most 24h (install links are short-lived by design), got ${JSON.stringify(a.tokenTtl)}`);
  }
  if (props.images.agent === undefined) return undefined;
  return {
    hubAgentEndpoint: a.hubAgentEndpoint,
    publicUrl: a.publicUrl.replace(/\/$/, ''),
    images: { agent: props.images.agent, envoy: props.images.envoy },
    allowedClusterRoles: [...new Set(a.allowedClusterRoles ?? [])].sort(),
    publiclyTrusted: a.publiclyTrusted ?? false,
    ...(a.tokenTtl !== undefined ? { tokenTtl: a.tokenTtl } : {}),
  };
}

function resolveStore(store: NonNullable<KubegateHubProps['store']>, problems: string[]): ResolvedStore {
  const postgres = store.postgresUrl !== undefined || store.postgresSecret !== undefined;
  if (store.postgresUrl !== undefined && store.postgresSecret !== undefined) problems.push('store: give postgresUrl or postgresSecret, not both');
  if (store.postgresSecretKey !== undefined && store.postgresSecret === undefined) problems.push('store.postgresSecretKey: only means something with store.postgresSecret');
  if (postgres) {
    for (const field of ['sqliteVolumeSize', 'sqliteStorageClass'] as const) if (store[field] !== undefined) problems.push(`store.${field}: only means something without PostgreSQL`);
  }
  if (store.postgresUrl !== undefined) return { kind: 'postgres-url', url: store.postgresUrl };
  if (store.postgresSecret !== undefined) return { kind: 'postgres-secret', secret: store.postgresSecret, key: store.postgresSecretKey ?? 'url' };
  return { kind: 'sqlite', size: store.sqliteVolumeSize ?? '1Gi', ...(store.sqliteStorageClass !== undefined ? { storageClass: store.sqliteStorageClass } : {}) };
}

function resourcesOf(given: HubResources, defaults: ResolvedResources): ResolvedResources {
  return {
    requests: { cpu: given.cpuRequest ?? defaults.requests.cpu, memory: given.memoryRequest ?? defaults.requests.memory },
    limits: { cpu: given.cpuLimit ?? defaults.limits.cpu, memory: given.memoryLimit ?? defaults.limits.memory },
  };
}
