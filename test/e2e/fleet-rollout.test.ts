/**
 * A fleet rolled out with `pulumi up`, as a platform team would: the real Pulumi CLI (the
 * toolchain's, offline, a file:// backend) runs the project's program (Pulumi.yaml, stacks/)
 * from the shell. The hub goes into a real cluster on the host, behind one public address; each
 * member cluster, its control plane and its real node, sits in a firewalled site of its own
 * that may only dial the hub's agent and tunnel ports (the operator reaches its API through a
 * management relay, as a platform team reaches its own clusters). From empty state one `up`
 * installs the hub, joins two members and applies the policy directory; a user's kubeconfig
 * from the hub reaches both through the edge. A third cluster added to the config touches only
 * its own resources; a changed policy file shows in `preview`, and on `up` closes the open
 * watch of the user it affects while another carries on; a removed cluster leaves nothing of
 * kubegate's behind and is deregistered; `destroy` leaves nothing labelled by kubegate in any
 * cluster. Bad configurations fail `preview` by name and change nothing. Figures go to
 * .cache/fleet-rollout.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, type BuiltImage } from '../../dev/images/build-images';
import { RealNode } from '../../dev/real-node/real-node';
import { FirewalledSite } from '../../dev/netns/firewalled-site';
import { cleanupStaleSites } from '../../dev/netns/stale-site-cleanup';
import { kubeconfigThroughAccess, startSiteManagementAccess, type SiteManagementAccess } from '../../dev/netns/site-management-access';
import { installClusterDns } from '../../dev/cluster-dns/cluster-dns';
import { loadToolchain } from '../../dev/toolchain/tools';
import { preparePulumiHome } from '../../dev/pulumi/pulumi-environment';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { defaultPolicyText } from '../../control-plane/server/default-policies';
import { runCommand, type CommandResult } from '../support/run-command';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';
import { startPublicAddress, type PublicAddress } from './support/public-address';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';

jest.setTimeout(1_800_000);

const tools = loadToolchain();
const root = projectRoot();
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');
const HUB_NS = 'kubegate-system';
const NODE_PORTS = { https: 31443, tunnel: 31444, agent: 31445, api: 31446 };
const STACK = `e2e-${process.pid}`;
/** The stack's configuration file, where Pulumi.yaml's stackConfigDir says (ignored by git). */
const CONFIG_FILE = path.join(root, 'stacks', `Pulumi.${STACK}.yaml`);

interface Member {
  readonly name: string;
  readonly site: FirewalledSite;
  cluster?: LocalCluster;
  node?: RealNode;
  relay?: SiteManagementAccess;
  kubeconfigFile?: string;
}

let dir: string;
let registry: LocalRegistry;
let images: readonly BuiltImage[];
let hub: LocalCluster;
let hubNode: RealNode;
let hubPublic: PublicAddress;
/** The hub's store, on the host: two controllers share it, as a rolling upgrade needs. */
let postgres: PostgresServer;
let storeUrl: string;
let pulumiEnv: Record<string, string>;
let adminKubeconfig: string;
let apiUrl: string;
let policyDir: string;
const members: Member[] = [];
const streams: Streaming[] = [];
const figures: Record<string, unknown> = {};

const imageOf = (name: string) => images.find((i) => i.name === name)!.reference;

/** The real CLI from the shell, in the project, for this test's stack. */
async function pulumi(args: readonly string[], timeoutMs = 900_000): Promise<CommandResult> {
  return runCommand(tools.pulumi, [...args, '--cwd', root, '--stack', STACK, '--non-interactive'], {
    env: { ...process.env, ...pulumiEnv, PULUMI_CONFIG_PASSPHRASE: 'fleet e2e passphrase' },
    timeoutMs,
  });
}

