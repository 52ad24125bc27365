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
 * .cache/fleet-rollout.json. The fleet itself (clusters, sites, registry, store, Pulumi home,
 * the stack and its configuration file) is the fleet lab, dev/fleet/, which
 * bench/fleet-rollout.ts times the same rollouts on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FLEET_EDGE_REPLICAS, FleetLab } from '../../dev/fleet/fleet-lab';
import { projectRoot } from '../../control-plane/proto/project-root';
import { runCommand } from '../support/run-command';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';
import { StepLoad } from '../../bench/fleet-load';

jest.setTimeout(1_800_000);

const root = projectRoot();

/** The fleet: hub, members in their sites, registry, store, Pulumi home and this test's stack (dev/fleet/). */
let lab: FleetLab;
const streams: Streaming[] = [];
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  // The images run dist/: build it from the sources under test.
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 300_000 });
  expect(built.stdout + built.stderr).toBe('');
  // The teams may also create in `default` (at the edge and in the members' RBAC): the upgrade's load creates there.
  lab = await FleetLab.start({ name: 'rollout', members: ['east', 'west'], teamGroups: ['team', 'other-team'], teamPolicy: { writeInDefault: true }, keepDir: Boolean(process.env.KEEP_FLEET_E2E_DIR) });
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  await lab?.stop();
  fs.mkdirSync(path.join(root, '.cache'), { recursive: true });
  fs.writeFileSync(path.join(root, '.cache', 'fleet-rollout.json'), JSON.stringify(figures, null, 2));
  // eslint-disable-next-line no-console
  console.log(`fleet-rollout figures: ${JSON.stringify(figures)}`);
});

const ended = (s: Streaming) => s.child.exitCode !== null || s.child.signalCode !== null;

/** `pulumi preview` of a bad configuration: it fails, naming the problem, without a stack trace. */
async function previewFails(): Promise<string> {
  const r = await lab.pulumi(['preview']);
  expect(r.code).not.toBe(0);
  const output = r.stdout + r.stderr;
  expect(output).not.toMatch(/^\s+at .*\.ts:\d+/m);
  return output;
}

test('bad configurations fail pulumi preview, each named, and change nothing', async () => {
  const east = lab.members[0]!;
  lab.writeConfig(['east'], { 'kubegate:clusters': [{ name: 'east', allowedClusterRoles: [] }] });
  expect(await previewFails()).toContain("kubegate:clusters[0]: has no kubeconfig");

  lab.writeConfig(['east'], { 'kubegate:clusters': [{ name: 'east', kubeconfigPath: east.kubeconfigFile, allowedClusterRoles: [] }, { name: 'east', kubeconfigPath: east.kubeconfigFile, allowedClusterRoles: [] }] });
  expect(await previewFails()).toContain('kubegate:clusters[1].name: "east" is also the name of kubegate:clusters[0]; cluster names must be unique');

  const unreachable = path.join(lab.dir, 'unreachable.kubeconfig');
  fs.writeFileSync(unreachable, fs.readFileSync(east.kubeconfigFile!, 'utf8').split(east.relay!.url).join('https://127.0.0.1:9'));
  lab.writeConfig(['east'], { 'kubegate:clusters': [{ name: 'east', kubeconfigPath: unreachable, allowedClusterRoles: [] }] });
  expect(await previewFails()).toMatch(/kubegate:clusters\[0\]: cluster east cannot be reached at https:\/\/127\.0\.0\.1:9: ECONNREFUSED/);

  const badPolicies = path.join(lab.dir, 'bad-policies');
  fs.mkdirSync(badPolicies);
  fs.writeFileSync(path.join(badPolicies, 'broken.yaml'), 'apiVersion: kubegate.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: broken}\nspec:\n  subjects: {groups: [team]}\n');
  lab.writeConfig(['east'], { 'kubegate:policies': { directory: badPolicies } });
  expect(await previewFails()).toMatch(/broken\.yaml:\d+:\d+/);

  expect(await lab.stackResources()).toEqual([]);
});

