/**
 * The five xDS resource types kubegate serves, and the two facts the protocol needs about each:
 * how a resource is named, and whether Envoy subscribes to it as a wildcard (LDS, CDS: "send me
 * everything you have") or by name (RDS, EDS, SDS: Envoy asks for exactly the names its
 * listeners and clusters reference).
 */
import type { XdsResources } from './resources';

export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export type TypeUrl =
  | typeof LISTENER_TYPE_URL
  | typeof ROUTE_TYPE_URL
  | typeof CLUSTER_TYPE_URL
  | typeof ENDPOINT_TYPE_URL
  | typeof SECRET_TYPE_URL;

/** The conventional short names, used in logs, status and metric labels. */
export type ShortTypeName = 'LDS' | 'RDS' | 'CDS' | 'EDS' | 'SDS';

export interface ResourceType {
  readonly typeUrl: TypeUrl;
  /** Fully qualified protobuf message name, e.g. envoy.config.listener.v3.Listener. */
  readonly messageName: string;
  readonly shortName: ShortTypeName;
  /** The XdsResources list that holds resources of this type. */
  readonly kind: keyof XdsResources;
  /** True for LDS and CDS: an empty name list (or "*") means every resource of the type. */
  readonly wildcard: boolean;
  /** The field that names a resource; EDS is the odd one out (cluster_name). */
  readonly nameField: 'name' | 'cluster_name';
}

function resourceType(
  shortName: ShortTypeName,
  typeUrl: TypeUrl,
  kind: keyof XdsResources,
  wildcard: boolean,
  nameField: ResourceType['nameField'] = 'name',
): ResourceType {
  return Object.freeze({ typeUrl, messageName: typeUrl.slice(typeUrl.lastIndexOf('/') + 1), shortName, kind, wildcard, nameField });
}

/**
 * In the order a control plane should push them when several change at once (the xDS
 * "make before break" order): clusters before the endpoints they load-balance over, listeners
 * before the route configurations they reference; secrets last, since Envoy asks for them by
 * name only once a listener or cluster that references them is warming.
 */
export const RESOURCE_TYPES: readonly ResourceType[] = Object.freeze([
  resourceType('CDS', CLUSTER_TYPE_URL, 'clusters', true),
  resourceType('EDS', ENDPOINT_TYPE_URL, 'endpoints', false, 'cluster_name'),
  resourceType('LDS', LISTENER_TYPE_URL, 'listeners', true),
  resourceType('RDS', ROUTE_TYPE_URL, 'routes', false),
  resourceType('SDS', SECRET_TYPE_URL, 'secrets', false),
]);

const BY_URL = new Map<string, ResourceType>(RESOURCE_TYPES.map((t) => [t.typeUrl, t]));

/** The resource type with this type URL, or undefined for one kubegate does not serve. */
export function resourceTypeByUrl(typeUrl: string): ResourceType | undefined {
  return BY_URL.get(typeUrl);
}

export function resourceTypeOf(typeUrl: TypeUrl): ResourceType {
  const type = BY_URL.get(typeUrl);
  if (!type) throw new Error(`not an xDS resource type kubegate serves: ${typeUrl}`);
  return type;
}

/** The resource's name (listener.name, endpoints.cluster_name, ...), or undefined if it has none. */
export function resourceName(type: ResourceType, resource: object): string | undefined {
  const name = (resource as Record<string, unknown>)[type.nameField];
  return typeof name === 'string' && name !== '' ? name : undefined;
}
