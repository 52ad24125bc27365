/**
 * The controller process's configuration file (`kubegate-controller --config FILE`), YAML or
 * JSON. Relative paths are taken from the file's directory. Every problem is named with its
 * field before anything starts; nothing is half-applied.
 *
 *   stateDir: state                       # PKI, access log, export positions, admin.kubeconfig
 *   store: sqlite:state/kubegate.db       # or postgres://user:pw@host:5432/kubegate
 *   listenAddress: 127.0.0.1              # the controller's ports (0.0.0.0 in a pod)
 *   ports: {xds: 18000, authz: 18001, status: 18002, agent: 18003, tunnel: 18004, api: 18005, install: 18006}
 *   kubernetesSecrets: {namespace: kubegate-system}  # in a pod: PKI and credentials in Secrets
 *   apiServerNames: [hub.example]         # where the admin API is reached besides loopback
 *   edge:
 *     nodeId: edge-0
 *     listenPort: 8443
 *     url: https://kubegate.example:8443  # written into kubeconfigs
 *     adminUrl: http://127.0.0.1:9901     # the edge Envoy's admin endpoint (log reopening)
 *     auditLogFile: edge/audit.jsonl      # the edge's file access log, when it shares this host
 *     accessLogFlushInterval: 60s
 *     userShards: 16                      # listeners users' chains are split across (revocation cost)
 *   agents:                               # each edge replica's tunnel listener, as member clusters reach it
 *     listenAddress: 0.0.0.0
 *     edgeTunnelAddresses: [{host: 10.0.0.5, port: 30100}, {host: 10.0.0.5, port: 30101}]
 *   clusters:                             # clusters the edge reaches directly (no agent)
 *     - name: dev
 *       labels: {env: dev}
 *       apiserver: {host: 10.1.0.1, port: 6443, caFile: dev-ca.crt}
 *       proxyIdentity: {certFile: dev-proxy.crt, keyFile: dev-proxy.key}
 *   policyDir: policies                   # GitOps: the policy set follows this directory
 *   maxCertTtl: 12h
 *   audit: audit.yaml                     # exporters and retention (audit-export/README.md)
 *   agentInstall:                         # `kubegate cluster add`: one-command imports
 *     hubAgentEndpoint: hub.example:18003 # the agent port as member clusters reach it
 *     images: {agent: reg/kubegate-agent@sha256:..., envoy: reg/kubegate-envoy@sha256:...}
 *     allowedClusterRoles: [view, edit]   # ClusterRoles kubegate may bind in member clusters
 *     publicUrl: https://hub.example:18006  # install links' base (default: the listener, ports.install)
 *     publiclyTrusted: false              # publicUrl's certificate is publicly trusted: plain kubectl apply -f URL
 *     tokenTtl: 15m                       # a link's default lifetime (1s to 24h)
 *
 * The file's shape is CONTROLLER_CONFIG_SCHEMA, checked by ajv (validation/schema-check.ts); what a
 * schema cannot say (URLs, durations, files and what they hold, ports used twice, clusters
 * listed twice) is checked after it, in the same words and with the same error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { DurationError, parseDurationMs } from '../config/duration';
import { AuditSettingsFileError, readAuditSettingsFile, type AuditSettings } from '../audit-export/audit-settings-file';
import type { DirectCluster } from '../translator/input';
import type { ControllerPorts } from './controller';
import { MAX_USER_CERT_TTL_MS } from '../credentials/user-certificate';
import { isUserShardCount, MAX_USER_SHARDS } from '../identity/user-identity';
import { dottedPath, schemaCheck } from '../validation/schema-check';
import type { AgentInstallProps } from './agent-install';
import { MAX_INSTALL_TTL_MS, MIN_INSTALL_TTL_MS } from '../api/agent-install-settings';
import { PATTERNS } from '../../policies/src/names';

export interface ControllerConfig {
  readonly stateDir: string;
  readonly storeUrl?: string;
  /** Where the controller's ports listen. @default '127.0.0.1' */
  readonly listenAddress?: string;
  readonly ports: ControllerPorts;
  /**
   * The namespace whose Secrets (hub-secrets/hub-secrets.ts) hold the PKI, the edge's credential and
   * the admin kubeconfig, shared by every replica. Set when the controller runs in a pod.
   * @default none: all of it stays in stateDir
   */
  readonly kubernetesSecrets?: { readonly namespace: string };
  /** DNS names or addresses the admin API's certificate carries besides loopback. @default none */
  readonly apiServerNames?: readonly string[];
  readonly edge: {
    readonly nodeId: string;
    readonly listenAddress?: string;
    readonly listenPort: number;
    readonly url: string;
    /** @default none: the edge's logs are not rotated by the controller */
    readonly adminUrl?: string;
    /**
     * The edge's file access log, read for completions when the edge shares this host. In a
     * cluster the edge runs in pods of its own and completions arrive over gRPC only.
     * @default none
     */
    readonly auditLogFile?: string;
    readonly accessLogFlushIntervalSeconds?: number;
    readonly userShards?: number;
  };
  readonly agents?: {
    readonly listenAddress?: string;
    /**
     * Every edge replica's tunnel listener as member clusters reach it; each cluster keeps
     * tunnels to all of them. The file may give one as `edgeTunnelAddress`.
     */
    readonly edgeTunnelAddresses?: readonly { readonly host: string; readonly port: number }[];
  };
  readonly clusters: readonly DirectCluster[];
  readonly policyDir?: string;
  readonly maxCertTtlMs?: number;
  readonly audit?: AuditSettings;
  /** One-command imports; its listener listens on ports.install. @default none */
  readonly agentInstall?: AgentInstallProps;
}