test('pulumi up from empty installs the hub and two member clusters in their sites; a user reaches both through the edge', async () => {
  lab.writeConfig(['east', 'west']);
  const started = Date.now();
  await lab.pulumiOk(['up', '--yes', '--skip-preview']);
  figures.upFromEmptyTwoClustersSeconds = (Date.now() - started) / 1000;

  // At once: `up` returns when the hub is rolled out, and its controller made the Secret on start.
  await lab.fetchAdminKubeconfig(0);
  await eventually('both agents to be connected', async () => {
    const list = JSON.parse(await lab.api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; labels: Record<string, string>; agent?: { status: string } }[] };
    const connected = list.clusters.filter((c) => c.agent?.status === 'connected').map((c) => c.name).sort();
    return connected.join(',') === 'east,west' ? list : undefined;
  }, 300_000);
  figures.upToConnectedSeconds = (Date.now() - started) / 1000;
  // The policy directory is the hub's policy set.
  expect(JSON.parse(await lab.api(['policy', 'get', '-o', 'json'])).files.map((f: { fileName: string }) => f.fileName).sort()).toEqual(['admins.yaml', 'team.yaml']);

  await lab.api(['user', 'create', 'alice', '--group', 'team']);
  await lab.api(['user', 'create', 'bob', '--group', 'other-team']);
  for (const m of ['east', 'west']) {
    const kc = path.join(lab.dir, `alice-${m}.kubeconfig`);
    await lab.api(['kubeconfig', '--user', 'alice', '--cluster', m, '-o', kc]);
    await eventually(`alice to reach ${m} through the edge`, async () => {
      const r = await lab.kubectlVia(kc, ['get', 'configmaps', '-n', 'default', '-o', 'name']);
      return r.code === 0 && r.stdout.includes('configmap/kube-root-ca.crt') ? true : undefined;
    }, 120_000);
  }
  figures.upToServingSeconds = (Date.now() - started) / 1000;
  // Nothing to do on a second up.
  const again = await lab.pulumiOk(['preview', '--expect-no-changes']);
  expect(again).toMatch(/unchanged/);
});

test('a third cluster in the config: pulumi up touches only its resources, and it serves', async () => {
  await lab.startMember('north');
  lab.writeConfig(['east', 'west', 'north']);
  const plan = JSON.parse(await lab.pulumiOk(['preview', '--json'])) as { steps: { op: string; urn: string }[] };
  const changing = plan.steps.filter((s) => s.op !== 'same');
  expect(changing.length).toBeGreaterThan(0);
  expect(changing.filter((s) => !s.urn.includes('north'))).toEqual([]);
  expect(changing.every((s) => s.op === 'create')).toBe(true);

  const started = Date.now();
  await lab.pulumiOk(['up', '--yes', '--skip-preview']);
  const kc = path.join(lab.dir, 'alice-north.kubeconfig');
  await eventually('north to be connected', async () => {
    const list = JSON.parse(await lab.api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; agent?: { status: string } }[] };
    return list.clusters.find((c) => c.name === 'north' && c.agent?.status === 'connected');
  }, 300_000);
  await lab.api(['kubeconfig', '--user', 'alice', '--cluster', 'north', '-o', kc]);
  await eventually('alice to reach north through the edge', async () => {
    const r = await lab.kubectlVia(kc, ['get', 'configmaps', '-n', 'default', '-o', 'name']);
    return r.code === 0 ? true : undefined;
  }, 120_000);
  figures.addOneClusterSeconds = (Date.now() - started) / 1000;
});

