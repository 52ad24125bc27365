/**
 * The hub's chart in a real cluster (a local kube-apiserver with kube-controller-manager,
 * kube-scheduler and one kwok node): `helm install` creates every object, the controller and
 * edge pods run (kwok plays them), two edge replicas each with its tunnel Service; `helm
 * upgrade` with a new controller image rolls the controller's Deployment and leaves the edge's
 * StatefulSet alone. PostgreSQL by URL, so no volume needs a provisioner this cluster does not
 * have.
 */
import type { LocalCluster } from '../../dev/local-cluster/local-cluster';
import { hubChartSource } from '../../constructs/helm/hub-chart-source';
import { helmCommand, objectsByIdentity, type Helm } from './helm-command';
import { startChartInstall, type ChartInstallFixture } from './chart-install-fixture';

jest.setTimeout(240_000);

const image = (name: string, digit: string) => `registry.local/kubegate/${name}@sha256:${digit.repeat(64)}`;
const VALUES = {
  images: { controller: image('controller', 'a'), envoy: image('envoy', 'b') },
  edgeUrl: 'https://kubegate.example.com',
  store: { postgresUrl: 'postgres://kubegate:secret@db.example:5432/kubegate' },
  edge: { replicas: 2 },
};
const NEW_CONTROLLER = image('controller', 'c');

let f: ChartInstallFixture;
let chartDir: string;
let cluster: LocalCluster;
let helm: Helm;

beforeAll(async () => {
  f = await startChartInstall(hubChartSource, VALUES, 'helm-hub');
  ({ chartDir, cluster, helm } = f);
});

afterAll(async () => {
  await f?.stop();
});

const kubectl = (args: readonly string[]) => f.kubectl(args);
type Workload = { metadata: { generation: number }; spec: { template: { spec: { containers: { image: string }[] } } } };
const workload = async (kind: 'deployment' | 'statefulset', name: string) => JSON.parse(await kubectl(['get', kind, name, '-n', 'kubegate-system', '-o', 'json'])) as Workload;
const rolledOut = (kind: 'deployment' | 'statefulset', name: string) => kubectl(['rollout', 'status', `${kind}/${name}`, '-n', 'kubegate-system', '--timeout=120s']);

test('helm install creates every object of the chart, and the controller and edge pods run, a tunnel Service per edge replica', async () => {
  const install = await helm.run(['install', 'kubegate-hub', chartDir, '-f', f.valuesFile, '--namespace', 'default']);
  expect(install.stderr).toBe('');
  expect(install.code).toBe(0);
  const manifest = await helm.run(['get', 'manifest', 'kubegate-hub', '--namespace', 'default']);
  const objects = Object.values(objectsByIdentity(manifest.stdout)) as { kind: string; metadata: { name: string; namespace?: string } }[];
  expect(objects.length).toBeGreaterThan(10);
  for (const o of objects) {
    const found = await cluster.kubectl(['get', o.kind, o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []), '-o', 'name']);
    expect({ object: `${o.kind}/${o.metadata.name}`, code: found.code }).toEqual({ object: `${o.kind}/${o.metadata.name}`, code: 0 });
  }
  await rolledOut('deployment', 'kubegate-controller');
  await rolledOut('statefulset', 'kubegate-edge');
  // One tunnel Service per edge replica, each selecting its pod.
  const tunnels = JSON.parse(await kubectl(['get', 'services', '-n', 'kubegate-system', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { selector: Record<string, string> } }[] };
  const selected = tunnels.items.filter((t) => t.metadata.name.startsWith('kubegate-edge-tunnel-')).map((t) => [t.metadata.name, t.spec.selector['statefulset.kubernetes.io/pod-name']]);
  expect(selected.sort()).toEqual([
    ['kubegate-edge-tunnel-0', 'kubegate-edge-0'],
    ['kubegate-edge-tunnel-1', 'kubegate-edge-1'],
  ]);
});

test('helm upgrade with a new controller image rolls the controller, not the edge', async () => {
  const [controllerBefore, edgeBefore] = [await workload('deployment', 'kubegate-controller'), await workload('statefulset', 'kubegate-edge')];
  const upgrade = await helm.run(['upgrade', 'kubegate-hub', chartDir, '-f', f.valuesFile, '--set', `images.controller=${NEW_CONTROLLER}`, '--namespace', 'default']);
  expect(upgrade.stderr).toBe('');
  expect(upgrade.code).toBe(0);
  const controller = await workload('deployment', 'kubegate-controller');
  expect(controller.spec.template.spec.containers[0]!.image).toBe(NEW_CONTROLLER);
  expect(controller.metadata.generation).toBeGreaterThan(controllerBefore.metadata.generation);
  expect((await workload('statefulset', 'kubegate-edge')).metadata.generation).toBe(edgeBefore.metadata.generation);
  await rolledOut('deployment', 'kubegate-controller');
  const sets = JSON.parse(await kubectl(['get', 'replicasets', '-n', 'kubegate-system', '-l', 'app.kubernetes.io/component=controller', '-o', 'json'])) as { items: { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } }[] };
  expect(sets.items.map((s) => [s.spec.template.spec.containers[0]!.image, s.spec.replicas]).sort()).toEqual([
    [VALUES.images.controller, 0],
    [NEW_CONTROLLER, 1],
  ]);
});