export class ControllerConfigError extends Error {
  readonly code = 'ERR_CONTROLLER_CONFIG';
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`controller config ${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'ControllerConfigError';
  }
}

/** A mapping whose fields are `properties`, each named when unknown or missing. */
const mapping = (properties: Record<string, object>, required: readonly string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  problems: { type: 'must be a mapping', additionalProperties: 'unknown field (expected one of {allowed})' },
});
/** A string with something in it besides blanks. */
const text = { type: 'string', pattern: '\\S', problems: { type: 'must be a non-empty string, got {got}', pattern: 'must be a non-empty string, got {got}' } };
/** Such a string that also matches `pattern` (ajv runs allOf before a string's own keywords, so both rules are in it). */
const textMatching = (pattern: string, problem: string) => ({
  type: 'string',
  allOf: [{ pattern: '\\S', problems: text.problems }, { pattern, problems: { pattern: problem } }],
  problems: text.problems,
});
const port = (lowest: 0 | 1) => {
  const problem = `must be a port number (${lowest}-65535), got {got}`;
  return { type: 'integer', minimum: lowest, maximum: 65535, problems: { type: problem, required: problem, minimum: problem, maximum: problem } };
};
const CLUSTER_NAME = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const HOST_PORT = '^(\\[[^\\]]+\\]|[^:\\s\\[\\]]+):([1-9]\\d{0,4})$';
const IMAGE = textMatching('^\\S+$', 'must be an image reference without spaces, got {got}');
const USER_SHARD_COUNTS = Array.from({ length: MAX_USER_SHARDS }, (_, i) => i + 1).filter(isUserShardCount);
const userShardsProblem = "must be a power of two from 1 to 256 (users' filter chains are split by the first hex digits of their server name), got {got}";

/** What the file may hold; the comment atop this file says what each field is for. */
export const CONTROLLER_CONFIG_SCHEMA = mapping(
  {
    stateDir: text,
    store: textMatching('^(sqlite:|postgres(ql)?://)', 'must be sqlite:<file> or postgres://..., got {got}'),
    listenAddress: text,
    apiServerNames: { type: 'array', items: textMatching('^[^\\s/:]+$|^[0-9a-fA-F:.]+$', 'must be a DNS name or an IP address, got {got}'), problems: { type: 'must be a list of names' } },
    kubernetesSecrets: mapping({ namespace: textMatching(CLUSTER_NAME, `"{text}" is not a namespace name (a DNS label)`) }, ['namespace']),
    ports: mapping({ xds: port(1), authz: port(1), status: port(1), agent: port(1), tunnel: port(1), api: port(0), install: port(0) }, ['xds', 'authz', 'status', 'agent', 'tunnel']),
    edge: mapping(
      {
        nodeId: text,
        listenAddress: text,
        listenPort: port(1),
        url: text,
        adminUrl: text,
        auditLogFile: text,
        accessLogFlushInterval: text,
        userShards: { enum: USER_SHARD_COUNTS, problems: { enum: userShardsProblem } },
      },
      ['nodeId', 'listenPort', 'url'],
    ),
    agents: mapping({
      listenAddress: text,
      edgeTunnelAddress: mapping({ host: text, port: port(1) }, ['host', 'port']),
      edgeTunnelAddresses: { type: 'array', minItems: 1, items: mapping({ host: text, port: port(1) }, ['host', 'port']), problems: { type: 'must be a list of {host, port}', minItems: 'must name at least one address' } },
    }),
    clusters: {
      type: 'array',
      problems: { type: 'must be a list' },
      items: mapping(
        {
          name: textMatching(CLUSTER_NAME, `"{text}" is not a DNS label (lower case letters, digits and '-', at most 63)`),
          labels: { type: 'object', additionalProperties: text, problems: { type: 'must be a mapping' } },
          apiserver: mapping({ host: text, port: port(1), caFile: text }, ['host', 'port', 'caFile']),
          proxyIdentity: mapping({ certFile: text, keyFile: text }, ['certFile', 'keyFile']),
        },
        ['name', 'apiserver', 'proxyIdentity'],
      ),
    },
    policyDir: text,
    maxCertTtl: text,
    audit: text,
    agentInstall: mapping(
      {
        hubAgentEndpoint: textMatching(HOST_PORT, 'must be HOST:PORT as member clusters reach the agent port, got {got}'),
        images: mapping({ agent: IMAGE, envoy: IMAGE }, ['agent', 'envoy']),
        allowedClusterRoles: { type: 'array', items: textMatching(PATTERNS.clusterRole, '"{text}" is not a ClusterRole name'), problems: { type: 'must be a list of ClusterRole names (may be empty)' } },
        publicUrl: text,
        publiclyTrusted: { type: 'boolean', problems: { type: 'must be true or false, got {got}' } },
        tokenTtl: text,
      },
      ['hubAgentEndpoint', 'images', 'allowedClusterRoles'],
    ),
  },
  ['stateDir', 'ports', 'edge'],
);

/** The file as the schema lets it through: every field of the right type, nothing unknown. */
interface ConfigDoc {
  stateDir: string;
  store?: string;
  listenAddress?: string;
  kubernetesSecrets?: { namespace: string };
  apiServerNames?: string[];
  ports: { xds: number; authz: number; status: number; agent: number; tunnel: number; api?: number; install?: number };
  edge: { nodeId: string; listenAddress?: string; listenPort: number; url: string; adminUrl?: string; auditLogFile?: string; accessLogFlushInterval?: string; userShards?: number };
  agents?: { listenAddress?: string; edgeTunnelAddress?: { host: string; port: number }; edgeTunnelAddresses?: { host: string; port: number }[] };
  clusters?: {
    name: string;
    labels?: Record<string, string>;
    apiserver: { host: string; port: number; caFile: string };
    proxyIdentity: { certFile: string; keyFile: string };
  }[];
  policyDir?: string;
  maxCertTtl?: string;
  audit?: string;
  agentInstall?: { hubAgentEndpoint: string; images: { agent: string; envoy: string }; allowedClusterRoles: string[]; publicUrl?: string; publiclyTrusted?: boolean; tokenTtl?: string };
}

const checkShape = schemaCheck(CONTROLLER_CONFIG_SCHEMA);

/** Reads and checks the file; throws ControllerConfigError naming the first problem. */
export function readControllerConfig(file: string): ControllerConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ControllerConfigError(file, '', `cannot read it: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ControllerConfigError(file, '', `not valid YAML: ${(err as Error).message}`);
  }
  const [issue] = checkShape(doc);
  if (issue) throw new ControllerConfigError(file, dottedPath(issue.path), issue.message);
  return new ConfigReader(file).config(doc as ConfigDoc);
}

