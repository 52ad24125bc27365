/**
 * The shape KubegateHubProps must have, as one JSON Schema checked by ajv
 * (validation/schema-check.ts), each rule with the words its problem is named in. What a schema
 * cannot judge (props that must agree with each other) is checked in hub-settings.ts.
 */
import { isUserShardCount, MAX_USER_SHARDS } from '../control-plane/identity/user-identity';
import { schemaCheck } from '../control-plane/validation/schema-check';

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const DNS_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const HOST = '(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*)';
const PORT_TEXT = '([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])';
/** A host name or bracketed IP address, and a port 1-65535, as regular-expression source: other configs' HOST:PORT and URL checks use them too. */
export const HOST_PATTERN = HOST;
export const PORT_PATTERN = PORT_TEXT;
/** An OCI reference: [registry[:port]/]path[:tag][@sha256:digest], lower-case path components. */
const COMPONENT = '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*';
const IMAGE_REF = `^(${HOST}(:\\d+)?/)?${COMPONENT}(/${COMPONENT})*(:\\w[\\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`;
const CPU = '^([1-9]\\d*m|\\d+(\\.\\d{1,3})?)$';
const MEMORY = '^[1-9]\\d*(Mi|Gi)$';
/** policies' ClusterRole name, without its lookahead: Helm checks values.schema.json with Go's regexp. */
const CLUSTER_ROLE = '^[A-Za-z0-9]([-A-Za-z0-9._:]{0,251}[A-Za-z0-9])?$';
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
const requiredText = (pattern: string, problem: string) => ({ type: 'string', pattern, problems: { required: 'is required', type: problem, pattern: problem } });
const USER_SHARDS = Array.from({ length: MAX_USER_SHARDS }, (_, i) => i + 1).filter(isUserShardCount);

/** The props' JSON Schema, with the project's wording (`problems`) beside each rule; the Helm chart's values.schema.json can be made from it. */
export const HUB_PROPS_SCHEMA = {
  type: 'object',
  properties: {
    namespace: text(DNS_LABEL, 'must be a namespace name (DNS label), got {got}'),
    images: mapping({ controller: image, envoy: image, agent: image }, 'controller, envoy and agent', ['controller', 'envoy']),
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
    agentInstall: mapping(
      {
        hubAgentEndpoint: requiredText(`^${HOST}:${PORT_TEXT}$`, 'must be HOST:PORT (port 1-65535) as member clusters reach the agent port, got {got}'),
        publicUrl: { type: 'string', pattern: `^https://${HOST}(:${PORT_TEXT})?/?$`, problems: { required: 'is required', type: 'must be the https URL install links start with', pattern: 'must be https://HOST[:PORT] with no path (links are served under /install), got {got}' } },
        allowedClusterRoles: { type: 'array', items: text(CLUSTER_ROLE, 'must be a ClusterRole name, got {got}'), problems: { type: 'must be a list of ClusterRole names' } },
        publiclyTrusted: { type: 'boolean', problems: { type: 'must be true or false, got {got}' } },
        tokenTtl: text('^(\\d+(ms|s|m|h|d))+$', 'must be a duration such as 15m, got {got}'),
      },
      'hubAgentEndpoint, publicUrl, allowedClusterRoles, publiclyTrusted and tokenTtl',
      ['hubAgentEndpoint', 'publicUrl'],
    ),
    nodePorts: mapping({ https: anyPort, tunnel: anyPort, agent: anyPort, api: anyPort, install: anyPort }, 'https, tunnel, agent, api and install ports'),
    serviceAnnotations: labelMap,
    ports: mapping({ xds: listenPort, authz: listenPort, status: listenPort, agent: listenPort, tunnel: listenPort, api: listenPort, install: listenPort, edge: listenPort }, 'xds, authz, status, agent, tunnel, api, install and edge ports'),
    apiAllowedCidrs: { type: 'array', items: text(CIDR, 'must be a CIDR such as 10.0.0.0/8, got {got}'), problems: { type: 'must be a list of CIDRs' } },
    apiServerNames: { type: 'array', items: text('^[^\\s/:]+$|^[0-9a-fA-F:.]+$', 'must be a DNS name or an IP address, got {got}'), problems: { type: 'must be a list of names' } },
    metricsNamespaceSelector: labelMap,
    clusterDomain: text(DNS_NAME, 'must be a DNS domain, got {got}'),
    maxCertTtl: text('^(\\d+(ms|s|m|h|d))+$', 'must be a duration such as 12h, got {got}'),
  },
  required: ['images', 'edgeUrl'],
  additionalProperties: false,
  problems: { type: 'must be an object', additionalProperties: 'unknown prop (expected one of {allowed})' },
};
/** Checks the props' shape; every problem, in the schema's words. */
export const checkHubPropsShape = schemaCheck(HUB_PROPS_SCHEMA);

/** Every prop and field below one, `images.controller`, for help texts and their tests. */
export const HUB_PROP_PATHS: readonly string[] = Object.entries(HUB_PROPS_SCHEMA.properties).flatMap(([name, schema]) => {
  const fields = (schema as { properties?: object }).properties;
  return fields ? Object.keys(fields).map((field) => `${name}.${field}`) : [name];
});
