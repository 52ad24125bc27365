/**
 * What an operator says about a hub (KubegateHubProps), checked in one pass before anything is
 * built: the shape by one JSON Schema (ajv, through validation/schema-check.ts), then what a
 * schema cannot judge (a store that cannot serve the replicas asked for, ports used twice, a
 * tunnel address that cannot be derived), every problem named with its prop. The result is the
 * props with every default filled in, so the hub's parts never guess.
 *
 * Props are at most two levels deep (`controller.replicas`, `store.postgresUrl`) so that
 * `kubegate manifests hub --set KEY=VALUE` can reach each of them.
 */
import { parseDurationMs } from '../control-plane/config/duration';
import { MAX_USER_CERT_TTL_MS } from '../control-plane/credentials/user-certificate';
import { isUserShardCount, MAX_USER_SHARDS } from '../control-plane/identity/user-identity';
import { dottedPath, schemaCheck } from '../control-plane/validation/schema-check';

/** Requests and limits of one container, as Kubernetes quantities. */
export interface HubResources {
  /** @default per component (see KubegateHubProps) */
  readonly cpuRequest?: string;
  readonly cpuLimit?: string;
  readonly memoryRequest?: string;
  readonly memoryLimit?: string;
}

export interface KubegateHubProps {
  /** Where every object of the hub lives (created by the construct). @default 'kubegate-system' */
  readonly namespace?: string;
  /** Container images, by digest in production (`kubegate dev images` builds them). */
  readonly images: { readonly controller: string; readonly envoy: string };
  /**
   * The edge's public URL, https://HOST[:PORT], as users' kubectl reaches it: written into every
   * kubeconfig. Its port is the edge Service's user port. @default port 443
   */
  readonly edgeUrl: string;
  /**
   * Where member clusters' in-cluster Envoys reach the edge's tunnel listener, HOST:PORT.
   * @default edgeUrl's host, with the edge Service's tunnel port (its fixed nodePort with NodePort)
   */
  readonly edgeTunnelAddress?: string;
  /** The controller. @default 1 replica, 100m/1 CPU, 128Mi/512Mi memory */
  readonly controller?: HubResources & {
    /** More than one needs an external PostgreSQL (store.postgresUrl or store.postgresSecret). @default 1 */
    readonly replicas?: number;
  };
  /** The edge Envoy. @default 1 replica, 100m/2 CPU, 128Mi/1Gi memory */
  readonly edge?: HubResources & {
    /**
     * Envoys behind the edge Service. Each holds only the reverse tunnels that reached it, so
     * tunnelled clusters want one; more suit clusters the edge reaches directly. @default 1
     */
    readonly replicas?: number;
    /** Listeners users' filter chains are split across (a power of two, 1-256). @default the controller's (16) */
    readonly userShards?: number;
    /** Envoy's admin port, on the pod's loopback only. @default 9901 */
    readonly adminPort?: number;
  };
  /**
   * The store. Give a PostgreSQL URL (put into the controller's config Secret) or an existing
   * Secret holding one; otherwise SQLite on a PersistentVolumeClaim, for one replica only.
   * @default SQLite, 1Gi, the cluster's default StorageClass
   */
  readonly store?: {
    readonly postgresUrl?: string;
    /** An existing Secret in the namespace whose key (postgresSecretKey) holds the URL. */
    readonly postgresSecret?: string;
    /** @default 'url' */
    readonly postgresSecretKey?: string;
    /** @default '1Gi' */
    readonly sqliteVolumeSize?: string;
    /** @default the cluster's default StorageClass */
    readonly sqliteStorageClass?: string;
  };
  /** How the edge and the controller's public ports (agent, api) leave the cluster. @default 'LoadBalancer' */
  readonly serviceType?: 'LoadBalancer' | 'NodePort';
  /** Fixed nodePorts for the public Services' ports. @default allocated by Kubernetes */
  readonly nodePorts?: { readonly https?: number; readonly tunnel?: number; readonly agent?: number; readonly api?: number };
  /** Annotations of both public Services (a cloud's load balancer settings). @default none */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /**
   * Ports the pods listen on (the pods run as non-root without capabilities: 1024 and up).
   * `edge` is the edge's user listener, `tunnel` its reverse-tunnel listener; the others are
   * the controller's. @default xds 18000, authz 18001, status 18002, agent 18003, tunnel 18004, api 18005, edge 8443
   */
  readonly ports?: { readonly xds?: number; readonly authz?: number; readonly status?: number; readonly agent?: number; readonly tunnel?: number; readonly api?: number; readonly edge?: number };
  /** Source CIDRs allowed to the admin API port. @default anywhere */
  readonly apiAllowedCidrs?: readonly string[];
  /**
   * Labels of the namespaces allowed to scrape the metrics port (a ServiceMonitor's
   * Prometheus); empty means every namespace. @default { 'kubernetes.io/metadata.name': 'monitoring' }
   */
  readonly metricsNamespaceSelector?: Readonly<Record<string, string>>;
  /** The cluster's DNS domain, for the controller Service's name in the edge's bootstrap. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** The longest lifetime of a user certificate (at most 24h). @default the controller's (24h) */
  readonly maxCertTtl?: string;
}

