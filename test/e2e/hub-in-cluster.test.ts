/**
 * kubegate deployed as a platform team would deploy it: the images the project builds, pushed
 * to a local registry and pulled by digest; the hub installed into a real cluster (a real
 * kubelet, containerd and kube-proxy) from `kubegate manifests hub`, two controllers on a
 * PostgreSQL on the host; a second real cluster
 * whose agent is installed from `kubegate manifests agent` and joins with a one-time token;
 * then an operator on the host creates a user through the deployed API, downloads a
 * kubeconfig from it, and runs kubectl get, watch and exec through the deployed edge into the
 * member cluster. A third real cluster, its control plane and node inside a firewalled site
 * that may only dial out to the hub's public ports, is imported with the one line
 * `kubegate cluster add` prints, run there by its admin; the same line again is refused. The
 * figures (seconds to a serving hub, to the first proxied request, from the one line to a
 * connected agent, the pods' memory and CPU at idle and under load) go to
 * .cache/hub-in-cluster.json. Last, one controller is killed under load: requests carry on,
 * refused (fail-closed) only while nothing decides, and every answered one is in the audit trail.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, writeBuildResults } from '../../dev/images/build-images';
import { RealNode } from '../../dev/real-node/real-node';
import { FirewalledSite } from '../../dev/netns/firewalled-site';
import { cleanupStaleSites } from '../../dev/netns/stale-site-cleanup';
import { installClusterDns } from '../../dev/cluster-dns/cluster-dns';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET, EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { defaultPolicyText } from '../../control-plane/server/default-policies';
import { runCommand, type CommandResult } from '../support/run-command';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';
import { podStats, type PodStats } from './support/pod-stats';
import { loadAgainstEdge, loadWithTimeline } from './support/edge-load';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { startPublicAddress, type PublicAddress } from './support/public-address';

jest.setTimeout(900_000);

const tools = loadToolchain();
const root = projectRoot();
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');
const HUB_NS = 'kubegate-system';
/** NodePorts of the hub's public Services, fixed so the URLs are known before the install. */
const NODE_PORTS = { https: 30443, tunnel: 30444, agent: 30445, api: 30446, install: 30447 };

let dir: string;
let registry: LocalRegistry;
let imagesFile: string;
let hub: LocalCluster;
let hubNode: RealNode;
let member: LocalCluster;
let memberNode: RealNode;
const CONTROLLER_PODS = ['-l', 'app.kubernetes.io/component=controller'];
/** The hub's store: PostgreSQL on the host, reached by the hub node's pods at the host's end of its link. */
let postgres: PostgresServer;
let storeDatabase: string;
/** The firewalled site of the cluster imported with one line, its cluster and its node. */
let site: FirewalledSite;
let fleet: LocalCluster;
let fleetNode: RealNode;
/** The hub's public address (a load balancer's stand-in): users, operators and member clusters reach the hub there. */
let hubPublic: PublicAddress;
const streams: Streaming[] = [];
const figures: Record<string, unknown> = {};
let adminKubeconfig: string;
let apiUrl: string;