async function pulumiOk(args: readonly string[]): Promise<string> {
  const r = await pulumi(args);
  if (r.code !== 0) throw new Error(`pulumi ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const kubegate = async (args: readonly string[]): Promise<string> => {
  const r = await runCommand(process.execPath, [cli, ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubegate ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const api = (args: readonly string[]) => kubegate([...args, '--server', apiUrl, '--kubeconfig', adminKubeconfig]);
const kubectlVia = (kubeconfig: string, args: readonly string[]): Promise<CommandResult> => runCommand(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });
const kubectlIn = async (cluster: LocalCluster, args: readonly string[]): Promise<string> => {
  const r = await cluster.kubectl(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};

/** The stack configuration for these members (and a policy directory), written where Pulumi reads it. */
function writeConfig(memberNames: readonly string[], extra: Record<string, unknown> = {}): void {
  const config = {
    'kubegate:images': { controller: imageOf('controller'), envoy: imageOf('envoy'), agent: imageOf('agent') },
    'kubegate:hub': {
      kubeconfigPath: hub.adminKubeconfigPath,
      apiUrl,
      agentEndpoint: `${hubPublic.address}:${NODE_PORTS.agent}`,
      props: {
        edgeUrl: `https://${hubPublic.address}:${NODE_PORTS.https}`,
        serviceType: 'NodePort',
        nodePorts: NODE_PORTS,
        apiServerNames: [hubPublic.address],
        controller: { replicas: 2 },
        store: { postgresUrl: storeUrl },
      },
    },
    'kubegate:clusters': memberNames.map((name) => {
      const m = members.find((x) => x.name === name)!;
      return { name, labels: { env: 'fleet', site: name }, kubeconfigPath: m.kubeconfigFile, allowedClusterRoles: ['cluster-admin', 'view'] };
    }),
    'kubegate:policies': { directory: policyDir },
    ...extra,
  };
  const existing = fs.existsSync(CONFIG_FILE) ? (fs.readFileSync(CONFIG_FILE, 'utf8').match(/^encryptionsalt: .*$/m)?.[0] ?? '') : '';
  fs.writeFileSync(CONFIG_FILE, `${existing ? `${existing}\n` : ''}${stringify({ config })}`);
}

/** Objects labelled as kubegate's in a cluster (the construct's label and the agent's own). */
async function kubegateObjects(cluster: LocalCluster): Promise<string[]> {
  const kinds = 'namespaces,deployments,services,configmaps,secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,networkpolicies,persistentvolumeclaims';
  const found: string[] = [];
  for (const selector of ['app.kubernetes.io/part-of=kubegate', 'app.kubernetes.io/managed-by=kubegate']) {
    const out = await kubectlIn(cluster, ['get', kinds, '-A', '-l', selector, '-o', 'name']);
    found.push(...out.split('\n').filter(Boolean));
  }
  return found;
}

/** A member cluster in a site of its own: its control plane and real node there, its API reached from the host through a relay. */
async function startMember(name: string): Promise<Member> {
  // The site may dial only the hub's agent and tunnel ports, at the hub's public address.
  const allow = [NODE_PORTS.agent, NODE_PORTS.tunnel].map((port) => ({ ...(members.length > 0 ? { host: members[0]!.site.hostAddress } : {}), port }));
  const site = await new FirewalledSite({ name: `fleet-${name}`, allowOutboundTo: allow }).create();
  const m: Member = { name, site };
  members.push(m);
  m.cluster = await startLocalCluster({ name, stateDir: path.join(dir, name), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0, placement: site.placement });
  m.node = await RealNode.join(m.cluster, { name: `${name}-node`, stateDir: path.join(dir, `${name}-node`), registry: registry.address, toolchain: tools, logger: silentLogger, site });
  const apiserver = new URL(m.cluster.apiserverUrl);
  m.relay = await startSiteManagementAccess({ site, target: { host: apiserver.hostname, port: Number(apiserver.port) } });
  m.kubeconfigFile = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(m.kubeconfigFile, kubeconfigThroughAccess(m.cluster, m.relay), { mode: 0o600 });
  return m;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-fleet-e2e-'));
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 300_000 });
  expect(built.stdout + built.stderr).toBe('');
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  images = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: root, node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger });
  await cleanupStaleSites();
  hub = await startLocalCluster({ name: 'hub', stateDir: path.join(dir, 'hub'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 });
  hubNode = await RealNode.join(hub, { name: 'hub-node', stateDir: path.join(dir, 'hub-node'), registry: registry.address, toolchain: tools, logger: silentLogger });
  await installClusterDns(hub, { crane: tools.crane, coredns: tools.coredns, registry: registry.address, workDir: path.join(dir, 'dns') });
  postgres = await startPostgresServer({ alsoListenOn: { address: hubNode.hostAddress, clients: '10.215.0.0/16' } });
  storeUrl = `postgres://postgres@${hubNode.hostAddress}:${postgres.port}/${new URL(await postgres.createDatabase()).pathname.slice(1)}`;
  // The first member's site's host end is the hub's public address: every site may dial it.
  await startMember('east');
  hubPublic = await startPublicAddress({ address: members[0]!.site.hostAddress, ports: Object.values(NODE_PORTS), target: hubNode.address });
  apiUrl = `https://${hubPublic.address}:${NODE_PORTS.api}`;
  await startMember('west');
  pulumiEnv = preparePulumiHome({ toolchain: tools, home: path.join(dir, 'pulumi-home'), stateDir: path.join(dir, 'pulumi-state') });
  policyDir = path.join(dir, 'policies');
  fs.mkdirSync(policyDir);
  fs.writeFileSync(path.join(policyDir, 'admins.yaml'), defaultPolicyText());
  fs.writeFileSync(path.join(policyDir, 'team.yaml'), teamPolicy(['team', 'other-team']));
  await pulumiOk(['stack', 'init']);
});

