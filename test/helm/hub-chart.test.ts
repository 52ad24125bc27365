/**
 * The hub's Helm chart, generated from KubegateHub: helm lint passes; `helm template` renders
 * exactly what `kubegate manifests hub --set ...` prints for the same values, across the values
 * that change the hub's shape (the three stores, NodePort or LoadBalancer, an edge URL with or
 * without a port, IPv4 or IPv6, optional ports, resources, shards, CIDRs, annotations); bad
 * values are refused by the schema naming the value, and the rules across props by the chart's
 * refusals, each one as the construct refuses it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hubChartSource } from '../../constructs/helm/hub-chart-source';
import { runCli } from '../cli/run-cli';
import { manifestsFlags, objectsByIdentity, type Helm } from './helm-command';
import { writtenChart, type WrittenChart } from './written-chart-fixture';
import { HUB_REQUIRED_VALUES, IMAGE_DIGEST } from './hub-required-values';

jest.setTimeout(120_000);

const DIGEST = IMAGE_DIGEST;
const REQUIRED = HUB_REQUIRED_VALUES;

let chart: WrittenChart;
let dir: string;
let chartDir: string;
let helm: Helm;

beforeAll(() => {
  chart = writtenChart(hubChartSource);
  ({ dir, chartDir, helm } = chart);
});
afterAll(() => chart?.stop());

const WITH_AGENT = { ...REQUIRED.images, agent: `registry.local/kubegate/agent@${DIGEST}` };
const INSTALL = { hubAgentEndpoint: 'hub.example:18003', publicUrl: 'https://hub.example:18006' };

const valuesFile = (values: Record<string, unknown>): string => chart.valuesFile(values);

test('helm lint passes on the generated chart (with the required values given)', async () => {
  const lint = await helm.run(['lint', chartDir, '-f', valuesFile(REQUIRED), '--strict']);
  expect(lint.stderr).toBe('');
  expect(lint.stdout).toContain('0 chart(s) failed');
});

test.each<[string, Record<string, unknown>]>([
  ['only the required values (SQLite, LoadBalancer)', {}],
  ['a PostgreSQL URL and three controllers', { store: { postgresUrl: 'postgres://kg:secret@db.example:5432/kubegate' }, controller: { replicas: 3 } }],
  ['a PostgreSQL Secret with its key', { store: { postgresSecret: 'kubegate-db', postgresSecretKey: 'dsn' }, controller: { replicas: 2 } }],
  ['a PostgreSQL Secret with the default key', { store: { postgresSecret: 'kubegate-db' } }],
  ['SQLite sized, on a StorageClass', { store: { sqliteVolumeSize: '5Gi', sqliteStorageClass: 'fast-ssd' } }],
  ['NodePort with fixed nodePorts and a tunnel address', { serviceType: 'NodePort', nodePorts: { https: 30443, tunnel: 30444, agent: 30445, api: 30446 }, edgeTunnelAddress: 'tunnel.example.com:30444' }],
  ['an edge URL with a port and a slash, by IPv4', { edgeUrl: 'https://203.0.113.7:8443/' }],
  ['an edge URL by IPv6, the tunnel address derived', { edgeUrl: 'https://[2001:db8::7]:9443' }],
  ['an edge URL in capitals', { edgeUrl: 'https://KubeGate.Example.COM' }],
  ['other ports, namespace, domain and admin port', { namespace: 'kg', ports: { xds: 19000, authz: 19001, status: 19002, agent: 19003, tunnel: 19004, api: 19005, edge: 9443 }, edge: { adminPort: 9903 }, clusterDomain: 'corp.local' }],
  ['resources, shards and replicas of the edge', { edge: { replicas: 2, cpuRequest: '250m', cpuLimit: '1500m', memoryRequest: '256Mi', memoryLimit: '2Gi', userShards: 4 }, controller: { cpuRequest: '50m', cpuLimit: '2500m', memoryRequest: '64Mi', memoryLimit: '1Gi' } }],
  ['a certificate lifetime of exactly a day, in parts', { maxCertTtl: '23h59m60s' }],
  ['names the admin API is reached at', { apiServerNames: ['hub.example', '10.1.2.3'] }],
  ['CIDRs, annotations, metrics namespaces and a certificate lifetime', { apiAllowedCidrs: ['10.0.0.0/8', '192.168.1.0/24', '10.0.0.0/8'], serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', team: 'platform' }, metricsNamespaceSelector: { 'kubernetes.io/metadata.name': 'observability' }, maxCertTtl: '12h' }],
  ['no metrics namespace selector at all', { metricsNamespaceSelector: {} }],
  ['CPUs as a decimal and memory in Gi', { edge: { cpuLimit: '1.5', memoryLimit: '3Gi' }, controller: { memoryRequest: '1Gi', cpuRequest: '0.25' } }],
  ['a tunnel address by IPv6, an edge URL with its default port', { edgeTunnelAddress: '[2001:db8::9]:443', edgeUrl: 'https://kubegate.example.com:443' }],
  ['one-command imports: the agent image, ClusterRoles and a link lifetime', { images: WITH_AGENT, agentInstall: { hubAgentEndpoint: 'agents.kubegate.example.com:18003', publicUrl: 'https://install.kubegate.example.com:18006/', allowedClusterRoles: ['view', 'edit', 'view'], tokenTtl: '30m' } }],
  [
    'one-command imports behind NodePorts, by IPv6, publicly trusted, on other ports',
    { images: WITH_AGENT, serviceType: 'NodePort', nodePorts: { agent: 30445, install: 30447 }, edgeTunnelAddress: '[2001:db8::5]:30444', ports: { install: 19006 }, agentInstall: { hubAgentEndpoint: '[2001:db8::5]:30445', publicUrl: 'https://[2001:db8::5]:30447', publiclyTrusted: true } },
  ],
  ['the agent image without agentInstall', { images: WITH_AGENT }],
])('helm template renders what kubegate manifests prints: %s', async (_what, change) => {
  const values = { ...REQUIRED, ...change };
  const rendered = await helm.run(['template', 'kubegate-hub', chartDir, '-f', valuesFile(values)]);
  expect(rendered.stderr).toBe('');
  expect(rendered.code).toBe(0);
  const printed = await runCli(['manifests', 'hub', ...manifestsFlags(values, dir)]);
  expect(printed.stderr).toBe('');
  expect(printed.code).toBe(0);
  const fromHelm = objectsByIdentity(rendered.stdout);
  const fromManifests = objectsByIdentity(printed.stdout);
  expect(Object.keys(fromHelm).length).toBeGreaterThan(10);
  expect(Object.keys(fromHelm).sort()).toEqual(Object.keys(fromManifests).sort());
  expect(fromHelm).toEqual(fromManifests);
});

test.each<[string, Record<string, unknown>, RegExp]>([
  ['an edge URL over http', { edgeUrl: 'http://kubegate.example.com' }, /at '\/edgeUrl': 'http:\/\/kubegate.example.com' does not match pattern/],
  ['a missing image', { images: { controller: REQUIRED.images.controller } }, /at '\/images': missing property 'envoy'/],
  ['a privileged port', { ports: { edge: 443 } }, /at '\/ports\/edge': minimum/],
  ['shards that are not a power of two', { edge: { userShards: 3 } }, /at '\/edge\/userShards'/],
  ['an unknown value', { replicas: 2 }, /additional properties 'replicas' not allowed/],
  ['two controllers on SQLite', { controller: { replicas: 2 } }, /controller.replicas: more than one replica needs an external PostgreSQL/],
  ['a URL and a Secret for the store', { store: { postgresUrl: 'postgres://a@b/c', postgresSecret: 's' } }, /store: give postgresUrl or postgresSecret, not both/],
  ['a Secret key without a Secret', { store: { postgresSecretKey: 'dsn' } }, /store.postgresSecretKey: only means something with store.postgresSecret/],
  ['a SQLite size with PostgreSQL', { store: { postgresUrl: 'postgres://a@b/c', sqliteVolumeSize: '2Gi' } }, /only mean something without PostgreSQL/],
  ['one port for two listeners', { ports: { xds: 18001 } }, /each listener needs a port of its own/],
  ['the admin port on a listener', { edge: { adminPort: 8443 } }, /each listener needs a port of its own/],
  ['a certificate lifetime over a day', { maxCertTtl: '23h61m' }, /maxCertTtl: must be more than nothing and at most 24h/],
  ['a certificate lifetime of nothing', { maxCertTtl: '0s' }, /maxCertTtl: must be more than nothing/],
  ['agentInstall without the agent image', { agentInstall: INSTALL }, /images.agent: is required with agentInstall/],
  ['agentInstall without its endpoint', { images: WITH_AGENT, agentInstall: { publicUrl: INSTALL.publicUrl } }, /at '\/agentInstall': missing property 'hubAgentEndpoint'/],
  ['an install URL with a path', { images: WITH_AGENT, agentInstall: { ...INSTALL, publicUrl: 'https://hub.example/x' } }, /at '\/agentInstall\/publicUrl': 'https:\/\/hub.example\/x' does not match pattern/],
  ['an install link lifetime over a day', { images: WITH_AGENT, agentInstall: { ...INSTALL, tokenTtl: '24h1s' } }, /agentInstall.tokenTtl: must be at least 1s and at most 24h/],
  ['an install link lifetime under a second', { images: WITH_AGENT, agentInstall: { ...INSTALL, tokenTtl: '999ms' } }, /agentInstall.tokenTtl: must be at least 1s and at most 24h/],
  ['the install port on the API port', { ports: { install: 18005 } }, /each listener needs a port of its own/],
  ["the edge's lifecycle port as its admin port", { edge: { adminPort: 9902 } }, /9902 is the edge's lifecycle port/],
  ["the edge's lifecycle port as a listener's", { ports: { status: 9902 } }, /9902 is the edge's lifecycle port/],
  ['tunnel addresses past 65535', { edge: { replicas: 3 }, edgeTunnelAddress: 'tunnel.example.com:65534' }, /edge.replicas: replica i's tunnel is at the first tunnel port \+ i, past 65535/],
  ["another Service's nodePort among the tunnel nodePorts", { edge: { replicas: 3 }, serviceType: 'NodePort', edgeTunnelAddress: 'tunnel.example.com:30444', nodePorts: { tunnel: 30444, agent: 30446 } }, /nodePorts: another Service's nodePort is one of the edge replicas' tunnel nodePorts/],
  ["LoadBalancer tunnel Services' ports past 65535", { edge: { replicas: 2 }, ports: { tunnel: 65535 }, edgeTunnelAddress: 'tunnel.example.com:443' }, /ports.tunnel: with LoadBalancer, replica i's tunnel Service listens on ports.tunnel \+ i, past 65535/],
  ['tunnel nodePorts past 65535', { edge: { replicas: 2 }, nodePorts: { tunnel: 65535 }, edgeTunnelAddress: 'tunnel.example.com:443' }, /nodePorts.tunnel: replica i's tunnel nodePort is nodePorts.tunnel \+ i, past 65535/],
])('the chart refuses %s, naming it', async (_what, change, message) => {
  const out = await helm.run(['template', 'r', chartDir, '-f', valuesFile({ ...REQUIRED, ...change })]);
  expect(out.code).not.toBe(0);
  expect(out.stderr).toMatch(message);
  // ... as the construct does.
  expect(() => hubChartSource.synth({ ...REQUIRED, ...change })).toThrow();
});

test('values.yaml leaves agentInstall out, commented, with its fields documented; the schema needs its two fields once it is given', () => {
  const values = fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8');
  expect(values).toMatch(/\n# agentInstall:\n( {2}# .*\n)* {2}# hubAgentEndpoint:\n/);
  expect(values).toMatch(/\n {2}# tokenTtl: 15m\n/);
  expect(values).not.toMatch(/^agentInstall:/m);
  const schema = JSON.parse(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as { required: string[]; properties: Record<string, { required?: string[] }> };
  expect(schema.required).not.toContain('agentInstall');
  expect(schema.properties.agentInstall!.required).toEqual(['hubAgentEndpoint', 'publicUrl']);
});

test('NodePort without a tunnel address is refused by the chart, though the construct derives it from nodePorts.tunnel', async () => {
  const values = { ...REQUIRED, serviceType: 'NodePort', nodePorts: { tunnel: 30444 } };
  const out = await helm.run(['template', 'r', chartDir, '-f', valuesFile(values)]);
  expect(out.stderr).toMatch(/edgeTunnelAddress: the chart needs it with serviceType NodePort/);
  expect(hubChartSource.synth(values).length).toBeGreaterThan(10);
});

test('a map with a default merges with the values given, as Helm merges maps: null removes a default key', async () => {
  const values = { ...REQUIRED, metricsNamespaceSelector: { 'kubernetes.io/metadata.name': null, team: 'platform' } };
  const rendered = await helm.run(['template', 'kubegate-hub', chartDir, '-f', valuesFile(values)]);
  expect(rendered.code).toBe(0);
  const printed = await runCli(['manifests', 'hub', ...manifestsFlags({ ...REQUIRED, metricsNamespaceSelector: { team: 'platform' } }, dir)]);
  expect(objectsByIdentity(rendered.stdout)).toEqual(objectsByIdentity(printed.stdout));
});