test('new images: pulumi up rolls the hub\'s controllers, its edge replicas and every agent while users work, and not one request fails', async () => {
  const names = ['east', 'west', 'north'];
  // Every image changes: the controller, the agent, and Envoy (the edge's and each in-cluster one).
  const images = lab.imagesConfig(await lab.relabelledImages('b'));
  expect(images.envoy).not.toBe(lab.imagesConfig().envoy);
  lab.useImages(images);
  lab.writeConfig(names);
  const plan = JSON.parse(await lab.pulumiOk(['preview', '--json'])) as { steps: { op: string; urn: string }[] };
  const changing = plan.steps.filter((s) => s.op !== 'same');
  // Only the workloads change, in place: nothing is replaced or re-registered.
  expect(changing.length).toBeGreaterThan(0);
  expect(changing.filter((s) => s.op !== 'update')).toEqual([]);
  expect(changing.filter((s) => !/apps\/v1:(Deployment|StatefulSet)|kubernetes:yaml\/v2:ConfigGroup/.test(s.urn))).toEqual([]);

  const targets = names.map((member) => ({ member, kubeconfig: path.join(lab.dir, `alice-${member}.kubeconfig`) }));
  const load = await StepLoad.start({ kubectl: lab.tools.kubectl, targets, ratePerSecond: 4, namePrefix: 'upgrade' });
  const started = Date.now();
  await lab.pulumiOk(['up', '--yes', '--skip-preview']);
  figures.upgradeSeconds = (Date.now() - started) / 1000;
  // Every controller, edge and agent pod runs the new image, and every agent is back.
  const podImages = async (cluster: typeof lab.hub, component: string) =>
    (await lab.kubectlIn(cluster, ['get', 'pods', '-A', '-l', `app.kubernetes.io/component=${component}`, '-o', 'jsonpath={range .items[*]}{.spec.containers[0].image}{"\\n"}{end}'])).split('\n').filter(Boolean);
  await eventually('only new pods left', async () => {
    const controllers = await podImages(lab.hub, 'controller');
    const edges = await podImages(lab.hub, 'edge');
    const agents = (await Promise.all(names.map((n) => podImages(lab.member(n).cluster!, 'agent')))).flat();
    return controllers.length > 0 && controllers.every((i) => i === images.controller) && edges.length === FLEET_EDGE_REPLICAS && edges.every((i) => i === images.envoy) && agents.length === names.length && agents.every((i) => i === images.agent)
      ? true
      : undefined;
  }, 180_000);
  await eventually('every agent connected', async () => {
    const list = JSON.parse(await lab.api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; agent?: { status: string } }[] };
    return names.every((n) => list.clusters.find((c) => c.name === n)?.agent?.status === 'connected') ? true : undefined;
  }, 120_000);
  // Requests keep going a little after the last pod changed.
  await new Promise((r) => setTimeout(r, 5000));
  const upgrade = await load.stop();
  figures.upgrade = upgrade;
  // What the audit trail saw go wrong during the upgrade, to say where a failure came from.
  const since = new Date(started - 60_000).toISOString();
  const events = (await lab.api(['audit', '--user', 'alice', '--since', since, '--limit', '5000', '-o', 'json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stage: string; decision: string; status?: number; reason: string; responseFlags?: string[]; cluster: string });
  const bad = events.filter((e) => e.decision === 'deny' || (e.stage === 'completion' && (e.status ?? 0) >= 500));
  figures.upgradeAudit = { events: events.length, notServed: bad.slice(0, 20).map((e) => `${e.cluster} ${e.stage} ${e.decision} ${e.status ?? ''} ${(e.responseFlags ?? []).join(',')} ${e.reason}`) };
  expect(upgrade.requests).toBeGreaterThan(40);
  expect(upgrade.failedBy).toEqual({});
  expect(upgrade.failed).toBe(0);
  // Every create landed once (a second try would have failed as AlreadyExists) and was seen by the watches.
  expect(upgrade.watches.missedEvents).toBe(0);
});

test("a changed policy file shows in preview; up applies it, closing the open watch of the user it affects while another carries on", async () => {
  const east = lab.members[0]!;
  const bobKc = path.join(lab.dir, 'bob-east.kubeconfig');
  await lab.api(['kubeconfig', '--user', 'bob', '--cluster', 'east', '-o', bobKc]);
  const watch = (kc: string) => streamCommand(lab.tools.kubectl, ['--kubeconfig', kc, 'get', 'configmaps', '-n', 'default', '--watch', '-o', 'name']);
  const alice = watch(path.join(lab.dir, 'alice-east.kubeconfig'));
  const bob = watch(bobKc);
  streams.push(alice, bob);
  await eventually('both watches to list', async () => (alice.output().includes('configmap/') && bob.output().includes('configmap/') ? true : undefined), 60_000);

  lab.writeTeamPolicy(['other-team']);
  const diff = await lab.pulumiOk(['preview', '--diff']);
  expect(diff).toContain('team.yaml');
  expect(diff).toMatch(/~ .*kubegate:PolicySet/);

  await lab.pulumiOk(['up', '--yes', '--skip-preview']);
  const upAt = Date.now();
  await eventually("alice's watch to be closed", async () => (ended(alice) ? true : undefined), 30_000);
  figures.policyChangeWatchClosedMs = Date.now() - upAt;
  await lab.kubectlIn(east.cluster!, ['-n', 'default', 'create', 'configmap', 'after-the-change', '--from-literal=k=v']);
  await eventually("bob's watch to see what came after", async () => (bob.output().includes('configmap/after-the-change') ? true : undefined), 60_000);
  expect(ended(bob)).toBe(false);
  const refused = await lab.kubectlVia(path.join(lab.dir, 'alice-east.kubeconfig'), ['get', 'configmaps', '-n', 'default']);
  expect(refused.code).not.toBe(0);
});

test('a cluster removed from the config: its agent and everything kubegate made there are gone, and it is deregistered', async () => {
  const west = lab.members[1]!;
  // Something the agent made for a user there (a ServiceAccount and its bindings), to be cleaned up too.
  expect((await lab.kubegateObjects(west.cluster!)).some((o) => o.includes('serviceaccount/'))).toBe(true);
  lab.writeConfig(['east', 'north']);
  const started = Date.now();
  await lab.pulumiOk(['up', '--yes', '--skip-preview']);
  figures.removeOneClusterSeconds = (Date.now() - started) / 1000;
  expect(await lab.kubegateObjects(west.cluster!)).toEqual([]);
  const shown = await runCommand(process.execPath, [lab.cliPath, 'cluster', 'show', 'west', '--server', lab.apiUrl, '--kubeconfig', lab.adminKubeconfig!], { timeoutMs: 60_000 });
  expect(shown.code).not.toBe(0);
  expect(shown.stderr).toMatch(/not registered/);
});

test('pulumi destroy leaves nothing labelled by kubegate in any cluster', async () => {
  const started = Date.now();
  await lab.pulumiOk(['destroy', '--yes', '--skip-preview']);
  figures.destroySeconds = (Date.now() - started) / 1000;
  for (const cluster of [lab.hub, ...lab.members.map((m) => m.cluster!)]) expect(await lab.kubegateObjects(cluster)).toEqual([]);
  expect(await lab.stackResources()).toEqual([]);
  await lab.pulumiOk(['stack', 'rm', '--yes']);
});
