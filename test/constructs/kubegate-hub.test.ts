/**
 * KubegateHub: the synthesised YAML is pinned by snapshots (one replica on SQLite behind a load
 * balancer; several on PostgreSQL behind NodePorts), what it must hold is asserted (the
 * controller's config, which the controller's own reader accepts; least rights; locked-down
 * pods; the edge's bootstrap; who may connect to what), and bad props are refused with every
 * problem named before anything is built.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { parse, stringify } from 'yaml';
import { KubegateHub, KubegateHubPropsError, type KubegateHubProps } from '../../constructs/kubegate-hub';
import { readControllerConfig } from '../../control-plane/server/controller-config';
import { DEFAULT_DRAIN_SETTINGS } from '../../control-plane/server/control-plane-props';
import { CONTROLLER_TERMINATION_GRACE_SECONDS } from '../../constructs/hub-controller';
import { TUNNEL_REDIAL_MAX_BACKOFF_SECONDS } from '../../agent/protocol/identities';

const CONTROLLER_IMAGE = `registry.local/kubegate/controller@sha256:${'1'.repeat(64)}`;
const ENVOY_IMAGE = `registry.local/kubegate/envoy@sha256:${'2'.repeat(64)}`;
const PROPS: KubegateHubProps = { images: { controller: CONTROLLER_IMAGE, envoy: ENVOY_IMAGE }, edgeUrl: 'https://kubegate.example.com' };
const HA: KubegateHubProps = {
  ...PROPS,
  namespace: 'kubegate',
  controller: { replicas: 3, cpuLimit: '2', memoryLimit: '1Gi' },
  edge: { replicas: 2, userShards: 4 },
  store: { postgresSecret: 'kubegate-postgres', postgresSecretKey: 'dsn' },
  serviceType: 'NodePort',
  nodePorts: { https: 30443, tunnel: 30006, agent: 30003, api: 30005 },
  apiAllowedCidrs: ['10.0.0.0/8', '192.168.1.0/24'],
  metricsNamespaceSelector: { 'kubernetes.io/metadata.name': 'observability' },
  maxCertTtl: '12h',
};

type Obj = Record<string, any>;

function synth(props: KubegateHubProps = PROPS): Obj[] {
  const chart = Testing.chart();
  new KubegateHub(chart, 'hub', props);
  return Testing.synth(chart) as Obj[];
}
const find = (objects: Obj[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};
const configOf = (objects: Obj[]) => parse(find(objects, 'Secret', 'kubegate-controller-config').stringData['config.yaml'] as string) as Obj;
/** The controller is a Deployment, the edge a StatefulSet. */
const podOf = (objects: Obj[], name: string) => find(objects, name === 'kubegate-edge' ? 'StatefulSet' : 'Deployment', name).spec.template.spec as Obj;

test('one replica on SQLite behind a load balancer: the manifests match the snapshot', () => {
  expect(stringify(synth(), { lineWidth: 0 })).toMatchSnapshot();
});

test('several replicas on PostgreSQL from a Secret, behind NodePorts: the manifests match the snapshot', () => {
  expect(stringify(synth(HA), { lineWidth: 0 })).toMatchSnapshot();
});

test('the controller config: every port, the Secrets namespace, the edge and the tunnel address', () => {
  expect(configOf(synth())).toEqual({
    listenAddress: '0.0.0.0',
    stateDir: '/var/lib/kubegate',
    store: 'sqlite:/var/lib/kubegate/kubegate.db',
    kubernetesSecrets: { namespace: 'kubegate-system' },
    ports: { xds: 18000, authz: 18001, status: 18002, agent: 18003, tunnel: 18004, api: 18005 },
    edge: { nodeId: 'kubegate-edge', listenAddress: '0.0.0.0', listenPort: 8443, url: 'https://kubegate.example.com' },
    agents: { listenAddress: '0.0.0.0', edgeTunnelAddresses: [{ host: 'kubegate.example.com', port: 18004 }] },
  });
  const ha = configOf(synth(HA));
  // The URL is added in the pod from the operator's Secret, never written here.
  expect(ha.store).toBeUndefined();
  expect(ha.edge.userShards).toBe(4);
  expect(ha.maxCertTtl).toBe('12h');
  // One address per edge replica, at consecutive nodePorts.
  expect(ha.agents.edgeTunnelAddresses).toEqual([
    { host: 'kubegate.example.com', port: 30006 },
    { host: 'kubegate.example.com', port: 30007 },
  ]);
});

