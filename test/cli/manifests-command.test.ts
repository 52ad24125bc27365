/**
 * `kubegate manifests hub|agent`: props from --set and --set-file, Helm's way; the YAML printed
 * is the KubegateHub or KubegateAgent construct's; bad props and malformed --set are usage
 * errors that name every problem, and nothing is printed then; each one's help lists its props.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { parse, parseAllDocuments } from 'yaml';
import { runCli } from './run-cli';
import { setValues } from '../../control-plane/cli/set-values';
import { UsageError } from '../../control-plane/cli/cli-error';
import { KubegateAgent } from '../../constructs/kubegate-agent';
import { HUB_PROP_PATHS, KubegateHub } from '../../constructs/kubegate-hub';

const CA = '-----BEGIN CERTIFICATE-----\nHUB-INTERNAL-CA\n-----END CERTIFICATE-----\n';
let dir: string;
let caFile: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-manifests-'));
  caFile = path.join(dir, 'ca.crt');
  fs.writeFileSync(caFile, CA);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--set values', () => {
  test('dotted paths, lists, numbers, booleans, files', () => {
    expect(setValues(['cluster=a', 'images.agent=x@sha256:1', 'images.envoy=y', 'allowedClusterRoles={view,edit}', 'envoyAdminPort=9902', 'debug=true', 'labels.app.kubernetes.io/name=kg'], ['hubCaPem=ca.crt'], () => CA)).toEqual({
      cluster: 'a',
      images: { agent: 'x@sha256:1', envoy: 'y' },
      allowedClusterRoles: ['view', 'edit'],
      envoyAdminPort: 9902,
      debug: true,
      labels: { 'app.kubernetes.io/name': 'kg' },
      hubCaPem: CA,
    });
    expect(setValues(['allowedClusterRoles={}'], [])).toEqual({ allowedClusterRoles: [] });
  });

  test.each([['=x'], ['nokey'], ['a..b=1'], ['1a=2']])('a malformed --set %j is named', (s) => {
    expect(() => setValues([s], [])).toThrow(new UsageError(`--set "${s}" must be KEY=VALUE with KEY a prop or prop.key, such as images.agent`));
  });

  test('a value that is not a mapping cannot take a key below it', () => {
    expect(() => setValues(['images=x', 'images.agent=y'], [])).toThrow(/--set images.agent=y: images was already given a value that is not a mapping/);
  });

  test('a file that cannot be read is named with why', () => {
    expect(() => setValues([], [`hubCaPem=${path.join(dir, 'missing.crt')}`])).toThrow(/--set-file hubCaPem=.*missing.crt: cannot read .*missing.crt: ENOENT/);
  });
});

const ARGS = [
  'manifests', 'agent',
  '--set', 'cluster=edge-site-a',
  '--set', 'hubAgentEndpoint=hub.example:18003',
  '--set', 'images.agent=registry.local/kubegate/agent@sha256:1111',
  '--set', 'images.envoy=registry.local/kubegate/envoy@sha256:2222',
  '--set', 'allowedClusterRoles={view,edit}',
  '--set', 'joinToken=kgj_0123',
  '--set', 'labels.env=prod',
];

test("prints the construct's manifests as YAML documents", async () => {
  const r = await runCli([...ARGS, '--set-file', `hubCaPem=${caFile}`]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const printed = parseAllDocuments(r.stdout).map((d) => d.toJS() as { metadata: { labels?: Record<string, string> } });
  const chart = Testing.chart();
  new KubegateAgent(chart, 'agent', {
    cluster: 'edge-site-a',
    hubAgentEndpoint: 'hub.example:18003',
    hubCaPem: CA,
    images: { agent: 'registry.local/kubegate/agent@sha256:1111', envoy: 'registry.local/kubegate/envoy@sha256:2222' },
    allowedClusterRoles: ['view', 'edit'],
    joinToken: 'kgj_0123',
    labels: { env: 'prod' },
  });
  const expected = Testing.synth(chart) as Array<{ kind: string; metadata: { name: string } }>;
  expect(printed.map((o) => `${(o as unknown as { kind: string }).kind}/${(o as unknown as { metadata: { name: string } }).metadata.name}`)).toEqual(expected.map((o) => `${o.kind}/${o.metadata.name}`));
  // The selector label carries the construct path: the printed one is stable run to run.
  expect((await runCli([...ARGS, '--set-file', `hubCaPem=${caFile}`])).stdout).toBe(r.stdout);
});

test.each<[string[], RegExp]>([
  [['manifests'], /kubegate manifests: say which manifests: hub or agent; see --help/],
  [['manifests', 'cluster'], /kubegate manifests: unknown manifests "cluster"; use hub or agent/],
  [['manifests', 'hub', 'extra'], /kubegate manifests: unexpected argument "extra"/],
  [['manifests', 'hub'], /images: is required; edgeUrl: is required/],
  [['manifests', 'hub', '--set', 'images.controller=registry.local/kubegate controller', '--set', 'images.envoy=e', '--set', 'edgeUrl=https://hub.example', '--set', 'controller.replicas=2', '--set', 'serviceType=ClusterIP'], /images\.controller: must be an image reference .*; serviceType: must be LoadBalancer or NodePort, got "ClusterIP"/],
  [['manifests', 'hub', '--set', `images.controller=c@sha256:${'1'.repeat(64)}`, '--set', `images.envoy=e@sha256:${'2'.repeat(64)}`, '--set', 'edgeUrl=https://hub.example', '--set', 'controller.replicas=2'], /controller\.replicas: 2 replicas need an external PostgreSQL/],
  [['manifests', 'agent', '--set', 'cluster=Bad_Name'], /cluster: must be a DNS label .*; hubAgentEndpoint: is required; hubCaPem: is required; images: is required; allowedClusterRoles: is required/],
  [['manifests', 'agent', '--bogus'], /Unknown option '--bogus'; see --help/],
])('%j is a usage error, and nothing is printed', async (args, message) => {
  const r = await runCli(args);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(message);
});

describe('--images FILE (the results of kubegate dev images)', () => {
  const BASE = ['manifests', 'agent', '--set', 'cluster=edge-a', '--set', 'hubAgentEndpoint=hub:18003', '--set', 'allowedClusterRoles={view}'];
  const results = (images: unknown) => {
    const file = path.join(dir, `images-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify({ images }));
    return file;
  };
  const imagesOf = (stdout: string) => {
    const deployment = parseAllDocuments(stdout).map((d) => d.toJS() as { kind: string; spec?: { template: { spec: { containers: Array<{ name: string; image: string }> } } } }).find((o) => o.kind === 'Deployment')!;
    return Object.fromEntries(deployment.spec!.template.spec.containers.map((c) => [c.name, c.image]));
  };
  const BUILT = [
    { name: 'controller', reference: '127.0.0.1:5000/kubegate/controller@sha256:aa' },
    { name: 'agent', reference: '127.0.0.1:5000/kubegate/agent@sha256:bb' },
    { name: 'envoy', reference: '127.0.0.1:5000/kubegate/envoy@sha256:cc' },
  ];

  test('the agent and Envoy images come from the file, by digest', async () => {
    const r = await runCli([...BASE, '--set-file', `hubCaPem=${caFile}`, '--images', results(BUILT)]);
    expect(r.stderr).toBe('');
    expect(imagesOf(r.stdout)).toEqual({ agent: '127.0.0.1:5000/kubegate/agent@sha256:bb', envoy: '127.0.0.1:5000/kubegate/envoy@sha256:cc' });
  });

  test('--set images.* wins over the file', async () => {
    const r = await runCli([...BASE, '--set-file', `hubCaPem=${caFile}`, '--images', results(BUILT), '--set', 'images.agent=mine@sha256:dd']);
    expect(imagesOf(r.stdout).agent).toBe('mine@sha256:dd');
  });

  test.each<[string, () => string, RegExp]>([
    ['a file that is not there', () => path.join(dir, 'none.json'), /--images .*none.json: no such file/],
    ['a file that is not JSON', () => { const f = path.join(dir, 'bad.json'); fs.writeFileSync(f, 'not json'); return f; }, /--images .*bad.json: not a results file of kubegate dev images/],
    ['a file without an agent image', () => results(BUILT.filter((i) => i.name !== 'agent')), /it names no agent image; run kubegate dev images again/],
  ])('%s is a usage error', async (_what, file, message) => {
    const r = await runCli([...BASE, '--set-file', `hubCaPem=${caFile}`, '--images', file()]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});

describe('manifests hub', () => {
  const CONTROLLER = `registry.local/kubegate/controller@sha256:${'1'.repeat(64)}`;
  const ENVOY = `registry.local/kubegate/envoy@sha256:${'2'.repeat(64)}`;
  const HUB = [
    'manifests', 'hub',
    '--set', `images.controller=${CONTROLLER}`,
    '--set', `images.envoy=${ENVOY}`,
    '--set', 'edgeUrl=https://kubegate.example.com',
    '--set', 'controller.replicas=2',
    '--set', 'store.postgresSecret=kubegate-postgres',
    '--set', 'serviceType=NodePort',
    '--set', 'nodePorts.tunnel=30004',
    '--set', 'apiAllowedCidrs={10.0.0.0/8,192.168.0.0/16}',
    '--set', 'metricsNamespaceSelector.kubernetes.io/metadata.name=observability',
  ];
  type Printed = { kind: string; metadata: { name: string }; spec?: any; stringData?: Record<string, string> };
  const printedOf = (stdout: string) => parseAllDocuments(stdout).map((d) => d.toJS() as Printed);

  test("prints the construct's manifests, the same each run", async () => {
    const r = await runCli(HUB);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const chart = Testing.chart();
    new KubegateHub(chart, 'hub', {
      images: { controller: CONTROLLER, envoy: ENVOY },
      edgeUrl: 'https://kubegate.example.com',
      controller: { replicas: 2 },
      store: { postgresSecret: 'kubegate-postgres' },
      serviceType: 'NodePort',
      nodePorts: { tunnel: 30004 },
      apiAllowedCidrs: ['10.0.0.0/8', '192.168.0.0/16'],
      metricsNamespaceSelector: { 'kubernetes.io/metadata.name': 'observability' },
    });
    // Nothing names the chart or the construct's path: the printed objects are the construct's, whole.
    expect(printedOf(r.stdout)).toEqual(Testing.synth(chart));
    expect((await runCli(HUB)).stdout).toBe(r.stdout);
  });

  test('--set reaches nested props: replicas, the store, ports, lists and label keys', async () => {
    const printed = printedOf((await runCli([...HUB, '--set', 'ports.edge=9443', '--set', 'edge.memoryLimit=2Gi'])).stdout);
    const config = parse(printed.find((o) => o.kind === 'Secret')!.stringData!['config.yaml']) as { edge: { listenPort: number }; agents: { edgeTunnelAddresses: object[] } };
    expect(config.edge.listenPort).toBe(9443);
    expect(config.agents.edgeTunnelAddresses).toEqual([{ host: 'kubegate.example.com', port: 30004 }]);
    const controller = printed.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kubegate-controller')!;
    expect(controller.spec.replicas).toBe(2);
    expect(controller.spec.template.spec.initContainers[0].name).toBe('store-url');
    const policy = printed.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'kubegate-controller')!;
    expect(JSON.stringify(policy.spec)).toContain('192.168.0.0/16');
    expect(JSON.stringify(policy.spec)).toContain('"kubernetes.io/metadata.name":"observability"');
  });

  test('--images takes the controller, Envoy and agent images from the results of kubegate dev images', async () => {
    const AGENT = `registry.local/kubegate/agent@sha256:${'3'.repeat(64)}`;
    const file = path.join(dir, 'hub-images.json');
    fs.writeFileSync(file, JSON.stringify({ images: [{ name: 'controller', reference: CONTROLLER }, { name: 'agent', reference: AGENT }, { name: 'envoy', reference: ENVOY }] }));
    const r = await runCli(['manifests', 'hub', '--images', file, '--set', 'edgeUrl=https://kubegate.example.com']);
    expect(r.stderr).toBe('');
    const images = printedOf(r.stdout).filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((o) => o.spec.template.spec.containers[0].image);
    expect(images).toEqual([CONTROLLER, ENVOY]);
    const install = await runCli(['manifests', 'hub', '--images', file, '--set', 'edgeUrl=https://kubegate.example.com', '--set', 'agentInstall.hubAgentEndpoint=hub.example:18003', '--set', 'agentInstall.publicUrl=https://hub.example:18006', '--set', 'agentInstall.publiclyTrusted=true']);
    expect(install.stderr).toBe('');
    const config = parse(printedOf(install.stdout).find((o) => o.kind === 'Secret')!.stringData!['config.yaml']) as { agentInstall: { images: object; publiclyTrusted: boolean } };
    expect(config.agentInstall.images).toEqual({ agent: AGENT, envoy: ENVOY });
    expect(config.agentInstall.publiclyTrusted).toBe(true);
    const missing = path.join(dir, 'agent-images.json');
    fs.writeFileSync(missing, JSON.stringify({ images: [{ name: 'agent', reference: 'a' }, { name: 'envoy', reference: ENVOY }] }));
    const refused = await runCli(['manifests', 'hub', '--images', missing, '--set', 'edgeUrl=https://kubegate.example.com']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/it names no controller image; run kubegate dev images again/);
  });

  test('its help lists every prop', async () => {
    const r = await runCli(['manifests', 'hub', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubegate manifests hub /);
    const missing = HUB_PROP_PATHS.filter((p) => {
      const [prop, field] = p.split('.');
      const line = r.stdout.split('\n').find((l) => new RegExp(`^  ${prop}[. ]`).test(l) && (!field || l.includes(`.${field}`)));
      return line === undefined;
    });
    expect(missing).toEqual([]);
  });

  test('the command lists both kinds, and each has its own help', async () => {
    const r = await runCli(['manifests', '--help']);
    expect(r.stdout).toMatch(/^Usage: kubegate manifests hub\|agent /);
    expect((await runCli(['manifests', 'agent', '--help'])).stdout).toMatch(/^Usage: kubegate manifests agent /);
  });
});
