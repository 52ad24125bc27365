/**
 * The fleet's components under Pulumi's mocks: which resources a configuration declares, under
 * which parent and provider, with which inputs, without a cluster. The dynamic resources'
 * providers are serialized on registration as in a real run, so a provider that cannot be
 * shipped to Pulumi's dynamic-provider process fails here first.
 */
import * as pulumi from '@pulumi/pulumi';
import type { FleetConfig } from '../../stacks/fleet-config';

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

const registered: Registered[] = [];
/** How a secret value reaches the resource monitor (Pulumi's rpc.ts: specialSigKey, specialSecretSig). */
const SPECIAL_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
const HUB_CA = '-----BEGIN CERTIFICATE-----\nMIIBhub\n-----END CERTIFICATE-----\n';

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown>, ...(args.provider ? { provider: args.provider } : {}) });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === 'pulumi-nodejs:dynamic/kubegate:ClusterRegistration') Object.assign(state, { joinToken: `token-of-${String(args.inputs.cluster)}`, joinTokenExpiresAt: '2026-12-07T01:00:00Z', hubCaPem: HUB_CA });
        if (args.type === 'pulumi-nodejs:dynamic/kubegate:PolicySet') Object.assign(state, { revision: 4 });
        if (args.type === 'kubernetes:yaml/v2:ConfigGroup') Object.assign(state, { resources: [] });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    'kubegate',
    'mocks',
    false,
  );
});

function kubeconfig(name: string): string {
  return `apiVersion: v1\nkind: Config\ncurrent-context: ${name}\ncontexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]\nclusters: [{name: ${name}, cluster: {server: "https://${name}.test.invalid:6443"}}]\nusers: [{name: ${name}, user: {token: t}}]\n`;
}

const CONFIG: FleetConfig = {
  images: { controller: `registry.test/controller@sha256:${'1'.repeat(64)}`, envoy: `registry.test/envoy@sha256:${'2'.repeat(64)}`, agent: `registry.test/agent@sha256:${'3'.repeat(64)}` },
  hub: {
    kubeconfig: { text: kubeconfig('hub'), source: 'hub.kubeconfig' },
    apiUrl: 'https://hub.test.invalid:18005',
    agentEndpoint: 'hub.test.invalid:18003',
    props: { edgeUrl: 'https://hub.test.invalid:8443', serviceType: 'NodePort', nodePorts: { tunnel: 30004 }, apiServerNames: ['hub.test.invalid'] },
  },
  clusters: [
    { name: 'prod-eu', labels: { env: 'prod' }, kubeconfig: { text: kubeconfig('prod-eu'), source: 'prod-eu.kubeconfig' }, allowedClusterRoles: ['view'] },
    { name: 'staging', labels: {}, kubeconfig: { text: kubeconfig('staging'), source: 'staging.kubeconfig', context: 'staging' }, allowedClusterRoles: ['view', 'edit'], hubAgentEndpoint: '10.20.0.5:18003' },
  ],
  policies: { directory: `${__dirname}/../../policies/examples` },
};

/** Resolves with an output's value once the mocks have answered. */
function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

let fleet: import('../../stacks/fleet').Fleet;

beforeAll(async () => {
  const { declareFleet } = await import('../../stacks/fleet');
  fleet = declareFleet(CONFIG);
  // Everything is registered once the last component's outputs resolve.
  await Promise.all([valueOf(fleet.hub.urn), ...fleet.clusters.map((c) => valueOf(c.workload.urn)), valueOf(fleet.policies!.revision)]);
  await new Promise((resolve) => setTimeout(resolve, 200));
});