test("the controller's own reader accepts the config the construct writes", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-config-'));
  try {
    for (const props of [PROPS, HA, { ...PROPS, store: { postgresUrl: 'postgres://kubegate:pw@db:5432/kubegate' } }, { ...PROPS, apiServerNames: ['hub.example', '10.1.2.3'] }]) {
      const file = path.join(dir, 'config.yaml');
      fs.writeFileSync(file, find(synth(props), 'Secret', 'kubegate-controller-config').stringData['config.yaml']);
      const read = readControllerConfig(file);
      expect(read.kubernetesSecrets).toEqual({ namespace: props.namespace ?? 'kubegate-system' });
      expect(read.listenAddress).toBe('0.0.0.0');
      expect(read.apiServerNames).toEqual((props as { apiServerNames?: string[] }).apiServerNames);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const AGENT_IMAGE = `registry.local/kubegate/agent@sha256:${'3'.repeat(64)}`;
const INSTALL: KubegateHubProps = {
  ...PROPS,
  images: { ...PROPS.images, agent: AGENT_IMAGE },
  agentInstall: { hubAgentEndpoint: 'agents.kubegate.example.com:18003', publicUrl: 'https://install.kubegate.example.com:18006/', allowedClusterRoles: ['view', 'edit', 'view'], tokenTtl: '30m' },
};

test('agentInstall: the install listener in the config, on the controller and its public Service, open to anyone', () => {
  const objects = synth(INSTALL);
  const config = configOf(objects);
  expect(config.ports.install).toBe(18006);
  expect(config.agentInstall).toEqual({
    hubAgentEndpoint: 'agents.kubegate.example.com:18003',
    images: { agent: AGENT_IMAGE, envoy: ENVOY_IMAGE },
    allowedClusterRoles: ['edit', 'view'],
    publicUrl: 'https://install.kubegate.example.com:18006',
    tokenTtl: '30m',
  });
  const container = podOf(objects, 'kubegate-controller').containers[0] as Obj;
  expect(container.ports).toContainEqual({ name: 'install', containerPort: 18006 });
  expect(find(objects, 'Service', 'kubegate-controller-public').spec.ports.map((p: Obj) => `${p.name}:${p.port}`)).toEqual(['agent:18003', 'api:18005', 'install:18006']);
  // Inside the cluster nothing needs the install port.
  expect(find(objects, 'Service', 'kubegate-controller').spec.ports.map((p: Obj) => p.name)).not.toContain('install');
  expect(find(objects, 'NetworkPolicy', 'kubegate-controller').spec.ingress[1]).toEqual({ ports: [{ protocol: 'TCP', port: 18003 }, { protocol: 'TCP', port: 18006 }] });

  const np = synth({ ...HA, images: { ...HA.images, agent: AGENT_IMAGE }, agentInstall: { ...INSTALL.agentInstall!, publiclyTrusted: true }, nodePorts: { ...HA.nodePorts, install: 30008 }, ports: { install: 19006 } });
  expect(find(np, 'Service', 'kubegate-controller-public').spec.ports.find((p: Obj) => p.name === 'install')).toEqual({ name: 'install', port: 19006, targetPort: 19006, nodePort: 30008 });
  expect(configOf(np).agentInstall.publiclyTrusted).toBe(true);
  expect(configOf(np).ports.install).toBe(19006);
});

test('without agentInstall no install port is anywhere, and the agent image alone changes nothing', () => {
  const plain = synth();
  expect(configOf(plain).agentInstall).toBeUndefined();
  expect(configOf(plain).ports.install).toBeUndefined();
  expect(JSON.stringify(plain)).not.toContain('18006');
  expect(synth({ ...PROPS, images: { ...PROPS.images, agent: AGENT_IMAGE } })).toEqual(plain);
});

test("the controller's own reader takes the agentInstall section the construct writes", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-install-'));
  try {
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, find(synth(INSTALL), 'Secret', 'kubegate-controller-config').stringData['config.yaml']);
    const read = readControllerConfig(file);
    expect(read.agentInstall).toMatchObject({ hubAgentEndpoint: 'agents.kubegate.example.com:18003', port: 18006, publicUrl: 'https://install.kubegate.example.com:18006', defaultTtlMs: 30 * 60_000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a PostgreSQL URL given as a prop is in the config Secret only', () => {
  const url = 'postgres://kubegate:s3cret@db.example:5432/kubegate';
  const objects = synth({ ...PROPS, controller: { replicas: 2 }, store: { postgresUrl: url } });
  expect(configOf(objects).store).toBe(url);
  expect(JSON.stringify(objects.filter((o) => !(o.kind === 'Secret' && o.metadata.name === 'kubegate-controller-config')))).not.toContain('s3cret');
  expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
  expect(find(objects, 'Deployment', 'kubegate-controller').spec.strategy.type).toBe('RollingUpdate');
});

test("the controller's grace period covers its drain on SIGTERM, with a margin for stopping", () => {
  const pod = podOf(synth(HA), 'kubegate-controller');
  expect(pod.terminationGracePeriodSeconds).toBe(CONTROLLER_TERMINATION_GRACE_SECONDS);
  const { endpointsDelayMs, agentsDeadlineMs, checkShutdownGraceMs } = DEFAULT_DRAIN_SETTINGS;
  expect((endpointsDelayMs + agentsDeadlineMs + checkShutdownGraceMs) / 1000 + 15).toBeLessThanOrEqual(pod.terminationGracePeriodSeconds);
});

test("a PostgreSQL URL from the operator's Secret: a first container adds it to the config, in memory", () => {
  const pod = podOf(synth(HA), 'kubegate-controller');
  const [init] = pod.initContainers;
  expect(init.image).toBe(CONTROLLER_IMAGE);
  expect(init.command.slice(0, 2)).toEqual(['/usr/local/bin/node', '-e']);
  expect(pod.volumes).toEqual(
    expect.arrayContaining([
      { name: 'store-url', secret: { secretName: 'kubegate-postgres', defaultMode: 0o440, items: [{ key: 'dsn', path: 'url' }] } },
      { name: 'assembled-config', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ]),
  );
  expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'assembled-config', mountPath: '/etc/kubegate/controller', readOnly: true });
});

test('the first container writes the config the controller reads, with the URL from the Secret', () => {
  const pod = podOf(synth(HA), 'kubegate-controller');
  const script = pod.initContainers[0].command[2] as string;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-init-'));
  try {
    // The same program, with the pod's paths moved under a scratch directory.
    const moved = script.replace(/'\/etc\/kubegate\//g, `'${root}/`);
    fs.mkdirSync(path.join(root, 'store'));
    fs.mkdirSync(path.join(root, 'controller-template'));
    fs.mkdirSync(path.join(root, 'controller'));
    fs.writeFileSync(path.join(root, 'store', 'url'), 'postgres://kubegate:p"w@db:5432/kubegate\n');
    fs.writeFileSync(path.join(root, 'controller-template', 'config.yaml'), find(synth(HA), 'Secret', 'kubegate-controller-config').stringData['config.yaml']);
    new Function('require', moved)(require);
    const read = readControllerConfig(path.join(root, 'controller', 'config.yaml'));
    expect(read.storeUrl).toBe('postgres://kubegate:p"w@db:5432/kubegate');
    expect(fs.statSync(path.join(root, 'controller', 'config.yaml')).mode & 0o777).toBe(0o600);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the controller's rights: its three Secrets by name, and create", () => {
  const objects = synth();
  expect(find(objects, 'Role', 'kubegate-controller-secrets').rules).toEqual([
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'patch'], resourceNames: ['kubegate-pki', 'kubegate-edge-xds-client', 'kubegate-admin-kubeconfig'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ]);
  expect(find(objects, 'RoleBinding', 'kubegate-controller-secrets').subjects).toEqual([{ kind: 'ServiceAccount', name: 'kubegate-controller', namespace: 'kubegate-system' }]);
  expect(podOf(objects, 'kubegate-controller')).toMatchObject({ serviceAccountName: 'kubegate-controller', automountServiceAccountToken: true });
  expect(podOf(objects, 'kubegate-edge')).toMatchObject({ serviceAccountName: 'kubegate-edge', automountServiceAccountToken: false });
  expect(objects.filter((o) => /Role/.test(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Role/kubegate-controller-secrets', 'RoleBinding/kubegate-controller-secrets']);
});

test('every container is locked down, with resources, and pulled by digest when missing', () => {
  for (const props of [PROPS, HA]) {
    const objects = synth(props);
    for (const name of ['kubegate-controller', 'kubegate-edge']) {
      const pod = podOf(objects, name);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
        expect(c.imagePullPolicy).toBe('IfNotPresent');
        expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'memory']);
      }
      expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    }
  }
  expect(podOf(synth(HA), 'kubegate-controller').containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1024Mi' } });
});

test('probes: startup and liveness on /healthz, readiness on /readyz, the edge ready once its user port listens and the clusters had time to dial it', () => {
  const objects = synth();
  const controller = podOf(objects, 'kubegate-controller').containers[0];
  expect(controller.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 18002 });
  expect(controller.startupProbe.httpGet).toMatchObject({ path: '/healthz', port: 18002 });
  expect(controller.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 18002 });
  const edge = podOf(objects, 'kubegate-edge').containers[0].readinessProbe;
  expect(edge.tcpSocket).toEqual({ port: 8443 });
  // Twice the in-cluster Envoys' longest wait before they dial a missing edge again (4 s), and Envoy's start.
  expect(edge.initialDelaySeconds).toBe(2 * TUNNEL_REDIAL_MAX_BACKOFF_SECONDS + 2);
});

test('SQLite: a claim, one replica, the old pod gone before the new one starts, no disruption budget', () => {
  const objects = synth({ ...PROPS, store: { sqliteVolumeSize: '5Gi', sqliteStorageClass: 'fast' } });
  expect(find(objects, 'PersistentVolumeClaim', 'kubegate-controller-state').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } }, storageClassName: 'fast' });
  const deployment = find(objects, 'Deployment', 'kubegate-controller');
  expect(deployment.spec.replicas).toBe(1);
  expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
});

test('replicas to spare get a PodDisruptionBudget each', () => {
  const budgets = synth(HA).filter((o) => o.kind === 'PodDisruptionBudget');
  expect(budgets.map((b) => [b.metadata.name, b.spec])).toEqual([
    ['kubegate-controller', { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'controller' } } }],
    ['kubegate-edge', { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'edge' } } }],
  ]);
});

test("the edge: a bootstrap naming every controller replica (the headless Service), mTLS from the controller's Secret", () => {
  const objects = synth();
  const bootstrap = JSON.parse(find(objects, 'ConfigMap', 'kubegate-edge-bootstrap').data['bootstrap.json']);
  expect(bootstrap.node.id).toBe('kubegate-edge');
  expect(bootstrap.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9901 });
  // The controller's clusters (the others are the preStop listener's: hub-edge-lifecycle.test.ts).
  const clusters = (bootstrap.static_resources.clusters as Obj[]).filter((c) => c.transport_socket);
  expect(clusters.map((c) => [c.name, c.type, c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address])).toEqual([
    ['kubegate-control-plane', 'STRICT_DNS', { address: 'kubegate-controller-replicas.kubegate-system.svc.cluster.local', port_value: 18000 }],
    ['kubegate-authz', 'STRICT_DNS', { address: 'kubegate-controller-replicas.kubegate-system.svc.cluster.local', port_value: 18001 }],
  ]);
  // The client certificate through file-based SDS watching the Secret's directory: renewals are picked up.
  for (const c of clusters) {
    expect(c.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs).toEqual([
      { name: 'kubegate-edge-xds-client', sds_config: { path_config_source: { path: '/etc/kubegate/edge/xds-client-sds.json' }, resource_api_version: 'V3' } },
    ]);
    expect(c.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca).toEqual({ filename: '/etc/kubegate/edge-xds-client/ca.crt' });
  }
  expect(JSON.parse(find(objects, 'ConfigMap', 'kubegate-edge-bootstrap').data['xds-client-sds.json']).resources[0].tls_certificate).toEqual({
    certificate_chain: { filename: '/etc/kubegate/edge-xds-client/tls.crt' },
    private_key: { filename: '/etc/kubegate/edge-xds-client/tls.key' },
    watched_directory: { path: '/etc/kubegate/edge-xds-client' },
  });
  const pod = podOf(objects, 'kubegate-edge');
  expect(pod.volumes).toContainEqual({ name: 'xds-client', secret: { secretName: 'kubegate-edge-xds-client', defaultMode: 0o440 } });
  expect(pod.containers[0].image).toBe(ENVOY_IMAGE);
  expect(pod.containers[0].args.slice(0, 2)).toEqual(['-c', '/etc/kubegate/edge/bootstrap.json']);
  const concurrency = (cpuLimit: string) => {
    const args = podOf(synth({ ...PROPS, edge: { cpuLimit } }), 'kubegate-edge').containers[0].args as string[];
    return args[args.indexOf('--concurrency') + 1];
  };
  expect([concurrency('500m'), concurrency('2'), concurrency('2500m'), concurrency('1.5')]).toEqual(['1', '2', '3', '2']);
});

test('Services: the edge and the public controller ports as chosen, the metrics port named for a ServiceMonitor', () => {
  const lb = synth({ ...PROPS, edgeUrl: 'https://kubegate.example.com:8443', serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } });
  const edge = find(lb, 'Service', 'kubegate-edge');
  // With LoadBalancer its address also takes one replica's tunnels (the default tunnel address is edgeUrl's host).
  expect(edge.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ name: 'https', port: 8443, targetPort: 8443 }, { name: 'tunnel', port: 18004, targetPort: 18004 }] });
  expect(configOf(lb).agents.edgeTunnelAddresses).toEqual([{ host: 'kubegate.example.com', port: 18004 }]);
  // The tunnel listener: a Service per edge replica, selecting that pod by its stable name.
  const tunnel = find(lb, 'Service', 'kubegate-edge-tunnel-0');
  expect(tunnel.spec).toMatchObject({ type: 'LoadBalancer', ports: [{ name: 'tunnel', port: 18004, targetPort: 18004 }] });
  // Tunnels need no client address: the default policy lets the load balancers share one.
  expect(tunnel.spec.externalTrafficPolicy).toBeUndefined();
  expect(tunnel.spec.selector).toEqual({ 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'edge', 'statefulset.kubernetes.io/pod-name': 'kubegate-edge-0' });
  expect(tunnel.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
  const three = synth({ ...PROPS, edge: { replicas: 3 }, edgeTunnelAddress: 'tunnels.kubegate.example.com:18004', ports: { agent: 18103, api: 18105, install: 18106 } });
  // Several replicas: the user Service carries users only; each replica's tunnels go to its own Service.
  expect(find(three, 'Service', 'kubegate-edge').spec.ports.map((p: Obj) => p.name)).toEqual(['https']);
  expect(three.filter((o) => o.kind === 'Service' && o.metadata.name.startsWith('kubegate-edge-tunnel-')).map((o) => [o.metadata.name, o.spec.selector['statefulset.kubernetes.io/pod-name'], o.spec.ports[0].port])).toEqual([
    ['kubegate-edge-tunnel-0', 'kubegate-edge-0', 18004],
    ['kubegate-edge-tunnel-1', 'kubegate-edge-1', 18005],
    ['kubegate-edge-tunnel-2', 'kubegate-edge-2', 18006],
  ]);
  expect(edge.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
  expect(edge.spec.selector).toEqual({ 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'edge' });
  const inside = find(lb, 'Service', 'kubegate-controller');
  expect(inside.spec.type).toBe('ClusterIP');
  expect(inside.spec.ports.map((p: Obj) => `${p.name}:${p.port}`)).toEqual(['xds:18000', 'authz:18001', 'agent:18003', 'api:18005', 'metrics:18002']);
  expect(find(lb, 'Service', 'kubegate-controller-public').spec.ports.map((p: Obj) => p.name)).toEqual(['agent', 'api']);
  // Headless: its name resolves to each ready replica, for the edge's xDS and ext_authz.
  const replicas = find(lb, 'Service', 'kubegate-controller-replicas');
  expect(replicas.spec).toMatchObject({ clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'controller' } });
  expect(replicas.spec.ports.map((p: Obj) => `${p.name}:${p.port}`)).toEqual(['xds:18000', 'authz:18001']);

  const np = synth(HA);
  expect(find(np, 'Service', 'kubegate-edge').spec).toMatchObject({ type: 'NodePort', ports: [{ name: 'https', port: 443, nodePort: 30443 }] });
  // Two replicas: users only (each replica's tunnels are at its own Service).
  expect(find(np, 'Service', 'kubegate-edge').spec.ports).toHaveLength(1);
  expect([0, 1].map((i) => find(np, 'Service', `kubegate-edge-tunnel-${i}`).spec.ports)).toEqual([
    [{ name: 'tunnel', port: 18004, targetPort: 18004, nodePort: 30006 }],
    [{ name: 'tunnel', port: 18004, targetPort: 18004, nodePort: 30007 }],
  ]);
  expect(find(np, 'Service', 'kubegate-edge').spec.externalTrafficPolicy).toBeUndefined();
  expect(find(np, 'Service', 'kubegate-controller-public').spec.ports.map((p: Obj) => p.nodePort)).toEqual([30003, 30005]);
});

test('NetworkPolicies: each component lets in only what it serves', () => {
  const objects = synth();
  const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));
  expect(find(objects, 'NetworkPolicy', 'kubegate-edge').spec).toEqual({
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'edge' } },
    policyTypes: ['Ingress'],
    ingress: [{ ports: tcp(8443, 18004) }],
  });
  expect(find(objects, 'NetworkPolicy', 'kubegate-controller').spec.ingress).toEqual([
    { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': 'edge' } } }], ports: tcp(18000, 18001) },
    { ports: tcp(18003) },
    { ports: tcp(18005) },
    { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: tcp(18002) },
  ]);
  const ha = find(synth(HA), 'NetworkPolicy', 'kubegate-controller').spec.ingress as Obj[];
  expect(ha[2]).toEqual({ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { ipBlock: { cidr: '192.168.1.0/24' } }], ports: tcp(18005) });
  expect(ha[3].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }]);
});

test('nothing secret is in the manifests: the controller makes its CAs and credentials itself', () => {
  const objects = synth();
  expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['kubegate-controller-config']);
  expect(JSON.stringify(objects)).not.toMatch(/BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)/);
});

test('a new config rolls the controller; a new bootstrap rolls the edge', () => {
  const digest = (objects: Obj[], name: string) => find(objects, name === 'kubegate-edge' ? 'StatefulSet' : 'Deployment', name).spec.template.metadata.annotations as Record<string, string>;
  const before = synth();
  const after = synth({ ...PROPS, edgeUrl: 'https://other.example.com' });
  expect(digest(after, 'kubegate-controller')['kubegate.io/config-digest']).not.toBe(digest(before, 'kubegate-controller')['kubegate.io/config-digest']);
  expect(digest(after, 'kubegate-edge')).toEqual(digest(before, 'kubegate-edge'));
  expect(digest(synth({ ...PROPS, edge: { adminPort: 9911 } }), 'kubegate-edge')).not.toEqual(digest(before, 'kubegate-edge'));
});

function refusal(change: Record<string, unknown>): KubegateHubPropsError {
  try {
    synth({ ...PROPS, ...change } as KubegateHubProps);
  } catch (e) {
    return e as KubegateHubPropsError;
  }
  throw new Error('accepted');
}

test.each<[string, Record<string, unknown>, RegExp]>([
  ['several replicas on SQLite', { controller: { replicas: 2 } }, /controller\.replicas: 2 replicas need an external PostgreSQL \(store\.postgresUrl or store\.postgresSecret\)/],
  ['an image reference with a space', { images: { controller: 'registry.local/kubegate controller', envoy: ENVOY_IMAGE } }, /images\.controller: must be an image reference .*got "registry.local\/kubegate controller"/],
  ['an image reference with upper case', { images: { controller: CONTROLLER_IMAGE, envoy: 'Registry.local/Kubegate/Envoy' } }, /images\.envoy: must be an image reference/],
  ['a short digest', { images: { controller: 'kubegate/controller@sha256:abc', envoy: ENVOY_IMAGE } }, /images\.controller: must be an image reference/],
  ['a missing Envoy image', { images: { controller: CONTROLLER_IMAGE } }, /images\.envoy: is required/],
  ['a service type that is neither', { serviceType: 'ClusterIP' }, /serviceType: must be LoadBalancer or NodePort, got "ClusterIP"/],
  ['a privileged port', { ports: { edge: 443 } }, /ports\.edge: must be a port from 1024 to 65535 \(the pods run as non-root without capabilities\), got 443/],
  ['a port out of range', { ports: { xds: 70000 } }, /ports\.xds: must be a port from 1024 to 65535/],
  ['a port that is not a number', { ports: { api: '18005' } }, /ports\.api: must be a port from 1024 to 65535 .*got "18005"/],
  ['a port used twice', { ports: { authz: 18000 } }, /ports: 18000 is used by xds and authz \(each listener needs its own\)/],
  ["the edge's admin port on a listener's", { edge: { adminPort: 8443 } }, /edge\.adminPort: 8443 is also ports\.edge/],
  ['a nodePort out of range', { nodePorts: { https: 0 } }, /nodePorts\.https: must be a port number \(1-65535\), got 0/],
  ['an http edge URL', { edgeUrl: 'http://kubegate.example.com' }, /edgeUrl: must be https:\/\/HOST\[:PORT\] with no path/],
  ['an edge URL on the tunnel port', { edgeUrl: 'https://kubegate.example.com:18004' }, /edgeUrl: its port 18004 is also ports\.tunnel, and the edge Service carries both/],
  ['an edge URL with a path', { edgeUrl: 'https://kubegate.example.com/kg' }, /edgeUrl: must be https:\/\/HOST\[:PORT\] with no path/],
  ['NodePort without a known tunnel port', { serviceType: 'NodePort' }, /edgeTunnelAddress: is required with serviceType NodePort unless nodePorts\.tunnel is fixed/],
  ['a tunnel address without a port', { edgeTunnelAddress: 'tunnel.example.com' }, /edgeTunnelAddress: must be HOST:PORT/],
  [
    "a nodePort among the edge replicas' tunnel nodePorts",
    { serviceType: 'NodePort', edge: { replicas: 3 }, nodePorts: { tunnel: 30010, api: 30012 } },
    /nodePorts\.api: 30012 is one of the edge replicas' tunnel nodePorts \(nodePorts\.tunnel 30010 to 30012, one per replica\)/,
  ],
  ['tunnel ports past 65535', { edgeTunnelAddress: 'tunnel.example.com:65535', edge: { replicas: 2 } }, /edge\.replicas: 2 replicas need tunnel ports 65535 to 65536, past 65535/],
  ['tunnel nodePorts past 65535', { edgeTunnelAddress: 'tunnel.example.com:443', nodePorts: { tunnel: 65535 }, edge: { replicas: 2 } }, /nodePorts\.tunnel: 2 edge replicas' tunnel nodePorts run from 65535 to 65536, past 65535/],
  [
    'several edge replicas behind NodePorts that Kubernetes would pick',
    { serviceType: 'NodePort', edgeTunnelAddress: 'hub.example:30100', edge: { replicas: 2 } },
    /nodePorts\.tunnel: is required with serviceType NodePort and 2 edge replicas \(replica i's tunnel nodePort is nodePorts\.tunnel \+ i, which member clusters dial\)/,
  ],
  ["a port on the edge's lifecycle port", { ports: { api: 9902 } }, /ports\.api: 9902 is the edge's lifecycle port \(its pods' preStop hook calls it\); choose another/],
  ["the admin port on the edge's lifecycle port", { edge: { adminPort: 9902 } }, /edge\.adminPort: 9902 is the edge's lifecycle port/],
  ['both PostgreSQL sources', { store: { postgresUrl: 'postgres://db/kg', postgresSecret: 'pg' } }, /store: give postgresUrl or postgresSecret, not both/],
  ['a store URL that is not PostgreSQL', { store: { postgresUrl: 'mysql://db/kg' } }, /store\.postgresUrl: must be a postgres:\/\/ URL/],
  ['a Secret key without its Secret', { store: { postgresSecretKey: 'dsn' } }, /store\.postgresSecretKey: only means something with store\.postgresSecret/],
  ['a volume size with PostgreSQL', { store: { postgresUrl: 'postgres://db/kg', sqliteVolumeSize: '2Gi' } }, /store\.sqliteVolumeSize: only means something without PostgreSQL/],
  ['a volume size that is not a quantity', { store: { sqliteVolumeSize: '2GB' } }, /store\.sqliteVolumeSize: must be a Kubernetes quantity in Mi or Gi such as 1Gi, got "2GB"/],
  ['a CPU limit that is not a quantity', { controller: { cpuLimit: 'two' } }, /controller\.cpuLimit: must be a Kubernetes quantity such as 100m or 2, got "two"/],
  ['zero replicas', { edge: { replicas: 0 } }, /edge\.replicas: must be a whole number of replicas \(1-100\), got 0/],
  ['user shards that are not a power of two', { edge: { userShards: 3 } }, /edge\.userShards: must be a power of two from 1 to 256, got 3/],
  ['an API server name with a port', { apiServerNames: ['hub.example:443'] }, /apiServerNames\[0\]: must be a DNS name or an IP address, got "hub.example:443"/],
  ['a CIDR that is not one', { apiAllowedCidrs: ['10.0.0.0'] }, /apiAllowedCidrs\[0\]: must be a CIDR such as 10\.0\.0\.0\/8, got "10.0.0.0"/],
  ['a namespace that is not a DNS label', { namespace: 'Kubegate_System' }, /namespace: must be a namespace name \(DNS label\), got "Kubegate_System"/],
  ['a certificate lifetime over a day', { maxCertTtl: '48h' }, /maxCertTtl: must be at most 24h/],
  ['agentInstall without the agent image', { agentInstall: INSTALL.agentInstall }, /images\.agent: is required with agentInstall \(the agent image install links deploy\)/],
  ['agentInstall without its endpoint', { images: INSTALL.images, agentInstall: { publicUrl: 'https://hub.example' } }, /agentInstall\.hubAgentEndpoint: is required/],
  ['an install URL over http', { images: INSTALL.images, agentInstall: { ...INSTALL.agentInstall, publicUrl: 'http://hub.example' } }, /agentInstall\.publicUrl: must be https:\/\/HOST\[:PORT\] with no path \(links are served under \/install\), got "http:\/\/hub.example"/],
  ['an agent endpoint without a port', { images: INSTALL.images, agentInstall: { ...INSTALL.agentInstall, hubAgentEndpoint: 'hub.example' } }, /agentInstall\.hubAgentEndpoint: must be HOST:PORT/],
  ['an install link lifetime over a day', { images: INSTALL.images, agentInstall: { ...INSTALL.agentInstall, tokenTtl: '25h' } }, /agentInstall\.tokenTtl: must be at least 1s and at most 24h/],
  ['a ClusterRole name with a space', { images: INSTALL.images, agentInstall: { ...INSTALL.agentInstall, allowedClusterRoles: ['cluster admin'] } }, /agentInstall\.allowedClusterRoles\[0\]: must be a ClusterRole name, got "cluster admin"/],
  ['the install port on another listener', { ports: { install: 18005 } }, /ports: 18005 is used by api and install/],
  ['an unknown prop', { replicas: 2 }, /replicas: unknown prop \(expected one of namespace, images, edgeUrl, /],
  ['an unknown field of a prop', { controller: { replica: 2 } }, /controller\.replica: unknown field \(expected one of replicas, /],
])('refuses %s, naming it', (_what, change, message) => {
  const err = refusal(change);
  expect(err).toBeInstanceOf(KubegateHubPropsError);
  expect(err.code).toBe('ERR_KUBEGATE_HUB_PROPS');
  expect(err.message).toMatch(message);
});

test('a PostgreSQL URL is never repeated in an error', () => {
  expect(refusal({ store: { postgresUrl: 'postgresql:// secret-password' } }).message).not.toContain('secret-password');
});

test('every problem is named at once', () => {
  const err = refusal({ edgeUrl: 'ftp://x', serviceType: 'ClusterIP', ports: { edge: 80 } });
  expect(err.problems).toEqual([expect.stringMatching(/^edgeUrl: /), expect.stringMatching(/^serviceType: /), expect.stringMatching(/^ports\.edge: /)]);
  const later = refusal({ controller: { replicas: 2 }, ports: { api: 18000 }, serviceType: 'NodePort' });
  expect(later.problems).toHaveLength(3);
});

test('missing required props are named', () => {
  expect(() => synth({} as KubegateHubProps)).toThrow(/images: is required; edgeUrl: is required/);
});