const kubegate = async (args: readonly string[], input?: string): Promise<string> => {
  const r = await runCommand(process.execPath, [cli, ...args], { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) throw new Error(`kubegate ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const api = (args: readonly string[]) => kubegate([...args, '--server', apiUrl, '--kubeconfig', adminKubeconfig]);
const kubectlIn = async (cluster: LocalCluster, args: readonly string[], input?: string): Promise<string> => {
  const r = await cluster.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
/** kubectl as a kubegate user, through the deployed edge. */
const kubectlVia = (kubeconfig: string, args: readonly string[]): Promise<CommandResult> => runCommand(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-e2e-'));
  // The images run dist/: build it from the sources under test.
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 300_000 });
  expect(built.stdout + built.stderr).toBe('');
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  const images = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: root, node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger });
  imagesFile = path.join(dir, 'images.json');
  writeBuildResults(imagesFile, images);
  // The fleet site may dial only the hub's public ports member clusters use (install links,
  // the agent port, the edge's tunnel port), at the hub's public address on the site's host end.
  await cleanupStaleSites();
  site = await new FirewalledSite({ name: 'fleet', allowOutboundTo: (['install', 'agent', 'tunnel'] as const).map((p) => ({ port: NODE_PORTS[p] })) }).create();
  [hub, member] = await Promise.all([
    startLocalCluster({ name: 'hub', stateDir: path.join(dir, 'hub'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 }),
    startLocalCluster({ name: 'member', stateDir: path.join(dir, 'member'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 }),
  ]);
  hubNode = await RealNode.join(hub, { name: 'hub-node', stateDir: path.join(dir, 'hub-node'), registry: registry.address, toolchain: tools, logger: silentLogger });
  memberNode = await RealNode.join(member, { name: 'member-node', stateDir: path.join(dir, 'member-node'), registry: registry.address, toolchain: tools, logger: silentLogger });
  hubPublic = await startPublicAddress({ address: site.hostAddress, ports: Object.values(NODE_PORTS), target: hubNode.address });
  postgres = await startPostgresServer({ alsoListenOn: { address: hubNode.hostAddress, clients: '10.215.0.0/16' } });
  storeDatabase = new URL(await postgres.createDatabase()).pathname.slice(1);
  // Cluster DNS, as every conformant cluster has: the edge finds the controller by its Service's name.
  const dns = { crane: tools.crane, coredns: tools.coredns, registry: registry.address, workDir: path.join(dir, 'dns') };
  await Promise.all([installClusterDns(hub, dns), installClusterDns(member, dns)]);
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  // The hub's and the agents' logs, for whoever reads a failure.
  const logDir = path.join(root, '.cache', 'hub-in-cluster-logs');
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  for (const [name, cluster] of [['hub', hub], ['member', member], ['fleet', fleet]] as const) {
    if (!cluster) continue;
    const pods = await cluster.kubectl(['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']).catch(() => undefined);
    for (const pod of (pods?.stdout ?? '').split('\n').filter((p) => p.startsWith('kubegate-system/'))) {
      const [ns, podName] = pod.split('/') as [string, string];
      const logs = await cluster.kubectl(['-n', ns, 'logs', podName, '--all-containers', '--prefix']).catch(() => undefined);
      fs.writeFileSync(path.join(logDir, `${name}-${podName}.log`), (logs?.stdout ?? '') + (logs?.stderr ?? ''));
      if (podName.startsWith('kubegate-controller-') || podName.startsWith('kubegate-edge-')) {
        const events = await cluster.kubectl(['-n', ns, 'get', 'events', '--field-selector', `involvedObject.name=${podName}`, '-o', 'custom-columns=TIME:.lastTimestamp,COUNT:.count,REASON:.reason,MESSAGE:.message']).catch(() => undefined);
        fs.writeFileSync(path.join(logDir, `${name}-${podName}.events`), (events?.stdout ?? '') + (events?.stderr ?? ''));
      }
      if (podName.startsWith('kubegate-controller-')) {
        const metrics = await cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${ns}/pods/${podName}:18002/proxy/metrics`]).catch(() => undefined);
        fs.writeFileSync(path.join(logDir, `${name}-${podName}.metrics`), (metrics?.stdout ?? '') + (metrics?.stderr ?? ''));
      }
    }
  }
  await fleetNode?.stop().catch(() => undefined);
  await fleet?.stop();
  await site?.destroy();
  await hubPublic?.stop();
  await memberNode?.stop().catch(() => undefined);
  await hubNode?.stop().catch(() => undefined);
  await member?.stop();
  await hub?.stop();
  await registry?.stop();
  await postgres?.stop();
  fs.mkdirSync(path.join(root, '.cache'), { recursive: true });
  fs.writeFileSync(path.join(root, '.cache', 'hub-in-cluster.json'), JSON.stringify(figures, null, 2));
  // eslint-disable-next-line no-console
  console.log(`hub-in-cluster figures: ${JSON.stringify(figures)}`);
  if (dir && !process.env.KEEP_HUB_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true });
});

