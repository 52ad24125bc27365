/**
 * KubegateAgent's manifests against a real kube-apiserver: applied as a cluster admin would
 * (kubectl apply), every object is accepted as written (schema, RBAC escalation rules: the
 * admin binds nothing it does not hold), and the agent's pod template reads back unchanged.
 * The pod runs nowhere yet: this cluster has no kubelet.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { loadToolchain } from '../../dev/toolchain/tools';
import { silentLogger } from '../../control-plane/log/logger';
import { KubegateAgent } from '../../constructs/kubegate-agent';

jest.setTimeout(120_000);

let stateDir: string;
let cluster: LocalCluster;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-constructs-'));
  cluster = await startLocalCluster({ name: 'constructs', stateDir, toolchain: loadToolchain(), logger: silentLogger });
});

afterAll(async () => {
  await cluster?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

test('kubectl apply takes every object, and the agent pod template reads back as synthesised', async () => {
  const chart = Testing.chart();
  new KubegateAgent(chart, 'agent', {
    cluster: 'edge-site-a',
    labels: { env: 'prod' },
    hubAgentEndpoint: '10.0.0.5:18003',
    hubCaPem: '-----BEGIN CERTIFICATE-----\nHUB-INTERNAL-CA\n-----END CERTIFICATE-----\n',
    joinToken: 'kgj_0123456789abcdef',
    images: { agent: 'registry.local/kubegate/agent@sha256:1111', envoy: 'registry.local/kubegate/envoy@sha256:2222' },
    allowedClusterRoles: ['view', 'edit'],
  });
  const objects = Testing.synth(chart) as Array<{ kind: string; metadata: { name: string; namespace?: string }; spec?: { template?: unknown } }>;
  const applied = await cluster.kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);

  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  const read = await cluster.kubectl(['get', 'deployment', deployment.metadata.name, '-n', deployment.metadata.namespace!, '-o', 'json']);
  expect(read.code).toBe(0);
  const stored = (JSON.parse(read.stdout) as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
  const written = (deployment.spec!.template as { spec: Record<string, unknown> }).spec;
  // Kept as written, the apiserver's defaults added (it also drops zero values such as hostNetwork: false).
  for (const field of ['containers', 'volumes', 'securityContext', 'serviceAccountName', 'automountServiceAccountToken']) {
    expect({ [field]: stored[field] }).toMatchObject({ [field]: written[field] });
  }

  // Applying again rolls nothing: the Deployment's spec is where it was (kubectl still says
  // "configured" for a Secret written as stringData and for zero values the apiserver drops).
  const generation = async () => (await cluster.kubectl(['get', 'deployment', deployment.metadata.name, '-n', deployment.metadata.namespace!, '-o', 'jsonpath={.metadata.generation}'])).stdout;
  const before = await generation();
  // The agent has meanwhile kept its certificate in its identity Secret: applying again keeps it.
  const patched = await cluster.kubectl(['patch', 'secret', 'kubegate-agent-identity', '-n', 'kubegate-system', '--type', 'merge', '-p', JSON.stringify({ data: { 'tls.crt': Buffer.from('CERT').toString('base64') } })]);
  expect(patched.code).toBe(0);
  const again = await cluster.kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  expect(again.code).toBe(0);
  expect(again.stdout.split('\n').filter((l) => l.trim() && !/ (unchanged|configured)$/.test(l))).toEqual([]);
  expect(await generation()).toBe(before);
  const kept = await cluster.kubectl(['get', 'secret', 'kubegate-agent-identity', '-n', 'kubegate-system', '-o', 'jsonpath={.data.tls\\.crt}']);
  expect(Buffer.from(kept.stdout, 'base64').toString()).toBe('CERT');
});
