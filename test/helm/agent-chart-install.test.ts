/**
 * The agent's chart in a real cluster (a local kube-apiserver with kube-controller-manager,
 * kube-scheduler and one kwok node): `helm install` creates every object the construct makes,
 * the Deployment's pod runs; `helm upgrade` with a new agent image rolls the Deployment (a
 * new ReplicaSet with the new image, the pod replaced) and keeps what the agent wrote into its
 * identity Secret; an upgrade with bad values is refused by the schema and changes nothing.
 */
import type { LocalCluster } from '../../dev/local-cluster/local-cluster';
import { agentChartSource } from '../../constructs/helm/agent-chart-source';
import { helmCommand, objectsByIdentity, type Helm } from './helm-command';
import { startChartInstall, type ChartInstallFixture } from './chart-install-fixture';

jest.setTimeout(240_000);

const VALUES = {
  cluster: 'edge-site-a',
  hubAgentEndpoint: '10.0.0.5:18003',
  hubCaPem: '-----BEGIN CERTIFICATE-----\nHUB-INTERNAL-CA\n-----END CERTIFICATE-----\n',
  joinToken: 'kgj_0123456789abcdef',
  images: { agent: 'registry.local/kubegate/agent@sha256:1111', envoy: 'registry.local/kubegate/envoy@sha256:2222' },
  allowedClusterRoles: ['view'],
};
const NEW_AGENT = 'registry.local/kubegate/agent@sha256:3333';

let f: ChartInstallFixture;
let chartDir: string;
let cluster: LocalCluster;
let helm: Helm;

beforeAll(async () => {
  f = await startChartInstall(agentChartSource, VALUES, 'helm');
  ({ chartDir, cluster, helm } = f);
});

afterAll(async () => {
  await f?.stop();
});

const kubectl = (args: readonly string[]) => f.kubectl(args);
const deployment = async () => JSON.parse(await kubectl(['get', 'deployment', 'kubegate-agent', '-n', 'kubegate-system', '-o', 'json'])) as { metadata: { generation: number }; spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
const agentImage = (d: Awaited<ReturnType<typeof deployment>>) => d.spec.template.spec.containers.find((c) => c.name === 'agent')!.image;
const rolledOut = () => kubectl(['rollout', 'status', 'deployment/kubegate-agent', '-n', 'kubegate-system', '--timeout=120s']);

test('helm install creates every object of the chart, and the agent pod runs', async () => {
  const install = await helm.run(['install', 'kubegate-agent', chartDir, '-f', f.valuesFile, '--namespace', 'default']);
  expect(install.stderr).toBe('');
  expect(install.code).toBe(0);
  const rendered = await helm.run(['get', 'manifest', 'kubegate-agent', '--namespace', 'default']);
  const objects = Object.values(objectsByIdentity(rendered.stdout)) as { kind: string; metadata: { name: string; namespace?: string } }[];
  expect(objects.length).toBeGreaterThan(15);
  for (const o of objects) {
    const found = await cluster.kubectl(['get', o.kind, o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []), '-o', 'name']);
    expect({ object: `${o.kind}/${o.metadata.name}`, code: found.code }).toEqual({ object: `${o.kind}/${o.metadata.name}`, code: 0 });
  }
  await rolledOut();
  expect(agentImage(await deployment())).toBe(VALUES.images.agent);
});

test('helm upgrade with a new agent image rolls the Deployment, and keeps the certificate the agent keeps in its identity Secret', async () => {
  const before = await deployment();
  // The agent has meanwhile written its certificate into its identity Secret (created empty by the chart).
  await kubectl(['patch', 'secret', 'kubegate-agent-identity', '-n', 'kubegate-system', '--type', 'merge', '-p', JSON.stringify({ data: { 'tls.crt': Buffer.from('CERT').toString('base64') } })]);
  const upgrade = await helm.run(['upgrade', 'kubegate-agent', chartDir, '-f', f.valuesFile, '--set', `images.agent=${NEW_AGENT}`, '--namespace', 'default']);
  expect(upgrade.stderr).toBe('');
  expect(upgrade.code).toBe(0);
  const after = await deployment();
  expect(agentImage(after)).toBe(NEW_AGENT);
  expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation);
  await rolledOut();
  const pods = JSON.parse(await kubectl(['get', 'pods', '-n', 'kubegate-system', '-l', 'app.kubernetes.io/component=agent', '-o', 'json'])) as { items: { metadata: { deletionTimestamp?: string }; spec: { containers: { name: string; image: string }[] } }[] };
  const live = pods.items.filter((p) => !p.metadata.deletionTimestamp);
  expect(live.map((p) => p.spec.containers.find((c) => c.name === 'agent')!.image)).toEqual([NEW_AGENT]);
  const sets = JSON.parse(await kubectl(['get', 'replicasets', '-n', 'kubegate-system', '-o', 'json'])) as { items: { spec: { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } } }[] };
  expect(sets.items.map((s) => [s.spec.template.spec.containers.find((c) => c.name === 'agent')!.image, s.spec.replicas]).sort()).toEqual([
    [VALUES.images.agent, 0],
    [NEW_AGENT, 1],
  ]);
  const kept = await kubectl(['get', 'secret', 'kubegate-agent-identity', '-n', 'kubegate-system', '-o', 'jsonpath={.data.tls\\.crt}']);
  expect(Buffer.from(kept, 'base64').toString()).toBe('CERT');
});

test('an upgrade with values the schema refuses changes nothing', async () => {
  const before = await deployment();
  const upgrade = await helm.run(['upgrade', 'kubegate-agent', chartDir, '-f', f.valuesFile, '--set', 'images.agent=has space', '--namespace', 'default']);
  expect(upgrade.code).not.toBe(0);
  expect(upgrade.stderr).toMatch(/at '\/images\/agent': 'has space' does not match pattern/);
  expect((await deployment()).metadata.generation).toBe(before.metadata.generation);
});
