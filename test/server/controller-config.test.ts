/**
 * The controller's configuration file: a good one is read with paths taken from its own
 * directory; every problem is named with its field (and file) before anything starts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { ControllerConfigError, readControllerConfig } from '../../control-plane/server/controller-config';
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { compiledEntry } from '../../dev/toolchain/compiled-entry';
import { runCommand } from '../support/run-command';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-controller-config-'));
  const now = Date.now();
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000) };
  const ca = createCertificateAuthority({ commonName: 'test CA', ...validity });
  const leaf = issueCertificate(ca, { commonName: 'kubegate-proxy', usage: 'client', ...validity });
  fs.writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
  fs.writeFileSync(path.join(dir, 'proxy.crt'), leaf.certPem);
  fs.writeFileSync(path.join(dir, 'proxy.key'), leaf.keyPem);
  fs.writeFileSync(path.join(dir, 'audit.yaml'), 'exporters: []\nretention: {maxAge: 30d}\n');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const good = () => ({
  stateDir: 'state',
  store: 'sqlite:state/kubegate.db',
  ports: { xds: 18000, authz: 18001, status: 18002, agent: 18003, tunnel: 18004, api: 18005 },
  edge: { nodeId: 'edge-0', listenPort: 8443, url: 'https://kubegate.example:8443/', adminUrl: 'http://127.0.0.1:9901', auditLogFile: 'edge/audit.jsonl', accessLogFlushInterval: '5s', userShards: 64 },
  agents: { listenAddress: '0.0.0.0', edgeTunnelAddress: { host: '10.0.0.5', port: 18004 } },
  clusters: [{ name: 'dev', labels: { env: 'dev' }, apiserver: { host: '10.1.0.1', port: 6443, caFile: 'ca.crt' }, proxyIdentity: { certFile: 'proxy.crt', keyFile: 'proxy.key' } }],
  policyDir: 'policies',
  maxCertTtl: '12h',
  audit: 'audit.yaml',
});

function write(doc: unknown, name = 'controller.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : stringify(doc));
  return file;
}

test('a complete file is read, relative paths resolved against its directory', () => {
  const config = readControllerConfig(write(good()));
  expect(config).toMatchObject({
    stateDir: path.join(dir, 'state'),
    storeUrl: `sqlite:${path.join(dir, 'state', 'kubegate.db')}`,
    ports: { xds: 18000, api: 18005 },
    edge: { url: 'https://kubegate.example:8443', adminUrl: 'http://127.0.0.1:9901', auditLogFile: path.join(dir, 'edge', 'audit.jsonl'), accessLogFlushIntervalSeconds: 5, userShards: 64 },
    agents: { listenAddress: '0.0.0.0', edgeTunnelAddresses: [{ host: '10.0.0.5', port: 18004 }] },
    policyDir: path.join(dir, 'policies'),
    maxCertTtlMs: 12 * 3600_000,
    audit: { exporters: [], retention: { maxAgeMs: 30 * 24 * 3600_000 } },
  });
  expect(config.clusters[0]).toMatchObject({ name: 'dev', labels: { env: 'dev' }, apiserver: { host: '10.1.0.1', port: 6443 } });
  expect(config.clusters[0]!.apiserver.caPem).toContain('BEGIN CERTIFICATE');
  expect(config.clusters[0]!.proxyIdentity.keyPem).toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
});

test('every edge replica\'s tunnel address, as a list', () => {
  const doc = good() as any;
  delete doc.agents.edgeTunnelAddress;
  doc.agents.edgeTunnelAddresses = [{ host: 'hub.example', port: 30100 }, { host: 'hub.example', port: 30101 }];
  expect(readControllerConfig(write(doc)).agents).toEqual({ listenAddress: '0.0.0.0', edgeTunnelAddresses: [{ host: 'hub.example', port: 30100 }, { host: 'hub.example', port: 30101 }] });
});

test('the optional parts may be left out', () => {
  const { store: _s, agents: _a, clusters: _c, policyDir: _p, maxCertTtl: _m, audit: _au, ...minimal } = good();
  const config = readControllerConfig(write({ ...minimal, ports: { xds: 1, authz: 2, status: 3, agent: 4, tunnel: 5 } }));
  expect(config.clusters).toEqual([]);
  expect(config.storeUrl).toBeUndefined();
  expect(config.ports.api).toBeUndefined();
});

test('in a pod: the listen address and the Secrets namespace are read; no edge file log or admin URL is needed', () => {
  const doc: any = good();
  delete doc.edge.auditLogFile;
  delete doc.edge.adminUrl;
  const config = readControllerConfig(write({ ...doc, listenAddress: '0.0.0.0', kubernetesSecrets: { namespace: 'kubegate-system' }, apiServerNames: ['hub.example', '10.1.2.3'] }));
  expect(config.apiServerNames).toEqual(['hub.example', '10.1.2.3']);
  expect(config.listenAddress).toBe('0.0.0.0');
  expect(config.kubernetesSecrets).toEqual({ namespace: 'kubegate-system' });
  expect(config.edge.auditLogFile).toBeUndefined();
  expect(config.edge.adminUrl).toBeUndefined();
  expect(readControllerConfig(write(good())).kubernetesSecrets).toBeUndefined();
});

const withField = (mutate: (doc: ReturnType<typeof good>) => unknown) => {
  const doc = good();
  const out = mutate(doc);
  return out === undefined ? doc : out;
};

test.each([
  ['not YAML', () => 'ports: [unclosed', '', /not valid YAML/],
  ['not a mapping', () => '- a\n- b\n', '', /must be a mapping/],
  ['unknown top-level field', (d: any) => ({ ...d, extra: 1 }), 'extra', /unknown field/],
  ['no stateDir', (d: any) => { delete d.stateDir; }, 'stateDir', /non-empty string/],
  ['bad store URL', (d: any) => { d.store = 'mysql://x'; }, 'store', /sqlite:<file> or postgres/],
  ['port out of range', (d: any) => { d.ports.xds = 70000; }, 'ports.xds', /port number/],
  ['port not a number', (d: any) => { d.ports.authz = '18001'; }, 'ports.authz', /port number/],
  ['unknown port', (d: any) => { d.ports.grpc = 1; }, 'ports.grpc', /unknown field/],
  ['a port used twice', (d: any) => { d.ports.status = d.ports.xds; }, 'ports', /used twice/],
  ['edge port clashing with another', (d: any) => { d.edge.listenPort = d.ports.api; }, 'ports', /used twice/],
  ['edge URL not https', (d: any) => { d.edge.url = 'http://edge:8443'; }, 'edge.url', /must be https/],
  ['edge URL not a URL', (d: any) => { d.edge.url = 'edge:8443 x'; }, 'edge.url', /not a URL|must be https/],
  ['admin URL not http', (d: any) => { d.edge.adminUrl = 'https://127.0.0.1:9901'; }, 'edge.adminUrl', /must be http/],
  ['flush interval not whole seconds', (d: any) => { d.edge.accessLogFlushInterval = '1500ms'; }, 'edge.accessLogFlushInterval', /whole seconds/],
  ['user shards not a power of two', (d: any) => { d.edge.userShards = 10; }, 'edge.userShards', /power of two from 1 to 256/],
  ['flush interval not a duration', (d: any) => { d.edge.accessLogFlushInterval = 'soon'; }, 'edge.accessLogFlushInterval', /./],
  ['agents tunnel address without port', (d: any) => { d.agents.edgeTunnelAddress = { host: 'h' }; }, 'agents.edgeTunnelAddress.port', /port number/],
  ['one tunnel address and a list', (d: any) => { d.agents.edgeTunnelAddresses = [{ host: 'h', port: 1 }]; }, 'agents', /give edgeTunnelAddress \(one edge\) or edgeTunnelAddresses \(one per edge replica\), not both/],
  ['an empty list of tunnel addresses', (d: any) => { delete d.agents.edgeTunnelAddress; d.agents.edgeTunnelAddresses = []; }, 'agents.edgeTunnelAddresses', /at least one address/],
  ['a tunnel address listed twice', (d: any) => { delete d.agents.edgeTunnelAddress; d.agents.edgeTunnelAddresses = [{ host: 'h', port: 30100 }, { host: 'h', port: 30100 }]; }, 'agents.edgeTunnelAddresses.1', /h:30100 is named twice/],
  ['a listed tunnel address without a host', (d: any) => { delete d.agents.edgeTunnelAddress; d.agents.edgeTunnelAddresses = [{ port: 30100 }]; }, 'agents.edgeTunnelAddresses[0].host', /non-empty string/],
  ['clusters not a list', (d: any) => { d.clusters = { dev: {} }; }, 'clusters', /must be a list/],
  ['cluster name not a DNS label', (d: any) => { d.clusters[0].name = 'Dev_1'; }, 'clusters[0].name', /DNS label/],
  ['cluster listed twice', (d: any) => { d.clusters.push(d.clusters[0]); }, 'clusters[1].name', /listed twice/],
  ['label value not a string', (d: any) => { d.clusters[0].labels.tier = 3; }, 'clusters[0].labels.tier', /non-empty string/],
  ['CA file missing', (d: any) => { d.clusters[0].apiserver.caFile = 'nope.crt'; }, 'clusters[0].apiserver.caFile', /does not exist/],
  ['key file holding a certificate', (d: any) => { d.clusters[0].proxyIdentity.keyFile = 'proxy.crt'; }, 'clusters[0].proxyIdentity.keyFile', /no PEM/],
  ['no proxy identity', (d: any) => { delete d.clusters[0].proxyIdentity; }, 'clusters[0].proxyIdentity', /must be a mapping/],
  ['certificate lifetime over a day', (d: any) => { d.maxCertTtl = '48h'; }, 'maxCertTtl', /at most 24h/],
  ['audit settings file missing', (d: any) => { d.audit = 'missing.yaml'; }, 'audit', /does not exist/],
  ['store left blank', (d: any) => { d.store = ' '; }, 'store', /non-empty string, got " "/],
  ['no ports', (d: any) => { delete d.ports; }, 'ports', /must be a mapping/],
  ['a required port missing', (d: any) => { delete d.ports.tunnel; }, 'ports.tunnel', /port number \(1-65535\), got undefined/],
  ['the API port out of range', (d: any) => { d.ports.api = -1; }, 'ports.api', /port number \(0-65535\)/],
  ['user shards as text', (d: any) => { d.edge.userShards = '64'; }, 'edge.userShards', /power of two from 1 to 256 .*got "64"/],
  ['labels not a mapping', (d: any) => { d.clusters[0].labels = ['env=dev']; }, 'clusters[0].labels', /must be a mapping/],
  ['unknown cluster field', (d: any) => { d.clusters[0].kubeconfig = 'x'; }, 'clusters[0].kubeconfig', /unknown field \(expected one of name, labels, apiserver, proxyIdentity\)/],
  ['Secrets namespace not a DNS label', (d: any) => ({ ...d, kubernetesSecrets: { namespace: 'Kube_System' } }), 'kubernetesSecrets.namespace', /not a namespace name/],
  ['Secrets without a namespace', (d: any) => ({ ...d, kubernetesSecrets: {} }), 'kubernetesSecrets.namespace', /non-empty string/],
  ['API server name with a port', (d: any) => ({ ...d, apiServerNames: ['hub.example:443'] }), 'apiServerNames[0]', /DNS name or an IP address/],
  ['API server names not a list', (d: any) => ({ ...d, apiServerNames: 'hub.example' }), 'apiServerNames', /list of names/],
  ['listen address blank', (d: any) => ({ ...d, listenAddress: '' }), 'listenAddress', /non-empty string/],
  ['certificate lifetime as a number', (d: any) => { d.maxCertTtl = 12; }, 'maxCertTtl', /non-empty string, got 12/],
] as const)('%s is refused, naming the field', (_what, mutate, field, message) => {
  const doc = withField(mutate as (d: ReturnType<typeof good>) => unknown);
  const file = write(doc);
  let error: unknown;
  try {
    readControllerConfig(file);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ControllerConfigError);
  const e = error as ControllerConfigError;
  expect(e.code).toBe('ERR_CONTROLLER_CONFIG');
  expect(e.field).toBe(field);
  expect(e.file).toBe(file);
  expect(e.message).toMatch(message);
  expect(e.message).toContain(file);
});

const INSTALL = { hubAgentEndpoint: 'hub.example:18003', images: { agent: 'reg.example/kubegate-agent@sha256:aa', envoy: 'reg.example/kubegate-envoy@sha256:bb' }, allowedClusterRoles: ['view', 'edit', 'view'] };
const withInstall = (over: Record<string, unknown> = {}, ports: Record<string, unknown> = {}) => ({ ...good(), ports: { ...good().ports, install: 18006, ...ports }, agentInstall: { ...INSTALL, ...over } });

describe('agentInstall (kubegate cluster add)', () => {
  test('is read with its listener port; roles once each; the defaults stay open', () => {
    const config = readControllerConfig(write(withInstall({ publicUrl: 'https://hub.example:18006/', publiclyTrusted: true, tokenTtl: '10m' })));
    expect(config.agentInstall).toEqual({
      hubAgentEndpoint: 'hub.example:18003',
      images: INSTALL.images,
      allowedClusterRoles: ['view', 'edit'],
      port: 18006,
      publicUrl: 'https://hub.example:18006',
      publiclyTrusted: true,
      defaultTtlMs: 600_000,
    });
    expect((config.ports as unknown as Record<string, unknown>).install).toBeUndefined();
    const minimal = readControllerConfig(write({ ...good(), agentInstall: { ...INSTALL, allowedClusterRoles: [] } }));
    expect(minimal.agentInstall).toEqual({ hubAgentEndpoint: 'hub.example:18003', images: INSTALL.images, allowedClusterRoles: [] });
    expect(readControllerConfig(write(good())).agentInstall).toBeUndefined();
  });

  test.each([
    ['no hub agent endpoint', () => { const d: any = withInstall(); delete d.agentInstall.hubAgentEndpoint; return d; }, 'agentInstall.hubAgentEndpoint', /non-empty string/],
    ['an endpoint without a port', () => withInstall({ hubAgentEndpoint: 'hub.example' }), 'agentInstall.hubAgentEndpoint', /must be HOST:PORT/],
    ['an endpoint port out of range', () => withInstall({ hubAgentEndpoint: 'hub.example:70000' }), 'agentInstall.hubAgentEndpoint', /port 70000 is not a port number/],
    ['no images', () => { const d: any = withInstall(); delete d.agentInstall.images; return d; }, 'agentInstall.images', /must be a mapping/],
    ['an image missing', () => withInstall({ images: { agent: 'a' } }), 'agentInstall.images.envoy', /non-empty string/],
    ['an image with a space', () => withInstall({ images: { agent: 'a b', envoy: 'e' } }), 'agentInstall.images.agent', /image reference without spaces/],
    ['an unknown image', () => withInstall({ images: { agent: 'a', envoy: 'e', proxy: 'p' } }), 'agentInstall.images.proxy', /unknown field/],
    ['roles not a list', () => withInstall({ allowedClusterRoles: 'view' }), 'agentInstall.allowedClusterRoles', /list of ClusterRole names/],
    ['a role with a wildcard', () => withInstall({ allowedClusterRoles: ['view', '*'] }), 'agentInstall.allowedClusterRoles[1]', /"\*" is not a ClusterRole name/],
    ['public URL not https', () => withInstall({ publicUrl: 'http://hub.example:18006' }), 'agentInstall.publicUrl', /must be https/],
    ['public URL with a path', () => withInstall({ publicUrl: 'https://hub.example/kubegate' }), 'agentInstall.publicUrl', /HOST\[:PORT\] only/],
    ['publicly trusted without a public URL', () => withInstall({ publiclyTrusted: true }), 'agentInstall.publiclyTrusted', /needs publicUrl/],
    ['publicly trusted as text', () => withInstall({ publiclyTrusted: 'yes' }), 'agentInstall.publiclyTrusted', /true or false/],
    ['a token lifetime over a day', () => withInstall({ tokenTtl: '25h' }), 'agentInstall.tokenTtl', /at most 24h/],
    ['a token lifetime not a duration', () => withInstall({ tokenTtl: 'soon' }), 'agentInstall.tokenTtl', /./],
    ['an unknown field', () => withInstall({ registry: 'x' }), 'agentInstall.registry', /unknown field/],
    ['the install port clashing with another', () => withInstall({}, { install: 18005 }), 'ports', /used twice/],
    ['an install port without agentInstall', () => ({ ...good(), ports: { ...good().ports, install: 18006 } }), 'ports.install', /agentInstall, which is not configured/],
  ] as const)('%s is refused, naming the field', (_what, make, field, message) => {
    const file = write(make());
    let error: unknown;
    try {
      readControllerConfig(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ControllerConfigError);
    expect((error as ControllerConfigError).field).toBe(field);
    expect((error as ControllerConfigError).message).toMatch(message);
  });
});

test('a bad audit settings file is refused with its own message', () => {
  fs.writeFileSync(path.join(dir, 'bad-audit.yaml'), 'retention: {maxAge: 1m}\n');
  expect(() => readControllerConfig(write({ ...good(), audit: 'bad-audit.yaml' }))).toThrow(/audit: audit settings .*under an hour/);
});

test('a file that cannot be read is named', () => {
  expect(() => readControllerConfig(path.join(dir, 'absent.yaml'))).toThrow(/controller config .*absent\.yaml: cannot read it/);
});

describe('kubegate-controller refuses a bad command line or file with exit code 2', () => {
  const main = () => compiledEntry('control-plane/server/main.js');
  test.each([
    ['no --config', [] as string[], /--config FILE is required/],
    ['an unknown flag', ['--port', '1'], /unknown argument "--port"/],
    ['a file with a bad field', ['--config', 'BAD'], /controller config .*: ports\.xds: must be a port number/],
  ])('%s', async (_what, args, message) => {
    const bad = write({ ...good(), ports: { ...good().ports, xds: -1 } }, 'bad.yaml');
    const r = await runCommand(process.execPath, [main(), ...args.map((a) => (a === 'BAD' ? bad : a))], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await runCommand(process.execPath, [main(), '--help'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: kubegate-controller --config FILE');
  });
});
