/**
 * The controller process's configuration file (`kubegate-controller --config FILE`), YAML or
 * JSON. Relative paths are taken from the file's directory. Every problem is named with its
 * field before anything starts; nothing is half-applied.
 *
 *   stateDir: state                       # PKI, access log, export positions, admin.kubeconfig
 *   store: sqlite:state/kubegate.db       # or postgres://user:pw@host:5432/kubegate
 *   ports: {xds: 18000, authz: 18001, status: 18002, agent: 18003, tunnel: 18004, api: 18005}
 *   edge:
 *     nodeId: edge-0
 *     listenPort: 8443
 *     url: https://kubegate.example:8443  # written into kubeconfigs
 *     adminUrl: http://127.0.0.1:9901     # the edge Envoy's admin endpoint (log reopening)
 *     auditLogFile: edge/audit.jsonl      # the edge's file access log
 *     accessLogFlushInterval: 60s
 *     userShards: 16                      # listeners users' chains are split across (revocation cost)
 *   agents: {listenAddress: 0.0.0.0, edgeTunnelAddress: {host: 10.0.0.5, port: 18004}}
 *   clusters:                             # clusters the edge reaches directly (no agent)
 *     - name: dev
 *       labels: {env: dev}
 *       apiserver: {host: 10.1.0.1, port: 6443, caFile: dev-ca.crt}
 *       proxyIdentity: {certFile: dev-proxy.crt, keyFile: dev-proxy.key}
 *   policyDir: policies                   # GitOps: the policy set follows this directory
 *   maxCertTtl: 12h
 *   audit: audit.yaml                     # exporters and retention (audit-export/README.md)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { DurationError, parseDurationMs } from '../config/duration';
import { AuditSettingsFileError, readAuditSettingsFile, type AuditSettings } from '../audit-export/audit-settings-file';
import type { DirectCluster } from '../translator/input';
import type { ControllerPorts } from './controller';
import { MAX_USER_CERT_TTL_MS } from '../credentials/user-certificate';
import { isUserShardCount } from '../identity/user-identity';

export interface ControllerConfig {
  readonly stateDir: string;
  readonly storeUrl?: string;
  readonly ports: ControllerPorts;
  readonly edge: {
    readonly nodeId: string;
    readonly listenAddress?: string;
    readonly listenPort: number;
    readonly url: string;
    readonly adminUrl: string;
    readonly auditLogFile: string;
    readonly accessLogFlushIntervalSeconds?: number;
    readonly userShards?: number;
  };
  readonly agents?: { readonly listenAddress?: string; readonly edgeTunnelAddress?: { readonly host: string; readonly port: number } };
  readonly clusters: readonly DirectCluster[];
  readonly policyDir?: string;
  readonly maxCertTtlMs?: number;
  readonly audit?: AuditSettings;
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

type Doc = Record<string, unknown>;

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
  return new ConfigReader(file).config(doc);
}

class ConfigReader {
  private readonly dir: string;
  constructor(private readonly file: string) {
    this.dir = path.dirname(path.resolve(file));
  }

  private fail(field: string, problem: string): never {
    throw new ControllerConfigError(this.file, field, problem);
  }

  private mapping(value: unknown, field: string, allowed: readonly string[]): Doc {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be a mapping');
    const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) this.fail(field ? `${field}.${unknown[0]}` : unknown[0]!, `unknown field (expected one of ${allowed.join(', ')})`);
    return value as Doc;
  }

  private string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.trim() === '') this.fail(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
    return value;
  }

  private port(value: unknown, field: string, allowZero = false): number {
    if (!Number.isInteger(value) || (value as number) < (allowZero ? 0 : 1) || (value as number) > 65535) {
      this.fail(field, `must be a port number (${allowZero ? 0 : 1}-65535), got ${JSON.stringify(value)}`);
    }
    return value as number;
  }

  private url(value: unknown, field: string, protocols: readonly string[]): string {
    const text = this.string(value, field);
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      this.fail(field, `is not a URL: ${JSON.stringify(text)}`);
    }
    if (!protocols.includes(parsed.protocol)) this.fail(field, `must be ${protocols.map((p) => p.replace(':', '')).join(' or ')}, got ${parsed.protocol.replace(':', '')}`);
    return text.replace(/\/+$/, '');
  }

  private filePath(value: unknown, field: string): string {
    return path.resolve(this.dir, this.string(value, field));
  }

  private existingFile(value: unknown, field: string): string {
    const file = this.filePath(value, field);
    if (!fs.existsSync(file)) this.fail(field, `file ${file} does not exist`);
    return file;
  }

  private pem(value: unknown, field: string, what: RegExp): string {
    const file = this.existingFile(value, field);
    const text = fs.readFileSync(file, 'utf8');
    if (!what.test(text)) this.fail(field, `file ${file} holds no PEM ${what.source.replace(/\\/g, '')}`);
    return text;
  }

  config(doc: unknown): ControllerConfig {
    const top = this.mapping(doc, '', ['stateDir', 'store', 'ports', 'edge', 'agents', 'clusters', 'policyDir', 'maxCertTtl', 'audit']);
    const stateDir = this.filePath(top.stateDir, 'stateDir');
    let storeUrl: string | undefined;
    if (top.store !== undefined) {
      storeUrl = this.string(top.store, 'store');
      if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(storeUrl)) this.fail('store', `must be sqlite:<file> or postgres://..., got ${JSON.stringify(storeUrl)}`);
      if (storeUrl.startsWith('sqlite:')) storeUrl = `sqlite:${path.resolve(this.dir, storeUrl.slice('sqlite:'.length))}`;
    }
    const ports = this.ports(top.ports);
    const edge = this.edge(top.edge);
    const agents = top.agents === undefined ? undefined : this.agents(top.agents);
    const clusters = this.clusters(top.clusters);
    let maxCertTtlMs: number | undefined;
    if (top.maxCertTtl !== undefined) {
      maxCertTtlMs = this.duration(top.maxCertTtl, 'maxCertTtl');
      if (maxCertTtlMs > MAX_USER_CERT_TTL_MS) this.fail('maxCertTtl', 'must be at most 24h: user certificates are short-lived by design');
    }
    let audit: AuditSettings | undefined;
    if (top.audit !== undefined) {
      const auditFile = this.existingFile(top.audit, 'audit');
      try {
        audit = readAuditSettingsFile(auditFile);
      } catch (err) {
        if (err instanceof AuditSettingsFileError) this.fail('audit', err.message);
        throw err;
      }
    }
    const all = [ports.xds, ports.authz, ports.status, ports.agent, ports.tunnel, ports.api, edge.listenPort].filter((p): p is number => !!p);
    const repeated = all.find((p, i) => all.indexOf(p) !== i);
    if (repeated !== undefined) this.fail('ports', `port ${repeated} is used twice (each listener needs its own, the edge's listenPort included)`);
    return {
      stateDir,
      ...(storeUrl ? { storeUrl } : {}),
      ports,
      edge,
      ...(agents ? { agents } : {}),
      clusters,
      ...(top.policyDir !== undefined ? { policyDir: this.filePath(top.policyDir, 'policyDir') } : {}),
      ...(maxCertTtlMs !== undefined ? { maxCertTtlMs } : {}),
      ...(audit ? { audit } : {}),
    };
  }

  private duration(value: unknown, field: string): number {
    try {
      return parseDurationMs(String(this.string(value, field)));
    } catch (err) {
      if (err instanceof DurationError) this.fail(field, err.message);
      throw err;
    }
  }

  private ports(value: unknown): ControllerPorts {
    const p = this.mapping(value, 'ports', ['xds', 'authz', 'status', 'agent', 'tunnel', 'api']);
    return {
      xds: this.port(p.xds, 'ports.xds'),
      authz: this.port(p.authz, 'ports.authz'),
      status: this.port(p.status, 'ports.status'),
      agent: this.port(p.agent, 'ports.agent'),
      tunnel: this.port(p.tunnel, 'ports.tunnel'),
      ...(p.api !== undefined ? { api: this.port(p.api, 'ports.api', true) } : {}),
    };
  }

  private edge(value: unknown): ControllerConfig['edge'] {
    const e = this.mapping(value, 'edge', ['nodeId', 'listenAddress', 'listenPort', 'url', 'adminUrl', 'auditLogFile', 'accessLogFlushInterval', 'userShards']);
    if (e.userShards !== undefined && !(typeof e.userShards === 'number' && isUserShardCount(e.userShards))) {
      this.fail('edge.userShards', `must be a power of two from 1 to 256 (users' filter chains are split by the first hex digits of their server name), got ${JSON.stringify(e.userShards)}`);
    }
    let flush: number | undefined;
    if (e.accessLogFlushInterval !== undefined) {
      const ms = this.duration(e.accessLogFlushInterval, 'edge.accessLogFlushInterval');
      if (ms < 1000 || ms % 1000 !== 0) this.fail('edge.accessLogFlushInterval', 'must be whole seconds, at least 1s');
      flush = ms / 1000;
    }
    return {
      nodeId: this.string(e.nodeId, 'edge.nodeId'),
      ...(e.listenAddress !== undefined ? { listenAddress: this.string(e.listenAddress, 'edge.listenAddress') } : {}),
      listenPort: this.port(e.listenPort, 'edge.listenPort'),
      url: this.url(e.url, 'edge.url', ['https:']),
      adminUrl: this.url(e.adminUrl, 'edge.adminUrl', ['http:']),
      auditLogFile: this.filePath(e.auditLogFile, 'edge.auditLogFile'),
      ...(flush !== undefined ? { accessLogFlushIntervalSeconds: flush } : {}),
      ...(e.userShards !== undefined ? { userShards: e.userShards as number } : {}),
    };
  }

  private agents(value: unknown): NonNullable<ControllerConfig['agents']> {
    const a = this.mapping(value, 'agents', ['listenAddress', 'edgeTunnelAddress']);
    let edgeTunnelAddress: { host: string; port: number } | undefined;
    if (a.edgeTunnelAddress !== undefined) {
      const t = this.mapping(a.edgeTunnelAddress, 'agents.edgeTunnelAddress', ['host', 'port']);
      edgeTunnelAddress = { host: this.string(t.host, 'agents.edgeTunnelAddress.host'), port: this.port(t.port, 'agents.edgeTunnelAddress.port') };
    }
    return {
      ...(a.listenAddress !== undefined ? { listenAddress: this.string(a.listenAddress, 'agents.listenAddress') } : {}),
      ...(edgeTunnelAddress ? { edgeTunnelAddress } : {}),
    };
  }

  private clusters(value: unknown): DirectCluster[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail('clusters', 'must be a list');
    const seen = new Set<string>();
    return value.map((item, i) => {
      const field = `clusters[${i}]`;
      const c = this.mapping(item, field, ['name', 'labels', 'apiserver', 'proxyIdentity']);
      const name = this.string(c.name, `${field}.name`);
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) this.fail(`${field}.name`, `"${name}" is not a DNS label (lower case letters, digits and '-', at most 63)`);
      if (seen.has(name)) this.fail(`${field}.name`, `cluster "${name}" is listed twice`);
      seen.add(name);
      const labels: Record<string, string> = {};
      if (c.labels !== undefined) {
        const l = this.mapping(c.labels, `${field}.labels`, Object.keys(c.labels as object));
        for (const [k, v] of Object.entries(l)) labels[k] = this.string(v, `${field}.labels.${k}`);
      }
      const api = this.mapping(c.apiserver, `${field}.apiserver`, ['host', 'port', 'caFile']);
      const identity = this.mapping(c.proxyIdentity, `${field}.proxyIdentity`, ['certFile', 'keyFile']);
      return {
        name,
        labels,
        apiserver: {
          host: this.string(api.host, `${field}.apiserver.host`),
          port: this.port(api.port, `${field}.apiserver.port`),
          caPem: this.pem(api.caFile, `${field}.apiserver.caFile`, /-----BEGIN CERTIFICATE-----/),
        },
        proxyIdentity: {
          certPem: this.pem(identity.certFile, `${field}.proxyIdentity.certFile`, /-----BEGIN CERTIFICATE-----/),
          keyPem: this.pem(identity.keyFile, `${field}.proxyIdentity.keyFile`, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
        },
      };
    });
  }
}
