/**
 * KubegateAgent: the synthesised YAML is pinned by a snapshot, what it must hold is asserted
 * (least rights, locked-down containers, the agent's flags), and bad props are refused with
 * every problem named before anything is built.
 */
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { KubegateAgent, KubegateAgentPropsError, type KubegateAgentProps } from '../../constructs/kubegate-agent';

const CA = '-----BEGIN CERTIFICATE-----\nHUB-INTERNAL-CA\n-----END CERTIFICATE-----\n';
const PROPS: KubegateAgentProps = {
  cluster: 'edge-site-a',
  labels: { env: 'prod', region: 'eu' },
  hubAgentEndpoint: 'kubegate-hub.example:18003',
  hubCaPem: CA,
  joinToken: 'kgj_0123456789abcdef',
  images: { agent: 'registry.local/kubegate/agent@sha256:1111', envoy: 'registry.local/kubegate/envoy@sha256:2222' },
  allowedClusterRoles: ['view', 'edit'],
};

function synth(props: KubegateAgentProps = PROPS): Array<Record<string, any>> {
  const chart = Testing.chart();
  new KubegateAgent(chart, 'agent', props);
  return Testing.synth(chart) as Array<Record<string, any>>;
}

test('the synthesised manifests match the snapshot', () => {
  expect(stringify(synth(), { lineWidth: 0 })).toMatchSnapshot();
});

test('one pod: the agent with its flags, the Envoy with its bootstrap, both locked down', () => {
  const objects = synth();
  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  expect(deployment.metadata.namespace).toBe('kubegate-system');
  const pod = deployment.spec.template.spec;
  expect(pod.serviceAccountName).toBe('kubegate-agent');
  expect(pod.automountServiceAccountToken).toBe(true);
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  const [agent, envoy] = pod.containers;
  expect(agent.args).toEqual([
    '--cluster', 'edge-site-a',
    '--label', 'env=prod',
    '--label', 'region=eu',
    '--control-plane', 'kubegate-hub.example:18003',
    '--control-plane-ca-file', '/etc/kubegate/hub-ca/ca.crt',
    '--state-dir', '/var/lib/kubegate-agent',
    '--identity-secret', 'kubegate-system/kubegate-agent-identity',
    '--join-token-file', '/etc/kubegate/join-token/token',
    '--allowed-cluster-role', 'edit',
    '--allowed-cluster-role', 'view',
    '--envoy-admin', '127.0.0.1:9901',
    '--drain-timeout-seconds', '20',
    '--health-address', '0.0.0.0:8081',
  ]);
  for (const c of [agent, envoy]) {
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.resources.limits).toBeDefined();
  }
  const bootstrap = JSON.parse(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-in-cluster-envoy')!.data['bootstrap.json']);
  expect(bootstrap.node.metadata).toEqual({ kubegate_cluster: 'edge-site-a', kubegate_secrets_directory: '/var/lib/kubegate-agent/envoy-secrets' });
  expect(JSON.stringify(bootstrap.static_resources)).toContain('kubegate-hub.example');
  // The token is in a Secret, never in the pod spec or a ConfigMap; the identity Secret starts empty.
  expect(objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'kubegate-join-token')!.stringData).toEqual({ token: 'kgj_0123456789abcdef' });
  const identity = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'kubegate-agent-identity')!;
  expect(identity.data ?? {}).toEqual({});
  expect(identity.stringData ?? {}).toEqual({});
  expect(JSON.stringify(objects.filter((o) => o.kind !== 'Secret'))).not.toContain('kgj_0123456789abcdef');
});

test('an upgrade hands over without a gap: the new pod is ready before the old one goes, and the old one drains first', () => {
  const deployment = synth().find((o) => o.kind === 'Deployment')!;
  expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  const pod = deployment.spec.template.spec;
  const [agent, envoy] = pod.containers;
  // Ready means: a session with the hub and tunnels held by this pod's Envoy (agent /readyz).
  expect(agent.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8081, scheme: 'HTTP' });
  expect(agent.ports).toEqual([expect.objectContaining({ containerPort: 8081 })]);
  // Each pod's Envoy is a node of its own at the hub, named after the pod.
  expect(envoy.args.slice(envoy.args.indexOf('--service-node'), envoy.args.indexOf('--service-node') + 2)).toEqual(['--service-node', 'edge-site-a.$(POD_NAME)']);
  expect(envoy.env).toEqual([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
  expect(envoy.args.join(' ')).toContain('--drain-strategy immediate');
  // The Envoy outlives the agent's drain of it (up to 20 s), and both fit in the grace period.
  expect(envoy.lifecycle.preStop.httpGet).toMatchObject({ path: '/drained', port: 8081 });
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(25);
});

test('the RBAC is KubegateAgentRbac: namespaces and least rights come with the agent', () => {
  const kinds = synth().map((o) => `${o.kind}/${o.metadata.name}`);
  expect(kinds).toEqual(expect.arrayContaining(['Namespace/kubegate-system', 'Namespace/kubegate-users', 'ClusterRole/kubegate-agent-bindings', 'Role/kubegate-proxy-impersonate']));
});

test('without a join token there is no Secret and no token flag', () => {
  const { joinToken: _unused, ...rest } = PROPS;
  void _unused;
  const objects = synth(rest);
  expect(objects.some((o) => o.kind === 'Secret' && o.metadata.name === 'kubegate-join-token')).toBe(false);
  expect(objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args).not.toContain('--join-token-file');
});

test.each<[string, Record<string, unknown>, RegExp]>([
  ['a cluster name that is not a DNS label', { cluster: 'Edge_A' }, /cluster: must be a DNS label .*"Edge_A"/],
  ['an endpoint without a port', { hubAgentEndpoint: 'hub.example' }, /hubAgentEndpoint: must be HOST:PORT/],
  ['a CA that is not PEM', { hubCaPem: 'not a certificate' }, /hubCaPem: must be a PEM certificate/],
  ['a missing Envoy image', { images: { agent: 'a' } }, /images.envoy: /],
  ['an unknown prop', { replicas: 2 }, /replicas: unknown prop \(expected one of cluster, /],
  ['a label value that is not text', { labels: { env: 1 } }, /labels.env: must be a string, got 1/],
  ['a bad admin port', { envoyAdminPort: 0 }, /envoyAdminPort: must be a port number \(1-65535\), got 0/],
])('refuses %s, naming it', (_what, change, message) => {
  const err = (() => {
    try {
      synth({ ...PROPS, ...change } as KubegateAgentProps);
    } catch (e) {
      return e as KubegateAgentPropsError;
    }
    throw new Error('accepted');
  })();
  expect(err).toBeInstanceOf(KubegateAgentPropsError);
  expect(err.code).toBe('ERR_KUBEGATE_AGENT_PROPS');
  expect(err.message).toMatch(message);
});

test('every problem is named at once', () => {
  expect(() => synth({ ...PROPS, cluster: 'X', hubAgentEndpoint: 'nope' })).toThrow(/cluster: .*; hubAgentEndpoint: /);
});

test('namespaces that collide are refused by the RBAC rule that explains why', () => {
  expect(() => synth({ ...PROPS, agentNamespace: 'kubegate', usersNamespace: 'kubegate' })).toThrow(/must differ/);
});