test('the hub installs into a real cluster from kubegate manifests hub, two controllers on PostgreSQL, and serves its API and edge from the host', async () => {
  const edgeUrl = `https://${hubPublic.address}:${NODE_PORTS.https}`;
  const yaml = await kubegate([
    'manifests', 'hub', '--images', imagesFile,
    '--set', `edgeUrl=${edgeUrl}`,
    '--set', 'serviceType=NodePort',
    ...Object.entries(NODE_PORTS).flatMap(([k, v]) => ['--set', `nodePorts.${k}=${v}`]),
    '--set', `store.postgresUrl=postgres://postgres@${hubNode.hostAddress}:${postgres.port}/${storeDatabase}`,
    '--set', 'controller.replicas=2',
    '--set', `apiServerNames={${hubPublic.address}}`,
    // One-command imports: links at the install nodePort, agents sent to the agent nodePort.
    '--set', `agentInstall.hubAgentEndpoint=${hubPublic.address}:${NODE_PORTS.agent}`,
    '--set', `agentInstall.publicUrl=https://${hubPublic.address}:${NODE_PORTS.install}`,
    '--set', 'agentInstall.allowedClusterRoles={cluster-admin,view}',
  ]);
  const started = Date.now();
  await kubectlIn(hub, ['apply', '-f', '-'], yaml);
  await kubectlIn(hub, ['-n', HUB_NS, 'wait', '--for=condition=Available', 'deployment/kubegate-controller', '--timeout=300s']);
  await kubectlIn(hub, ['-n', HUB_NS, 'rollout', 'status', 'statefulset/kubegate-edge', '--timeout=300s']);
  figures.hubAvailableSeconds = (Date.now() - started) / 1000;

  // The operator's first credential, from the Secret the controller created on first start.
  const b64 = await eventually('the admin kubeconfig Secret', async () => {
    const r = await hub.kubectl(['-n', HUB_NS, 'get', 'secret', ADMIN_KUBECONFIG_SECRET, '-o', `jsonpath={.data.${ADMIN_KUBECONFIG_KEY}}`]);
    return r.code === 0 && r.stdout ? r.stdout : undefined;
  }, 120_000);
  adminKubeconfig = path.join(dir, 'admin.kubeconfig');
  fs.writeFileSync(adminKubeconfig, Buffer.from(b64, 'base64'), { mode: 0o600 });
  expect(fs.readFileSync(adminKubeconfig, 'utf8')).toContain(`server: ${edgeUrl}`);

  // The admin API through the controller's public Service: its certificate names the address.
  apiUrl = `https://${hubPublic.address}:${NODE_PORTS.api}`;
  const who = await eventually('the deployed API to answer', async () => {
    const r = await runCommand(process.execPath, [cli, 'whoami', '--server', apiUrl, '--kubeconfig', adminKubeconfig], { timeoutMs: 30_000 });
    return r.code === 0 ? r.stdout : undefined;
  }, 120_000);
  expect(who).toContain('admin');
  figures.hubServingSeconds = (Date.now() - started) / 1000;

  // Nothing secret was in the manifests: the CAs exist only as the Secret the controller made.
  expect(yaml).not.toMatch(/PRIVATE KEY/);
  const pki = JSON.parse(await kubectlIn(hub, ['-n', HUB_NS, 'get', 'secret', 'kubegate-pki', '-o', 'json'])) as { data: Record<string, string> };
  expect(Object.keys(pki.data)).toEqual(expect.arrayContaining(['user-ca.key', 'internal-ca.key']));
});