/** The props cannot make a working hub. */
export class KubegateHubPropsError extends Error {
  readonly code = 'ERR_KUBEGATE_HUB_PROPS';
  constructor(readonly problems: readonly string[]) {
    super(`invalid KubegateHub props: ${problems.join('; ')}`);
    this.name = 'KubegateHubPropsError';
  }
}

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
  readonly edge: number;
}

/** The props with every default filled in. */
export interface ResolvedHub {
  readonly namespace: string;
  readonly images: { readonly controller: string; readonly envoy: string };
  readonly edgeUrl: string;
  /** The edge Service's user port: edgeUrl's port. */
  readonly edgeServicePort: number;
  readonly edgeTunnelAddress: { readonly host: string; readonly port: number };
  readonly controller: { readonly replicas: number; readonly resources: ResolvedResources };
  readonly edge: { readonly replicas: number; readonly resources: ResolvedResources; readonly adminPort: number; readonly userShards?: number };
  readonly store: ResolvedStore;
  readonly serviceType: 'LoadBalancer' | 'NodePort';
  readonly nodePorts: NonNullable<KubegateHubProps['nodePorts']>;
  readonly serviceAnnotations: Readonly<Record<string, string>>;
  readonly ports: HubPorts;
  readonly apiAllowedCidrs: readonly string[];
  readonly metricsNamespaceSelector: Readonly<Record<string, string>>;
  readonly clusterDomain: string;
  readonly maxCertTtl?: string;
}

export const DEFAULT_HUB_NAMESPACE = 'kubegate-system';
export const DEFAULT_HUB_PORTS: HubPorts = { xds: 18000, authz: 18001, status: 18002, agent: 18003, tunnel: 18004, api: 18005, edge: 8443 };
const CONTROLLER_RESOURCES: ResolvedResources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } };
const EDGE_RESOURCES: ResolvedResources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } };

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const DNS_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const HOST = '(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*)';
const PORT_TEXT = '([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])';
/** An OCI reference: [registry[:port]/]path[:tag][@sha256:digest], lower-case path components. */
const COMPONENT = '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*';
const IMAGE_REF = `^(${HOST}(:\\d+)?/)?${COMPONENT}(/${COMPONENT})*(:\\w[\\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`;
const CPU = '^([1-9]\\d*m|\\d+(\\.\\d{1,3})?)$';
const MEMORY = '^[1-9]\\d*(Mi|Gi)$';
const CIDR = '^(\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}|[0-9a-fA-F:]+/\\d{1,3})$';

