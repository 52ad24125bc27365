/**
 * The agent's Helm chart, generated from KubegateAgent: helm lint passes; `helm template` with
 * a values file renders exactly the objects `kubegate manifests agent --set ...` prints with
 * the same values, across the values that change the output's shape (join token or not,
 * labels and roles or none, an endpoint by name, IPv4 or IPv6, other namespaces and port);
 * values the construct refuses are refused by the chart's schema, naming the value; and the
 * generator refuses what it cannot template rather than write a wrong chart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentChartSource, AGENT_PROPS_SCHEMA } from '../../constructs/helm/agent-chart-source';
import { KubegateAgentPropsError } from '../../constructs/kubegate-agent';
import { AgentRbacConfigError } from '../../constructs/agent-rbac';
import { runCli } from '../cli/run-cli';
import { manifestsFlags, objectsByIdentity, type Helm } from './helm-command';
import { writtenChart, type WrittenChart } from './written-chart-fixture';

jest.setTimeout(120_000);

const CA = '-----BEGIN CERTIFICATE-----\nHUB-INTERNAL-CA\n-----END CERTIFICATE-----\n';
const REQUIRED = {
  cluster: 'edge-site-a',
  hubAgentEndpoint: 'kubegate-hub.example:18003',
  hubCaPem: CA,
  images: { agent: 'registry.local/kubegate/agent@sha256:1111', envoy: 'registry.local/kubegate/envoy@sha256:2222' },
  allowedClusterRoles: ['view', 'edit'],
};

let chart: WrittenChart;
let dir: string;
let chartDir: string;
let helm: Helm;

beforeAll(() => {
  chart = writtenChart(agentChartSource);
  ({ dir, chartDir, helm } = chart);
});
afterAll(() => chart?.stop());

const valuesFile = (values: Record<string, unknown>): string => chart.valuesFile(values);

test('helm lint passes on the generated chart (with the required values given)', async () => {
  const lint = await helm.run(['lint', chartDir, '-f', valuesFile(REQUIRED), '--strict']);
  expect(lint.stderr).toBe('');
  expect(lint.stdout).toContain('0 chart(s) failed');
  expect(lint.code).toBe(0);
});

test('without the required values, helm names each one missing', async () => {
  const out = await helm.run(['template', 'r', chartDir]);
  expect(out.code).not.toBe(0);
  expect(out.stderr).toMatch(/at '': missing properties 'cluster', 'hubAgentEndpoint', 'hubCaPem'/);
  expect(out.stderr).toMatch(/at '\/images': missing properties 'agent', 'envoy'/);
});

test.each<[string, Record<string, unknown>]>([
  ['only the required values', {}],
  ['a join token, labels and an IPv4 endpoint', { joinToken: 'kgj_0123456789abcdef', labels: { env: 'prod', region: 'eu' }, hubAgentEndpoint: '10.0.0.5:18003' }],
  ['an IPv6 endpoint', { hubAgentEndpoint: '[fd00::5]:443' }],
  ['no roles at all', { allowedClusterRoles: [] }],
  ['roles unsorted and repeated', { allowedClusterRoles: ['view', 'admin', 'view', 'edit'] }],
  ['other namespaces and admin port', { agentNamespace: 'kg-agent', usersNamespace: 'kg-users', envoyAdminPort: 19901 }],
  ['label keys with dots and values needing quotes', { labels: { 'topology.kubernetes.io/region': 'eu-west-1', note: 'yes: "quoted" & <odd>' } }],
])('helm template renders what kubegate manifests prints: %s', async (_what, change) => {
  const values = { ...REQUIRED, ...change };
  const rendered = await helm.run(['template', 'kubegate-agent', chartDir, '-f', valuesFile(values)]);
  expect(rendered.stderr).toBe('');
  expect(rendered.code).toBe(0);
  const printed = await runCli(['manifests', 'agent', ...manifestsFlags(values, dir, ['hubCaPem'])]);
  expect(printed.stderr).toBe('');
  expect(printed.code).toBe(0);
  const fromHelm = objectsByIdentity(rendered.stdout);
  const fromManifests = objectsByIdentity(printed.stdout);
  expect(Object.keys(fromHelm).length).toBeGreaterThan(15);
  expect(Object.keys(fromHelm).sort()).toEqual(Object.keys(fromManifests).sort());
  expect(fromHelm).toEqual(fromManifests);
});

test.each<[string, Record<string, unknown>, RegExp]>([
  ['a cluster name that is not a DNS label', { cluster: 'Edge_A' }, /at '\/cluster': 'Edge_A' does not match pattern/],
  ['an endpoint without a port', { hubAgentEndpoint: 'hub.example' }, /at '\/hubAgentEndpoint'/],
  ['a CA that is not PEM', { hubCaPem: 'not a certificate' }, /at '\/hubCaPem'/],
  ['a missing Envoy image', { images: { agent: 'a' } }, /at '\/images': missing property 'envoy'/],
  ['an unknown value', { replicas: 2 }, /additional properties 'replicas' not allowed/],
  ['a label value that is not text', { labels: { env: 1 } }, /at '\/labels\/env': got number, want string/],
  ['a bad admin port', { envoyAdminPort: 0 }, /at '\/envoyAdminPort': minimum/],
  ['a namespace set to null', { agentNamespace: null }, /missing property 'agentNamespace'/],
  ['one namespace for both', { agentNamespace: 'kubegate', usersNamespace: 'kubegate' }, /agentNamespace and usersNamespace must differ/],
])('the schema refuses %s, naming it', async (_what, change, message) => {
  const out = await helm.run(['template', 'r', chartDir, '-f', valuesFile({ ...REQUIRED, ...change })]);
  expect(out.code).not.toBe(0);
  expect(out.stderr).toMatch(message);
});

test.each<[string, Record<string, unknown>]>([
  ['required only', {}],
  ['bad cluster', { cluster: 'Edge_A' }],
  ['endpoint without port', { hubAgentEndpoint: 'hub' }],
  ['IPv6 endpoint', { hubAgentEndpoint: '[fd00::1]:65535' }],
  ['port out of range', { hubAgentEndpoint: 'hub:65536' }],
  ['CA not PEM', { hubCaPem: 'x' }],
  ['token with a space', { joinToken: 'a b' }],
  ['image with a space', { images: { agent: 'a b', envoy: 'e' } }],
  ['unknown image', { images: { agent: 'a', envoy: 'e', other: 'o' } }],
  ['roles not a list', { allowedClusterRoles: 'view' }],
  ['label not text', { labels: { a: 1 } }],
  ['long namespace', { agentNamespace: 'a'.repeat(64) }],
  ['port 0', { envoyAdminPort: 0 }],
  ['port not whole', { envoyAdminPort: 1.5 }],
  ['unknown prop', { replicas: 1 }],
  ['one namespace for both', { agentNamespace: 'kubegate', usersNamespace: 'kubegate' }],
])('the chart\'s schema and the construct agree on: %s', async (_what, change) => {
  const props = { ...REQUIRED, ...change };
  let constructAccepts = true;
  try {
    agentChartSource.synth(props);
  } catch (err) {
    if (!(err instanceof KubegateAgentPropsError) && !(err instanceof AgentRbacConfigError)) throw err;
    constructAccepts = false;
  }
  const out = await helm.run(['template', 'r', chartDir, '-f', valuesFile(props)]);
  expect({ helmAccepts: out.code === 0 }).toEqual({ helmAccepts: constructAccepts });
});

test('every prop of the schema is documented in values.yaml and values.schema.json', () => {
  const values = fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8');
  const schema = JSON.parse(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as { properties: Record<string, { description?: string }> };
  for (const prop of Object.keys(AGENT_PROPS_SCHEMA.properties)) {
    expect(values).toMatch(new RegExp(`^(# )?${prop}:`, 'm'));
    expect(schema.properties[prop]!.description).toBeTruthy();
  }
  expect(values).toContain("# Default: 'kubegate-system'.\nagentNamespace: kubegate-system");
  expect(values).toContain('envoyAdminPort: 9901');
});

test('kubegate chart writes the chart; refuses a non-empty directory without --force, and an unknown chart', async () => {
  const out = path.join(dir, 'cli-chart');
  const first = await runCli(['chart', 'agent', '--out', out]);
  expect(first).toMatchObject({ code: 0, stderr: '' });
  expect(fs.readFileSync(path.join(out, 'Chart.yaml'), 'utf8')).toContain('name: kubegate-agent');
  const again = await runCli(['chart', 'agent', '--out', out]);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/exists and is not empty; give --force/);
  fs.writeFileSync(path.join(out, 'templates', 'stale.yaml'), 'kind: Stale\n');
  expect((await runCli(['chart', 'agent', '--out', out, '--force'])).code).toBe(0);
  expect(fs.existsSync(path.join(out, 'templates', 'stale.yaml'))).toBe(false);
  const unknown = await runCli(['chart', 'nope', '--out', path.join(dir, 'x')]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/no chart "nope"; known: agent/);
  expect((await runCli(['chart', 'agent'])).stderr).toMatch(/--out DIR is required/);
});