/** The checks after the schema's: values it cannot judge, and fields that must agree. */
class ConfigReader {
  private readonly dir: string;
  constructor(private readonly file: string) {
    this.dir = path.dirname(path.resolve(file));
  }

  private agents(agents: NonNullable<ConfigDoc['agents']>): NonNullable<ControllerConfig['agents']> {
    if (agents.edgeTunnelAddress && agents.edgeTunnelAddresses) this.fail('agents', 'give edgeTunnelAddress (one edge) or edgeTunnelAddresses (one per edge replica), not both');
    const addresses = agents.edgeTunnelAddresses ?? (agents.edgeTunnelAddress ? [agents.edgeTunnelAddress] : undefined);
    const seen = new Set<string>();
    for (const [i, a] of (addresses ?? []).entries()) {
      const key = `${a.host}:${a.port}`;
      if (seen.has(key)) this.fail(`agents.edgeTunnelAddresses.${i}`, `${key} is named twice (each edge replica has an address of its own)`);
      seen.add(key);
    }
    return { ...(agents.listenAddress !== undefined ? { listenAddress: agents.listenAddress } : {}), ...(addresses ? { edgeTunnelAddresses: addresses } : {}) };
  }

  private fail(field: string, problem: string): never {
    throw new ControllerConfigError(this.file, field, problem);
  }