/** What the teams may do in every fleet cluster. */
function teamPolicy(groups: readonly string[]): string {
  return stringify({
    apiVersion: 'kubegate.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'teams' },
    spec: { subjects: { groups } , clusters: { selector: { matchLabels: { env: 'fleet' } } }, clusterRoles: [{ name: 'view' }], rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create'], namespaces: ['default'] }] },
  });
}

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  for (const m of members) {
    await m.relay?.stop().catch(() => undefined);
    await m.node?.stop().catch(() => undefined);
    await m.cluster?.stop().catch(() => undefined);
    await m.site.destroy().catch(() => undefined);
  }
  await hubPublic?.stop();
  await hubNode?.stop().catch(() => undefined);
  await hub?.stop();
  await registry?.stop();
  await postgres?.stop();
  fs.rmSync(CONFIG_FILE, { force: true });
  fs.mkdirSync(path.join(root, '.cache'), { recursive: true });
  fs.writeFileSync(path.join(root, '.cache', 'fleet-rollout.json'), JSON.stringify(figures, null, 2));
  // eslint-disable-next-line no-console
  console.log(`fleet-rollout figures: ${JSON.stringify(figures)}`);
  if (dir && !process.env.KEEP_FLEET_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true });
});

const ended = (s: Streaming) => s.child.exitCode !== null || s.child.signalCode !== null;

/** The resources a stack holds, by URN (none for an empty stack). */
async function stackResources(): Promise<string[]> {
  const exported = JSON.parse(await pulumiOk(['stack', 'export'])) as { deployment?: { resources?: { urn: string }[] } };
  return (exported.deployment?.resources ?? []).map((r) => r.urn);
}

/** `pulumi preview` of a bad configuration: it fails, naming the problem, without a stack trace. */
async function previewFails(): Promise<string> {
  const r = await pulumi(['preview']);
  expect(r.code).not.toBe(0);
  const output = r.stdout + r.stderr;
  expect(output).not.toMatch(/^\s+at .*\.ts:\d+/m);
  return output;
}