test('a member cluster joins with KubegateAgent and its token; kubectl get, watch and exec reach it through the deployed edge', async () => {
  const caB64 = await kubectlIn(hub, ['-n', HUB_NS, 'get', 'secret', EDGE_XDS_CLIENT_SECRET, '-o', `jsonpath={.data.${EDGE_XDS_CLIENT_KEYS.ca.replace('.', '\\.')}}`]);
  const hubCa = path.join(dir, 'hub-internal-ca.crt');
  fs.writeFileSync(hubCa, Buffer.from(caB64, 'base64'));
  const token = JSON.parse(await api(['cluster', 'join-token', 'member', '-o', 'json'])) as { token: string };
  const agentYaml = await kubegate([
    'manifests', 'agent', '--images', imagesFile,
    '--set', 'cluster=member',
    '--set', 'labels.env=test',
    '--set', `hubAgentEndpoint=${hubPublic.address}:${NODE_PORTS.agent}`,
    '--set-file', `hubCaPem=${hubCa}`,
    '--set', 'allowedClusterRoles={cluster-admin,view}',
    '--set', `joinToken=${token.token}`,
  ]);
  const started = Date.now();
  await kubectlIn(member, ['apply', '-f', '-'], agentYaml);
  await kubectlIn(member, ['-n', 'kubegate-system', 'wait', '--for=condition=Available', 'deployment', '--all', '--timeout=300s']);
  await eventually('the member cluster to be connected', async () => {
    const list = JSON.parse(await api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; agent?: { status: string } }[] };
    return list.clusters.find((c) => c.name === 'member' && c.agent?.status === 'connected');
  }, 180_000);

  // An operator on the host: a user, a policy, a kubeconfig downloaded from the deployed hub.
  await api(['user', 'create', 'alice', '--group', 'team']);
  // A policy set is applied whole: the administrators' policy stays beside the team's.
  const policyDir = path.join(dir, 'policies');
  fs.mkdirSync(policyDir);
  fs.writeFileSync(path.join(policyDir, 'admins.yaml'), defaultPolicyText());
  fs.writeFileSync(
    path.join(policyDir, 'team.yaml'),
    stringify({
      apiVersion: 'kubegate.dev/v1alpha1',
      kind: 'AccessPolicy',
      metadata: { name: 'team' },
      spec: { subjects: { groups: ['team'] }, clusters: { names: ['member', 'fleet'] }, rules: [{ apiGroups: ['', 'apps'], resources: ['pods', 'pods/exec', 'configmaps', 'deployments'], verbs: ['get', 'list', 'watch', 'create'], namespaces: ['kubegate-system'] }], clusterRoles: [{ name: 'cluster-admin', namespaces: ['kubegate-system'] }] },
    }),
  );
  await api(['policy', 'apply', policyDir]);
  const aliceKubeconfig = path.join(dir, 'alice.kubeconfig');
  await api(['kubeconfig', '--user', 'alice', '--cluster', 'member', '-o', aliceKubeconfig]);

  const pods = await eventually('alice to list pods through the edge', async () => {
    const r = await kubectlVia(aliceKubeconfig, ['get', 'pods', '-n', 'kubegate-system', '-o', 'name']);
    return r.code === 0 && r.stdout.includes('pod/') ? r.stdout : undefined;
  }, 120_000);
  figures.joinToFirstRequestSeconds = (Date.now() - started) / 1000;
  const agentPod = pods.trim().split('\n')[0]!.replace('pod/', '');

  // watch: a ConfigMap created in the member cluster shows up on alice's open watch.
  const watch = streamCommand(tools.kubectl, ['--kubeconfig', aliceKubeconfig, 'get', 'configmaps', '-n', 'kubegate-system', '--watch', '-o', 'name']);
  streams.push(watch);
  await eventually('the watch to list what exists', async () => (watch.output().includes('configmap/') ? true : undefined), 60_000);
  await kubectlIn(member, ['-n', 'kubegate-system', 'create', 'configmap', 'seen-through-the-edge', '--from-literal=k=v']);
  await eventually('the new ConfigMap on the watch', async () => (watch.output().includes('configmap/seen-through-the-edge') ? true : undefined), 60_000);

  // exec into the agent's pod (no shell in the image: its Node.js).
  const exec = await kubectlVia(aliceKubeconfig, ['exec', '-n', 'kubegate-system', agentPod, '-c', 'agent', '--', '/usr/local/bin/node', '-e', 'process.stdout.write("exec through kubegate")']);
  expect(exec.stderr).toBe('');
  expect(exec.stdout).toBe('exec through kubegate');

  // Outside the policy: refused at the edge, with kubectl's usual Forbidden.
  const refused = await kubectlVia(aliceKubeconfig, ['get', 'secrets', '-n', 'default']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/forbidden/i);

  // Every one of those requests is in the deployed hub's audit trail.
  const audit = await api(['audit', '--user', 'alice', '-o', 'json']);
  expect(audit).toContain('pods/exec');
});

test("the pods' memory and CPU at idle and under load through the edge", async () => {
  const all = async () => ({ ...(await podStats(hub, 'hub-node', HUB_NS)), ...(await podStats(member, 'member-node', 'kubegate-system')) });
  // The kubelet reports a pod once its housekeeping has measured it (about every 10 s).
  const idle: Record<string, PodStats> = await eventually('the kubelets to have measured every pod', async () => {
    const stats = await all();
    return Object.keys(stats).length === 4 && Object.values(stats).every((p) => p.memoryBytes > 0) ? stats : undefined;
  }, 60_000);
  const aliceKubeconfig = path.join(dir, 'alice.kubeconfig');
  const load = await loadAgainstEdge({ kubeconfig: aliceKubeconfig, path: '/api/v1/namespaces/kubegate-system/configmaps', concurrency: 8, durationMs: 40_000, during: all });
  figures.pods = { idle, underLoad: load.sampled, load: { requests: load.requests, failures: load.failures, failuresBy: load.failuresBy, requestsPerSecond: load.requests / 40 } };
  figures.edgeAnswers = await edgeAnswersByFlags();
  figures.edgeStats = await edgeStats();
  expect(load.failures).toBe(0);
  expect(load.requests).toBeGreaterThan(50);
  for (const name of Object.keys(idle)) expect(idle[name]!.memoryBytes).toBeGreaterThan(0);
});