const image = { type: 'string', pattern: IMAGE_REF, problems: { required: 'is required', type: 'must be an image reference', pattern: 'must be an image reference ([registry/]name[:tag][@sha256:<64 hex>]), got {got}' } };
const count = (what: string) => ({ type: 'integer', minimum: 1, maximum: 100, problems: { type: `must be a whole number of ${what} (1-100), got {got}`, minimum: `must be a whole number of ${what} (1-100), got {got}`, maximum: `must be a whole number of ${what} (1-100), got {got}` } });
const quantity = (pattern: string, example: string, unit = '') => {
  const problem = `must be a Kubernetes quantity${unit ? ` ${unit}` : ''} such as ${example}, got {got}`;
  return { type: 'string', pattern, problems: { type: problem, pattern: problem } };
};
const resources = { cpuRequest: quantity(CPU, '100m or 2'), cpuLimit: quantity(CPU, '100m or 2'), memoryRequest: quantity(MEMORY, '128Mi or 1Gi', 'in Mi or Gi'), memoryLimit: quantity(MEMORY, '128Mi or 1Gi', 'in Mi or Gi') };
const listenPort = (() => {
  const problem = 'must be a port from 1024 to 65535 (the pods run as non-root without capabilities), got {got}';
  return { type: 'integer', minimum: 1024, maximum: 65535, problems: { type: problem, minimum: problem, maximum: problem } };
})();
const anyPort = (() => {
  const problem = 'must be a port number (1-65535), got {got}';
  return { type: 'integer', minimum: 1, maximum: 65535, problems: { type: problem, minimum: problem, maximum: problem } };
})();
const labelMap = { type: 'object', additionalProperties: { type: 'string', problems: { type: 'must be a string, got {got}' } }, problems: { type: 'must be a mapping of names to values' } };
/** A mapping whose fields are `properties`, each unknown one named. */
const mapping = (properties: Record<string, object>, what: string, required: string[] = []) => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
  problems: { required: 'is required', type: `must be a mapping of ${what}`, additionalProperties: 'unknown field (expected one of {allowed})' },
});
const text = (pattern: string, problem: string) => ({ type: 'string', pattern, problems: { type: problem, pattern: problem } });
const USER_SHARDS = Array.from({ length: MAX_USER_SHARDS }, (_, i) => i + 1).filter(isUserShardCount);

const PROPS_SCHEMA = {
  type: 'object',
  properties: {
    namespace: text(DNS_LABEL, 'must be a namespace name (DNS label), got {got}'),
    images: mapping({ controller: image, envoy: image }, 'controller and envoy', ['controller', 'envoy']),
    edgeUrl: { type: 'string', pattern: `^https://${HOST}(:${PORT_TEXT})?/?$`, problems: { required: 'is required', type: 'must be the https URL users reach the edge at', pattern: 'must be https://HOST[:PORT] with no path (users reach the edge there), got {got}' } },
    edgeTunnelAddress: text(`^${HOST}:${PORT_TEXT}$`, 'must be HOST:PORT (port 1-65535), got {got}'),
    controller: mapping({ replicas: count('replicas'), ...resources }, 'replicas and resources'),
    edge: mapping({ replicas: count('replicas'), ...resources, userShards: { enum: USER_SHARDS, problems: { enum: 'must be a power of two from 1 to 256, got {got}' } }, adminPort: listenPort }, 'replicas, resources, userShards and adminPort'),
    store: mapping(
      {
        postgresUrl: text('^postgres(ql)?://\\S+$', 'must be a postgres:// URL, got a value that is not one'),
        postgresSecret: text(DNS_NAME, 'must be a Secret name, got {got}'),
        postgresSecretKey: text('^[-._a-zA-Z0-9]+$', 'must be a Secret key, got {got}'),
        sqliteVolumeSize: quantity(MEMORY, '1Gi', 'in Mi or Gi'),
        sqliteStorageClass: text(DNS_NAME, 'must be a StorageClass name, got {got}'),
      },
      'postgresUrl, postgresSecret, postgresSecretKey, sqliteVolumeSize and sqliteStorageClass',
    ),
    serviceType: { enum: ['LoadBalancer', 'NodePort'], problems: { enum: 'must be LoadBalancer or NodePort, got {got}' } },
    nodePorts: mapping({ https: anyPort, tunnel: anyPort, agent: anyPort, api: anyPort }, 'https, tunnel, agent and api ports'),
    serviceAnnotations: labelMap,
    ports: mapping({ xds: listenPort, authz: listenPort, status: listenPort, agent: listenPort, tunnel: listenPort, api: listenPort, edge: listenPort }, 'xds, authz, status, agent, tunnel, api and edge ports'),
    apiAllowedCidrs: { type: 'array', items: text(CIDR, 'must be a CIDR such as 10.0.0.0/8, got {got}'), problems: { type: 'must be a list of CIDRs' } },
    metricsNamespaceSelector: labelMap,
    clusterDomain: text(DNS_NAME, 'must be a DNS domain, got {got}'),
    maxCertTtl: text('^(\\d+(ms|s|m|h|d))+$', 'must be a duration such as 12h, got {got}'),
  },
  required: ['images', 'edgeUrl'],
  additionalProperties: false,
  problems: { type: 'must be an object', additionalProperties: 'unknown prop (expected one of {allowed})' },
};
const checkShape = schemaCheck(PROPS_SCHEMA);