test('bad configurations fail pulumi preview, each named, and change nothing', async () => {
  const east = members[0]!;
  writeConfig(['east'], { 'kubegate:clusters': [{ name: 'east', allowedClusterRoles: [] }] });
  expect(await previewFails()).toContain("kubegate:clusters[0]: has no kubeconfig");

  writeConfig(['east'], { 'kubegate:clusters': [{ name: 'east', kubeconfigPath: east.kubeconfigFile, allowedClusterRoles: [] }, { name: 'east', kubeconfigPath: east.kubeconfigFile, allowedClusterRoles: [] }] });
  expect(await previewFails()).toContain('kubegate:clusters[1].name: "east" is also the name of kubegate:clusters[0]; cluster names must be unique');

  const unreachable = path.join(dir, 'unreachable.kubeconfig');
  fs.writeFileSync(unreachable, fs.readFileSync(east.kubeconfigFile!, 'utf8').split(east.relay!.url).join('https://127.0.0.1:9'));
  writeConfig(['east'], { 'kubegate:clusters': [{ name: 'east', kubeconfigPath: unreachable, allowedClusterRoles: [] }] });
  expect(await previewFails()).toMatch(/kubegate:clusters\[0\]: cluster east cannot be reached at https:\/\/127\.0\.0\.1:9: ECONNREFUSED/);

  const badPolicies = path.join(dir, 'bad-policies');
  fs.mkdirSync(badPolicies);
  fs.writeFileSync(path.join(badPolicies, 'broken.yaml'), 'apiVersion: kubegate.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: broken}\nspec:\n  subjects: {groups: [team]}\n');
  writeConfig(['east'], { 'kubegate:policies': { directory: badPolicies } });
  expect(await previewFails()).toMatch(/broken\.yaml:\d+:\d+/);

  expect(await stackResources()).toEqual([]);
});

test('pulumi up from empty installs the hub and two member clusters in their sites; a user reaches both through the edge', async () => {
  writeConfig(['east', 'west']);
  const started = Date.now();
  await pulumiOk(['up', '--yes', '--skip-preview']);
  figures.upFromEmptyTwoClustersSeconds = (Date.now() - started) / 1000;

  const b64 = await kubectlIn(hub, ['-n', HUB_NS, 'get', 'secret', ADMIN_KUBECONFIG_SECRET, '-o', `jsonpath={.data.${ADMIN_KUBECONFIG_KEY}}`]);
  adminKubeconfig = path.join(dir, 'admin.kubeconfig');
  fs.writeFileSync(adminKubeconfig, Buffer.from(b64, 'base64'), { mode: 0o600 });
  await eventually('both agents to be connected', async () => {
    const list = JSON.parse(await api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; labels: Record<string, string>; agent?: { status: string } }[] };
    const connected = list.clusters.filter((c) => c.agent?.status === 'connected').map((c) => c.name).sort();
    return connected.join(',') === 'east,west' ? list : undefined;
  }, 300_000);
  figures.upToConnectedSeconds = (Date.now() - started) / 1000;
  // The policy directory is the hub's policy set.
  expect(JSON.parse(await api(['policy', 'get', '-o', 'json'])).files.map((f: { fileName: string }) => f.fileName).sort()).toEqual(['admins.yaml', 'team.yaml']);

  await api(['user', 'create', 'alice', '--group', 'team']);
  await api(['user', 'create', 'bob', '--group', 'other-team']);
  for (const m of ['east', 'west']) {
    const kc = path.join(dir, `alice-${m}.kubeconfig`);
    await api(['kubeconfig', '--user', 'alice', '--cluster', m, '-o', kc]);
    await eventually(`alice to reach ${m} through the edge`, async () => {
      const r = await kubectlVia(kc, ['get', 'configmaps', '-n', 'default', '-o', 'name']);
      return r.code === 0 && r.stdout.includes('configmap/kube-root-ca.crt') ? true : undefined;
    }, 120_000);
  }
  figures.upToServingSeconds = (Date.now() - started) / 1000;
  // Nothing to do on a second up.
  const again = await pulumiOk(['preview', '--expect-no-changes']);
  expect(again).toMatch(/unchanged/);
});