test('two controllers on PostgreSQL: one is killed under load; requests carry on, refused only while nothing decides, and every answered one is in the audit trail', async () => {
  const aliceKubeconfig = path.join(dir, 'alice.kubeconfig');
  const names = (await kubectlIn(hub, ['-n', HUB_NS, 'get', 'pods', ...CONTROLLER_PODS, '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(/\s+/);
  expect(names).toHaveLength(2);
  const uid = (await kubectlIn(hub, ['-n', HUB_NS, 'get', 'pod', names[0]!, '-o', 'jsonpath={.metadata.uid}'])).trim();
  const KILL_AT_MS = 10_000;
  const DURATION_MS = 45_000;
  let killed: number[] = [];
  const answers = await loadWithTimeline({
    kubeconfig: aliceKubeconfig,
    path: '/api/v1/namespaces/kubegate-system/configmaps',
    concurrency: 8,
    durationMs: DURATION_MS,
    atMs: KILL_AT_MS,
    // A crash, not a shutdown: SIGKILL to the controller's process, found by its pod's cgroup.
    action: async () => {
      killed = processesOfPod(uid);
      for (const pid of killed) process.kill(pid, 'SIGKILL');
    },
  });
  expect(killed.length).toBeGreaterThan(0);
  const ok = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status !== 200);
  const statuses: Record<string, number> = {};
  for (const a of refused) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
  figures.controllerKilled = {
    requests: answers.length,
    answered200: ok.length,
    refused: refused.length,
    refusedByStatus: statuses,
    refusedFromMs: refused.length ? Math.min(...refused.map((a) => a.sentAtMs)) - KILL_AT_MS : null,
    refusedUntilMs: refused.length ? Math.max(...refused.map((a) => a.sentAtMs)) - KILL_AT_MS : null,
  };
  // Fail-closed: a request nothing could decide is refused (503 from the edge), never let through.
  expect(refused.every((a) => a.status === 503)).toBe(true);
  // Refusals only around the kill (a request sent just before it may still be waiting on it).
  expect(refused.every((a) => a.sentAtMs >= KILL_AT_MS - 2_000)).toBe(true);
  // Requests carry on: answered after the kill, and every one in the last 10 s.
  expect(ok.filter((a) => a.sentAtMs > KILL_AT_MS).length).toBeGreaterThan(50);
  const tail = answers.filter((a) => a.sentAtMs > DURATION_MS - 10_000);
  expect(tail.length).toBeGreaterThan(10);
  expect(tail.filter((a) => a.status !== 200)).toEqual([]);

  // Every answered request's decision is in the audit trail, and its completion once the edge has sent it.
  const ids = [...new Set(ok.map((a) => a.requestId))];
  expect(ids.length).toBe(ok.length);
  const count = async (stage: string) =>
    Number((await postgres.query<{ n: string }>('SELECT count(DISTINCT request_id) AS n FROM audit_events WHERE stage = $1 AND request_id = ANY($2)', [stage, ids], storeDatabase))[0]!.n);
  expect(await count('decision')).toBe(ids.length);
  await eventually('every answered request to have its completion record', async () => ((await count('completion')) === ids.length ? true : undefined), 120_000);
  figures.edgeAnswersAfterKill = await edgeAnswersByFlags();
  // The hash chain two writers extended is whole.
  expect(await api(['audit', 'verify'])).toMatch(/^audit chain intact: records 1 to \d+ verified/);

  // The Deployment is whole again: the killed container restarted.
  await kubectlIn(hub, ['-n', HUB_NS, 'wait', '--for=condition=Available', 'deployment/kubegate-controller', '--timeout=120s']);
});

test('a cluster behind a firewall is imported with the one line cluster add prints, run by its admin inside the site; the line works once', async () => {
  // Started last, so the load figures above are not shared with a third cluster.
  fleet = await startLocalCluster({ name: 'fleet', stateDir: path.join(dir, 'fleet'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0, placement: site.placement });
  fleetNode = await RealNode.join(fleet, { name: 'fleet-node', stateDir: path.join(dir, 'fleet-node'), registry: registry.address, toolchain: tools, logger: silentLogger, site });
  const added = await api(['cluster', 'add', 'fleet', '--label', 'env=fleet']);
  const line = added.split('\n')[0]!;
  const url = /kubectl apply -f '([^']+)'$/.exec(line)?.[1];
  expect(url).toMatch(new RegExp(`^https://${hubPublic.address.replace(/\./g, '\\.')}:${NODE_PORTS.install}/install/[0-9a-f]{12}\\.[A-Za-z0-9_-]{43}$`));
  // The cluster's admin, inside the site, with the site's kubectl and their own kubeconfig.
  const asAdmin = () =>
    site.exec('bash', ['-c', line], { env: { ...process.env, KUBECONFIG: fleet.adminKubeconfigPath, PATH: `${path.dirname(tools.kubectl)}:${process.env.PATH ?? ''}` }, timeoutMs: 120_000 });
  const started = Date.now();
  const applied = await asAdmin();
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/deployment\.apps\/kubegate-agent created/);
  await eventually('the imported cluster to be connected', async () => {
    const list = JSON.parse(await api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; labels: object; agent?: { status: string } }[] };
    return list.clusters.find((c) => c.name === 'fleet' && c.agent?.status === 'connected');
  }, 240_000);
  figures.importToConnectedSeconds = (Date.now() - started) / 1000;

  // Through the edge and the site's outbound tunnel, alice reaches the cluster nobody can dial.
  const aliceFleet = path.join(dir, 'alice-fleet.kubeconfig');
  await api(['kubeconfig', '--user', 'alice', '--cluster', 'fleet', '-o', aliceFleet]);
  const pods = await eventually('alice to list the imported cluster\'s pods through the edge', async () => {
    const r = await kubectlVia(aliceFleet, ['get', 'pods', '-n', 'kubegate-system', '-o', 'name']);
    return r.code === 0 && r.stdout.includes('pod/kubegate-agent') ? r.stdout : undefined;
  }, 120_000);
  expect(pods).toMatch(/pod\/kubegate-agent-/);
  figures.importToFirstRequestSeconds = (Date.now() - started) / 1000;

  // The link was spent: the same line again is refused and changes nothing.
  const again = await asAdmin();
  expect(again.code).not.toBe(0);
  expect(again.stderr).toMatch(/410 Gone/);
});

