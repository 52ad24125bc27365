/**
 * KubegateHub's manifests against a real kube-apiserver: applied as an operator would (kubectl
 * apply), every object of both shapes (one replica on SQLite behind a load balancer; several on
 * PostgreSQL behind NodePorts) is accepted as written, the pod templates read back unchanged,
 * applying again rolls nothing, and the controller's ServiceAccount holds exactly the rights the
 * construct means (asked of the apiserver's own RBAC, not read from the YAML). The pods run
 * nowhere: this cluster has no kubelet.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { loadToolchain } from '../../dev/toolchain/tools';
import { silentLogger } from '../../control-plane/log/logger';
import { KubegateHub, type KubegateHubProps } from '../../constructs/kubegate-hub';

jest.setTimeout(120_000);

let stateDir: string;
let cluster: LocalCluster;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-apply-'));
  cluster = await startLocalCluster({ name: 'hub-constructs', stateDir, toolchain: loadToolchain(), logger: silentLogger });
});

afterAll(async () => {
  await cluster?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

const images = { controller: `registry.local/kubegate/controller@sha256:${'1'.repeat(64)}`, envoy: `registry.local/kubegate/envoy@sha256:${'2'.repeat(64)}` };
type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: { template?: { spec: Record<string, unknown> } } };

function manifests(props: KubegateHubProps): { objects: Obj[]; yaml: string } {
  const chart = Testing.chart();
  new KubegateHub(chart, 'hub', props);
  const objects = Testing.synth(chart) as Obj[];
  return { objects, yaml: objects.map((o) => stringify(o)).join('---\n') };
}

/**
 * The pod spec as the apiserver stores it: quantities in their canonical form (cdk8s-plus writes
 * memory in Mi, 1024Mi is stored as 1Gi) and false defaults dropped (a claim's readOnly).
 */
function canonical(spec: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(spec), (key, value: unknown) => {
    if (key === 'readOnly' && value === false) return undefined;
    if (key === 'memory' && typeof value === 'string') {
      const mi = /^(\d+)Mi$/.exec(value);
      if (mi && Number(mi[1]) % 1024 === 0) return `${Number(mi[1]) / 1024}Gi`;
    }
    return value;
  }) as Record<string, unknown>;
}

test.each<[string, KubegateHubProps]>([
  ['one replica on SQLite behind a load balancer', { images, edgeUrl: 'https://kubegate.example.com' }],
  [
    'several replicas on PostgreSQL behind NodePorts',
    {
      images,
      edgeUrl: 'https://kubegate.example.com:30443',
      namespace: 'kubegate-ha',
      controller: { replicas: 2 },
      edge: { replicas: 2, memoryLimit: '2Gi' },
      store: { postgresSecret: 'kubegate-postgres' },
      serviceType: 'NodePort',
      nodePorts: { https: 30443, tunnel: 30006, agent: 30003, api: 30005 },
      apiAllowedCidrs: ['10.0.0.0/8'],
    },
  ],
])('%s: kubectl apply takes every object, the pods read back as written, a second apply rolls nothing', async (_what, props) => {
  const { objects, yaml } = manifests(props);
  const applied = await cluster.kubectl(['apply', '-f', '-'], yaml);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);

  const generations: Record<string, string> = {};
  // The controller's Deployment and the edge's StatefulSet.
  for (const deployment of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
    const { name, namespace } = deployment.metadata;
    const resource = `${deployment.kind.toLowerCase()}/${name}`;
    const read = await cluster.kubectl(['get', resource, '-n', namespace!, '-o', 'json']);
    expect(read.code).toBe(0);
    const stored = (JSON.parse(read.stdout) as { metadata: { generation: number }; spec: { template: { spec: Record<string, unknown> } } });
    const written = canonical(deployment.spec!.template!.spec);
    // Kept as written, the apiserver's defaults added (it drops zero values such as hostNetwork: false).
    for (const field of ['containers', 'initContainers', 'volumes', 'securityContext', 'affinity', 'serviceAccountName', 'automountServiceAccountToken']) {
      expect({ [field]: stored.spec.template.spec[field] }).toMatchObject({ [field]: written[field] });
    }
    generations[resource] = String(stored.metadata.generation);
  }

  const again = await cluster.kubectl(['apply', '-f', '-'], yaml);
  expect(again.code).toBe(0);
  expect(again.stdout.split('\n').filter((l) => l.trim() && !/ (unchanged|configured)$/.test(l))).toEqual([]);
  expect(Object.keys(generations).sort()).toEqual(['deployment/kubegate-controller', 'statefulset/kubegate-edge']);
  for (const [resource, generation] of Object.entries(generations)) {
    const now = await cluster.kubectl(['get', resource, '-n', props.namespace ?? 'kubegate-system', '-o', 'jsonpath={.metadata.generation}']);
    expect(now.stdout).toBe(generation);
  }
});