/** Every prop and field below one, `images.controller`, for help texts and their tests. */
export const HUB_PROP_PATHS: readonly string[] = Object.entries(PROPS_SCHEMA.properties).flatMap(([name, schema]) => {
  const fields = (schema as { properties?: object }).properties;
  return fields ? Object.keys(fields).map((field) => `${name}.${field}`) : [name];
});

/** Checks the props and fills in every default; throws KubegateHubPropsError naming every problem. */
export function resolveHubProps(props: KubegateHubProps): ResolvedHub {
  const shape = checkShape(props).map((issue) => `${dottedPath(issue.path) || 'props'}: ${issue.message}`);
  if (shape.length > 0) throw new KubegateHubPropsError(shape);
  const problems: string[] = [];
  const ports: HubPorts = { ...DEFAULT_HUB_PORTS, ...props.ports };
  const byPort = new Map<number, string[]>();
  for (const [name, port] of Object.entries(ports)) byPort.set(port, [...(byPort.get(port) ?? []), name]);
  for (const [port, names] of byPort) if (names.length > 1) problems.push(`ports: ${port} is used by ${names.join(' and ')} (each listener needs its own)`);
  const adminPort = props.edge?.adminPort ?? 9901;
  if (byPort.has(adminPort)) problems.push(`edge.adminPort: ${adminPort} is also ports.${byPort.get(adminPort)!.join(', ports.')}`);

  const store = resolveStore(props.store ?? {}, problems);
  const replicas = props.controller?.replicas ?? 1;
  if (replicas > 1 && store.kind === 'sqlite') {
    problems.push(`controller.replicas: ${replicas} replicas need an external PostgreSQL (store.postgresUrl or store.postgresSecret): SQLite on a volume serves one replica only`);
  }
  const url = new URL(props.edgeUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const serviceType = props.serviceType ?? 'LoadBalancer';
  const nodePorts = props.nodePorts ?? {};
  let edgeTunnelAddress: ResolvedHub['edgeTunnelAddress'] | undefined;
  if (props.edgeTunnelAddress !== undefined) {
    const i = props.edgeTunnelAddress.lastIndexOf(':');
    edgeTunnelAddress = { host: props.edgeTunnelAddress.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(props.edgeTunnelAddress.slice(i + 1)) };
  } else if (serviceType === 'LoadBalancer') edgeTunnelAddress = { host, port: ports.tunnel };
  else if (nodePorts.tunnel !== undefined) edgeTunnelAddress = { host, port: nodePorts.tunnel };
  else problems.push('edgeTunnelAddress: is required with serviceType NodePort unless nodePorts.tunnel is fixed (member clusters must know where the tunnel listener is)');
  if (props.maxCertTtl !== undefined && parseDurationMs(props.maxCertTtl) > MAX_USER_CERT_TTL_MS) problems.push(`maxCertTtl: must be at most 24h (user certificates are short-lived by design), got ${JSON.stringify(props.maxCertTtl)}`);
  if (problems.length > 0) throw new KubegateHubPropsError(problems);

  return {
    namespace: props.namespace ?? DEFAULT_HUB_NAMESPACE,
    images: { controller: props.images.controller, envoy: props.images.envoy },
    edgeUrl: props.edgeUrl.replace(/\/$/, ''),
    edgeServicePort: url.port === '' ? 443 : Number(url.port),
    edgeTunnelAddress: edgeTunnelAddress!,
    controller: { replicas, resources: resourcesOf(props.controller ?? {}, CONTROLLER_RESOURCES) },
    edge: {
      replicas: props.edge?.replicas ?? 1,
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
    metricsNamespaceSelector: props.metricsNamespaceSelector ?? { 'kubernetes.io/metadata.name': 'monitoring' },
    clusterDomain: props.clusterDomain ?? 'cluster.local',
    ...(props.maxCertTtl !== undefined ? { maxCertTtl: props.maxCertTtl } : {}),
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