/** The edge Envoy's counters about its checks and the controller replicas (its admin port, through a port-forward). */
async function edgeStats(): Promise<Record<string, number>> {
  const pod = (await kubectlIn(hub, ['-n', HUB_NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=edge', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const forward = streamCommand(tools.kubectl, ['--kubeconfig', hub.adminKubeconfigPath, '-n', HUB_NS, 'port-forward', `pod/${pod}`, ':9901']);
  try {
    const port = await eventually('the port-forward', async () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(forward.output())?.[1], 30_000);
    const text = await (await fetch(`http://127.0.0.1:${port}/stats?filter=ext_authz|kubegate-authz|kubegate-control-plane|tunnel`)).text();
    return Object.fromEntries(text.split('\n').map((l) => l.split(': ')).filter(([k, v]) => k && v && Number(v) > 0).map(([k, v]) => [k!, Number(v)]));
  } finally {
    await forward.stop();
  }
}

/** What the edge's access log says it answered alice, by status and Envoy response flags. */
async function edgeAnswersByFlags(): Promise<Record<string, number>> {
  const rows = await postgres.query<{ status: number | null; flags: string | null; n: string }>(
    "SELECT status, response_flags_json AS flags, count(*) AS n FROM audit_events WHERE stage = 'completion' AND user_name = 'alice' GROUP BY 1, 2",
    [],
    storeDatabase,
  );
  return Object.fromEntries(rows.map((r) => [`${r.status ?? '-'} ${r.flags ?? ''}`, Number(r.n)]));
}

/** The host pids of a pod's processes (its containers' cgroups name its uid), the pause process left out. */
function processesOfPod(uid: string): number[] {
  const marks = [uid, uid.replace(/-/g, '_')];
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cgroup = fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      if (!marks.some((m) => cgroup.includes(m))) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('node')) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