test('a third cluster in the config: pulumi up touches only its resources, and it serves', async () => {
  await startMember('north');
  writeConfig(['east', 'west', 'north']);
  const plan = JSON.parse(await pulumiOk(['preview', '--json'])) as { steps: { op: string; urn: string }[] };
  const changing = plan.steps.filter((s) => s.op !== 'same');
  expect(changing.length).toBeGreaterThan(0);
  expect(changing.filter((s) => !s.urn.includes('north'))).toEqual([]);
  expect(changing.every((s) => s.op === 'create')).toBe(true);

  const started = Date.now();
  await pulumiOk(['up', '--yes', '--skip-preview']);
  const kc = path.join(dir, 'alice-north.kubeconfig');
  await eventually('north to be connected', async () => {
    const list = JSON.parse(await api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; agent?: { status: string } }[] };
    return list.clusters.find((c) => c.name === 'north' && c.agent?.status === 'connected');
  }, 300_000);
  await api(['kubeconfig', '--user', 'alice', '--cluster', 'north', '-o', kc]);
  await eventually('alice to reach north through the edge', async () => {
    const r = await kubectlVia(kc, ['get', 'configmaps', '-n', 'default', '-o', 'name']);
    return r.code === 0 ? true : undefined;
  }, 120_000);
  figures.addOneClusterSeconds = (Date.now() - started) / 1000;
});

test("a changed policy file shows in preview; up applies it, closing the open watch of the user it affects while another carries on", async () => {
  const east = members[0]!;
  const bobKc = path.join(dir, 'bob-east.kubeconfig');
  await api(['kubeconfig', '--user', 'bob', '--cluster', 'east', '-o', bobKc]);
  const watch = (kc: string) => streamCommand(tools.kubectl, ['--kubeconfig', kc, 'get', 'configmaps', '-n', 'default', '--watch', '-o', 'name']);
  const alice = watch(path.join(dir, 'alice-east.kubeconfig'));
  const bob = watch(bobKc);
  streams.push(alice, bob);
  await eventually('both watches to list', async () => (alice.output().includes('configmap/') && bob.output().includes('configmap/') ? true : undefined), 60_000);

  fs.writeFileSync(path.join(policyDir, 'team.yaml'), teamPolicy(['other-team']));
  const diff = await pulumiOk(['preview', '--diff']);
  expect(diff).toContain('team.yaml');
  expect(diff).toMatch(/~ .*kubegate:PolicySet/);

  await pulumiOk(['up', '--yes', '--skip-preview']);
  const upAt = Date.now();
  await eventually("alice's watch to be closed", async () => (ended(alice) ? true : undefined), 30_000);
  figures.policyChangeWatchClosedMs = Date.now() - upAt;
  await kubectlIn(east.cluster!, ['-n', 'default', 'create', 'configmap', 'after-the-change', '--from-literal=k=v']);
  await eventually("bob's watch to see what came after", async () => (bob.output().includes('configmap/after-the-change') ? true : undefined), 60_000);
  expect(ended(bob)).toBe(false);
  const refused = await kubectlVia(path.join(dir, 'alice-east.kubeconfig'), ['get', 'configmaps', '-n', 'default']);
  expect(refused.code).not.toBe(0);
});

test('a cluster removed from the config: its agent and everything kubegate made there are gone, and it is deregistered', async () => {
  const west = members[1]!;
  // Something the agent made for a user there (a ServiceAccount and its bindings), to be cleaned up too.
  expect((await kubegateObjects(west.cluster!)).some((o) => o.includes('serviceaccount/'))).toBe(true);
  writeConfig(['east', 'north']);
  const started = Date.now();
  await pulumiOk(['up', '--yes', '--skip-preview']);
  figures.removeOneClusterSeconds = (Date.now() - started) / 1000;
  expect(await kubegateObjects(west.cluster!)).toEqual([]);
  const shown = await runCommand(process.execPath, [cli, 'cluster', 'show', 'west', '--server', apiUrl, '--kubeconfig', adminKubeconfig], { timeoutMs: 60_000 });
  expect(shown.code).not.toBe(0);
  expect(shown.stderr).toMatch(/not registered/);
});

test('pulumi destroy leaves nothing labelled by kubegate in any cluster', async () => {
  const started = Date.now();
  await pulumiOk(['destroy', '--yes', '--skip-preview']);
  figures.destroySeconds = (Date.now() - started) / 1000;
  for (const cluster of [hub, ...members.map((m) => m.cluster!)]) expect(await kubegateObjects(cluster)).toEqual([]);
  expect(await stackResources()).toEqual([]);
  await pulumiOk(['stack', 'rm', '--yes']);
});