test("the controller's ServiceAccount may do exactly what the construct means with Secrets", async () => {
  // Applied by the test above; applying again is harmless and keeps this test on its own feet.
  expect((await cluster.kubectl(['apply', '-f', '-'], manifests({ images, edgeUrl: 'https://kubegate.example.com' }).yaml)).code).toBe(0);
  const canI = async (...args: string[]) => {
    const r = await cluster.kubectl(['auth', 'can-i', ...args, '-n', 'kubegate-system', '--as', 'system:serviceaccount:kubegate-system:kubegate-controller']);
    return r.stdout.trim();
  };
  for (const name of ['kubegate-pki', 'kubegate-edge-xds-client', 'kubegate-admin-kubeconfig']) {
    for (const verb of ['get', 'update', 'patch']) expect(`${verb} ${name}: ${await canI(verb, `secret/${name}`)}`).toBe(`${verb} ${name}: yes`);
    expect(`delete ${name}: ${await canI('delete', `secret/${name}`)}`).toBe(`delete ${name}: no`);
  }
  expect(await canI('create', 'secrets')).toBe('yes');
  expect(await canI('get', 'secret/kubegate-controller-config')).toBe('no');
  expect(await canI('list', 'secrets')).toBe('no');
  expect(await canI('watch', 'secrets')).toBe('no');
  expect(await canI('get', 'configmaps')).toBe('no');
  // Nothing in any other namespace.
  const elsewhere = await cluster.kubectl(['auth', 'can-i', 'get', 'secret/kubegate-pki', '-n', 'kube-system', '--as', 'system:serviceaccount:kubegate-system:kubegate-controller']);
  expect(elsewhere.stdout.trim()).toBe('no');
  // The edge's identity holds nothing at all.
  const edge = await cluster.kubectl(['auth', 'can-i', 'get', 'secret/kubegate-edge-xds-client', '-n', 'kubegate-system', '--as', 'system:serviceaccount:kubegate-system:kubegate-edge']);
  expect(edge.stdout.trim()).toBe('no');
});

test('the namespace enforces the restricted Pod Security Standard, which every hub pod meets', async () => {
  // The hub's Deployments were applied without a warning (above); a pod that is not locked down is refused.
  const labels = await cluster.kubectl(['get', 'namespace', 'kubegate-system', '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}']);
  expect(labels.stdout).toBe('restricted');
  // (With the edge's ServiceAccount: this cluster runs no controller that would make a default one.)
  const overrides = JSON.stringify({ spec: { serviceAccountName: 'kubegate-edge', automountServiceAccountToken: false } });
  const loose = await cluster.kubectl(['run', 'loose', '-n', 'kubegate-system', '--image', 'registry.local/anything', '--overrides', overrides, '--dry-run=server', '-o', 'name']);
  expect(loose.code).not.toBe(0);
  expect(loose.stderr).toMatch(/violates PodSecurity "restricted/);
});