  private url(text: string, field: string, protocols: readonly string[]): string {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      this.fail(field, `is not a URL: ${JSON.stringify(text)}`);
    }
    if (!protocols.includes(parsed.protocol)) this.fail(field, `must be ${protocols.map((p) => p.replace(':', '')).join(' or ')}, got ${parsed.protocol.replace(':', '')}`);
    return text.replace(/\/+$/, '');
  }

  private filePath(value: string): string {
    return path.resolve(this.dir, value);
  }

  private existingFile(value: string, field: string): string {
    const file = this.filePath(value);
    if (!fs.existsSync(file)) this.fail(field, `file ${file} does not exist`);
    return file;
  }

  private pem(value: string, field: string, what: RegExp): string {
    const file = this.existingFile(value, field);
    const text = fs.readFileSync(file, 'utf8');
    if (!what.test(text)) this.fail(field, `file ${file} holds no PEM ${what.source.replace(/\\/g, '')}`);
    return text;
  }

  private duration(value: string, field: string): number {
    try {
      return parseDurationMs(value);
    } catch (err) {
      if (err instanceof DurationError) this.fail(field, err.message);
      throw err;
    }
  }

  config(doc: ConfigDoc): ControllerConfig {
    const storeUrl = doc.store?.startsWith('sqlite:') ? `sqlite:${path.resolve(this.dir, doc.store.slice('sqlite:'.length))}` : doc.store;
    const { install: _install, ...ports }: ControllerPorts & { install?: number } = doc.ports;
    const edge = this.edge(doc.edge);
    const clusters = this.clusters(doc.clusters ?? []);
    let maxCertTtlMs: number | undefined;
    if (doc.maxCertTtl !== undefined) {
      maxCertTtlMs = this.duration(doc.maxCertTtl, 'maxCertTtl');
      if (maxCertTtlMs > MAX_USER_CERT_TTL_MS) this.fail('maxCertTtl', 'must be at most 24h: user certificates are short-lived by design');
    }
    let audit: AuditSettings | undefined;
    if (doc.audit !== undefined) {
      const auditFile = this.existingFile(doc.audit, 'audit');
      try {
        audit = readAuditSettingsFile(auditFile);
      } catch (err) {
        if (err instanceof AuditSettingsFileError) this.fail('audit', err.message);
        throw err;
      }
    }
    const agentInstall = this.agentInstall(doc);
    const all = [ports.xds, ports.authz, ports.status, ports.agent, ports.tunnel, ports.api, doc.ports.install, edge.listenPort].filter((p): p is number => !!p);
    const repeated = all.find((p, i) => all.indexOf(p) !== i);
    if (repeated !== undefined) this.fail('ports', `port ${repeated} is used twice (each listener needs its own, the edge's listenPort included)`);
    return {
      stateDir: this.filePath(doc.stateDir),
      ...(storeUrl ? { storeUrl } : {}),
      ...(doc.listenAddress !== undefined ? { listenAddress: doc.listenAddress } : {}),
      ...(doc.kubernetesSecrets ? { kubernetesSecrets: { namespace: doc.kubernetesSecrets.namespace } } : {}),
      ...(doc.apiServerNames?.length ? { apiServerNames: doc.apiServerNames } : {}),
      ports,
      edge,
      ...(doc.agents ? { agents: this.agents(doc.agents) } : {}),
      clusters,
      ...(doc.policyDir !== undefined ? { policyDir: this.filePath(doc.policyDir) } : {}),
      ...(maxCertTtlMs !== undefined ? { maxCertTtlMs } : {}),
      ...(audit ? { audit } : {}),
      ...(agentInstall ? { agentInstall } : {}),
    };
  }

  private agentInstall(doc: ConfigDoc): AgentInstallProps | undefined {
    const a = doc.agentInstall;
    if (!a) {
      if (doc.ports.install !== undefined) this.fail('ports.install', 'is the install listener of agentInstall, which is not configured');
      return undefined;
    }
    let publicUrl: string | undefined;
    if (a.publicUrl !== undefined) {
      publicUrl = this.url(a.publicUrl, 'agentInstall.publicUrl', ['https:']);
      const u = new URL(publicUrl);
      if (u.pathname !== '/' || u.search || u.hash || u.username) this.fail('agentInstall.publicUrl', `must be https://HOST[:PORT] only (links are served under /install), got ${JSON.stringify(a.publicUrl)}`);
    }
    if (a.publiclyTrusted && !publicUrl) this.fail('agentInstall.publiclyTrusted', "needs publicUrl: the install listener's own certificate is from kubegate's serving CA, which no system trusts");
    let defaultTtlMs: number | undefined;
    if (a.tokenTtl !== undefined) {
      defaultTtlMs = this.duration(a.tokenTtl, 'agentInstall.tokenTtl');
      if (defaultTtlMs < MIN_INSTALL_TTL_MS || defaultTtlMs > MAX_INSTALL_TTL_MS) this.fail('agentInstall.tokenTtl', `must be at least 1s and at most 24h: install links are short-lived by design, got ${a.tokenTtl}`);
    }
    const port = Number(a.hubAgentEndpoint.slice(a.hubAgentEndpoint.lastIndexOf(':') + 1));
    if (port > 65535) this.fail('agentInstall.hubAgentEndpoint', `port ${port} is not a port number (1-65535)`);
    return {
      hubAgentEndpoint: a.hubAgentEndpoint,
      images: { agent: a.images.agent, envoy: a.images.envoy },
      allowedClusterRoles: [...new Set(a.allowedClusterRoles)],
      ...(doc.ports.install !== undefined ? { port: doc.ports.install } : {}),
      ...(publicUrl ? { publicUrl } : {}),
      ...(a.publiclyTrusted ? { publiclyTrusted: true } : {}),
      ...(defaultTtlMs !== undefined ? { defaultTtlMs } : {}),
    };
  }

  private edge(e: ConfigDoc['edge']): ControllerConfig['edge'] {
    let flush: number | undefined;
    if (e.accessLogFlushInterval !== undefined) {
      const ms = this.duration(e.accessLogFlushInterval, 'edge.accessLogFlushInterval');
      if (ms < 1000 || ms % 1000 !== 0) this.fail('edge.accessLogFlushInterval', 'must be whole seconds, at least 1s');
      flush = ms / 1000;
    }
    const { accessLogFlushInterval: _flush, ...rest } = e;
    return {
      ...rest,
      url: this.url(e.url, 'edge.url', ['https:']),
      ...(e.adminUrl !== undefined ? { adminUrl: this.url(e.adminUrl, 'edge.adminUrl', ['http:']) } : {}),
      ...(e.auditLogFile !== undefined ? { auditLogFile: this.filePath(e.auditLogFile) } : {}),
      ...(flush !== undefined ? { accessLogFlushIntervalSeconds: flush } : {}),
    };
  }

  private clusters(list: NonNullable<ConfigDoc['clusters']>): DirectCluster[] {
    const seen = new Set<string>();
    return list.map((c, i) => {
      const field = `clusters[${i}]`;
      if (seen.has(c.name)) this.fail(`${field}.name`, `cluster "${c.name}" is listed twice`);
      seen.add(c.name);
      return {
        name: c.name,
        labels: { ...c.labels },
        apiserver: {
          host: c.apiserver.host,
          port: c.apiserver.port,
          caPem: this.pem(c.apiserver.caFile, `${field}.apiserver.caFile`, /-----BEGIN CERTIFICATE-----/),
        },
        proxyIdentity: {
          certPem: this.pem(c.proxyIdentity.certFile, `${field}.proxyIdentity.certFile`, /-----BEGIN CERTIFICATE-----/),
          keyPem: this.pem(c.proxyIdentity.keyFile, `${field}.proxyIdentity.keyFile`, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
        },
      };
    });
  }
}