const ofType = (type: string) => registered.filter((r) => r.type === type);
const named = (name: string) => {
  const found = registered.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; registered: ${registered.map((r) => r.name).join(', ')}`);
  return found;
};
type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };
const objsOf = (name: string) => named(name).inputs.objs as Obj[];

test('one hub, one agent per member cluster and one policy set, as components of their own types', () => {
  expect(ofType('kubegate:index:Hub').map((r) => r.name)).toEqual(['hub']);
  expect(ofType('kubegate:index:ClusterAgent').map((r) => r.name).sort()).toEqual(['prod-eu', 'staging']);
  expect(ofType('kubegate:index:PolicySet').map((r) => r.name)).toEqual(['policies']);
});

test("every cluster has a provider of its own, and each cluster's objects go through it", () => {
  const providers = ofType('pulumi:providers:kubernetes');
  expect(providers.map((p) => p.name).sort()).toEqual(['hub-cluster', 'prod-eu-cluster', 'staging-cluster']);
  expect(named('staging-cluster').inputs.context).toBe('staging');
  for (const [objects, provider] of [['hub-objects', 'hub-cluster'], ['prod-eu-base', 'prod-eu-cluster'], ['prod-eu-workload', 'prod-eu-cluster'], ['prod-eu-join-token', 'prod-eu-cluster'], ['staging-workload', 'staging-cluster']] as const) {
    expect(named(objects).provider).toContain(`::${provider}::`);
  }
});

test('children are parented to their component', async () => {
  expect(await valueOf(fleet.clusters[0]!.registration.urn)).toMatch(/kubegate:index:ClusterAgent\$pulumi-nodejs:dynamic\/kubegate:ClusterRegistration::prod-eu-registration$/);
  expect(await valueOf(fleet.hub.objects.urn)).toMatch(/kubegate:index:Hub\$kubernetes:yaml\/v2:ConfigGroup::hub-objects$/);
  expect(await valueOf(fleet.policies!.resource.urn)).toMatch(/kubegate:index:PolicySet\$pulumi-nodejs:dynamic\/kubegate:PolicySet::policies-files$/);
});

test("the hub's objects are the KubegateHub construct's, with the fleet's images", () => {
  const objects = objsOf('hub-objects');
  const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((o) => `${o.kind}/${o.metadata.name}`).sort();
  expect(workloads).toEqual(['Deployment/kubegate-controller', 'StatefulSet/kubegate-edge']);
  expect(JSON.stringify(objects)).toContain(`registry.test/controller@sha256:${'1'.repeat(64)}`);
  expect(objects.find((o) => o.kind === 'Namespace')?.metadata.name).toBe('kubegate-system');
});

test("an agent's objects come in two steps, with the join token's Secret on its own in between", () => {
  const base = objsOf('prod-eu-base');
  const workload = objsOf('prod-eu-workload');
  expect(workload.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Deployment/kubegate-agent']);
  expect(base.some((o) => o.kind === 'Deployment')).toBe(false);
  expect(base.some((o) => o.kind === 'Secret' && o.metadata.name === 'kubegate-join-token')).toBe(false);
  // The hub's CA from the registration, in the ConfigMap the agent mounts.
  expect(JSON.stringify(base.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-hub-ca'))).toContain('MIIBhub');
  const token = named('prod-eu-join-token').inputs as { metadata: { name: string }; stringData: Record<string, unknown> };
  expect(token.metadata.name).toBe('kubegate-join-token');
  // Registered as a secret (Pulumi's secret signature around the value).
  expect(token.stringData).toEqual({ [SPECIAL_SIG_KEY]: SECRET_SIG, value: { token: 'token-of-prod-eu' } });
  // Each cluster dials the hub where its config says.
  expect(JSON.stringify(objsOf('staging-workload'))).toContain('10.20.0.5:18003');
  expect(JSON.stringify(workload)).toContain('hub.test.invalid:18003');
  // Labels are the registration's, set at the hub: relabelling never restarts the agent.
  expect(JSON.stringify(workload)).not.toContain('--label');
});

test('registrations and the policy set are dynamic resources with serialized providers', () => {
  const registrations = ofType('pulumi-nodejs:dynamic/kubegate:ClusterRegistration');
  expect(registrations.map((r) => [r.inputs.cluster, r.inputs.labels]).sort()).toEqual([
    ['prod-eu', { env: 'prod' }],
    ['staging', {}],
  ]);
  for (const r of [...registrations, ...ofType('pulumi-nodejs:dynamic/kubegate:PolicySet'), ...ofType('pulumi-nodejs:dynamic/kubegate:AgentLeftovers')]) {
    expect(typeof r.inputs.__provider).toBe('string');
    expect((r.inputs.__provider as string).length).toBeGreaterThan(100);
  }
  // The hub's access goes in as a secret: it holds the hub cluster's kubeconfig.
  const access = registrations[0]!.inputs.access as Record<string, unknown>;
  expect(access[SPECIAL_SIG_KEY]).toBe(SECRET_SIG);
  expect(access.value).toMatchObject({ apiUrl: 'https://hub.test.invalid:18005', namespace: 'kubegate-system' });
  expect((access.value as { kubeconfig: string }).kubeconfig).toContain('hub.test.invalid:6443');
});

test("the policy set holds the directory's files, by name", () => {
  const files = named('policies-files').inputs.files as Record<string, string>;
  expect(Object.keys(files).length).toBeGreaterThan(0);
  for (const [name, text] of Object.entries(files)) {
    expect(name).toMatch(/\.ya?ml$/);
    expect(text).toContain('apiVersion: kubegate.dev/');
  }
});

test('kubeconfigs are secret wherever they go', async () => {
  expect(await pulumi.isSecret(fleet.hub.access)).toBe(true);
});
