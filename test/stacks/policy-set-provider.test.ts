/**
 * The policy-set dynamic provider against real peers: a real kube-apiserver holding the hub's
 * Secrets (read afresh for every call, as in a hub cluster) and the real admin API over HTTPS.
 * Create, read (drift), diff, update (revision check), delete, and the waits for a hub that does
 * not answer yet; the cluster checks before a preview come along, against the same apiserver.
 */
import { getFreePorts } from '../../dev/process/free-port';
import { policySetProvider, type PolicySetOutputs } from '../../stacks/hub-api/policy-set-provider';
import { hubApi, HubApiError, type HubApiAccess } from '../../stacks/hub-api/hub-api';
import { checkReachable } from '../../stacks/reachability';
import { FleetConfigError, type FleetConfig } from '../../stacks/fleet-config';
import { startHubFixture, type HubFixture } from './support/hub-fixture';

jest.setTimeout(120_000);

const policy = (name: string, group: string) => `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: ${name}}
spec:
  subjects: {groups: [${group}]}
  clusters: {names: [alpha]}
  clusterRoles: [{name: view}]
`;

let hub: HubFixture;
let access: HubApiAccess;

beforeAll(async () => {
  hub = await startHubFixture();
  access = hub.access;
});

afterAll(async () => {
  await hub?.stop();
});

test('a call waits for the admin Secret the controller has not written yet, then says what it waited for', async () => {
  const started = Date.now();
  const error = await hubApi({ ...access, waitMs: 3_000 }, 'GET', '/policies').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(HubApiError);
  expect((error as Error).message).toMatch(/^gave up waiting for Secret kubegate-system\/kubegate-admin-kubeconfig after 3 s: /);
  expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
});

test('once the Secret appears, a waiting call goes through', async () => {
  const waiting = hubApi(access, 'GET', '/policies');
  await hub.writeHubSecrets();
  expect((await waiting).status).toBe(200);
});

describe('the policy set provider', () => {
  let state: PolicySetOutputs;
  const filesOnHub = async () => Object.fromEntries(((await hub.api.call('root', 'GET', '/policies')).body.files as { fileName: string; text: string }[]).map((f) => [f.fileName, f.text]));

  test('create applies the files as the next revision', async () => {
    const before = (await hub.api.call('root', 'GET', '/policies')).body.revision as number;
    const created = await policySetProvider.create!({ access, files: { 'a.yaml': policy('a', 'dev'), 'b.yaml': policy('b', 'ops') } });
    expect(created.id).toBe('policy-set');
    state = created.outs!;
    expect(state.revision).toBe(before + 1);
    expect(await filesOnHub()).toEqual({ 'a.yaml': policy('a', 'dev'), 'b.yaml': policy('b', 'ops') });
  });

  test('create over the very same files applies nothing', async () => {
    const again = await policySetProvider.create!({ access, files: state.files });
    expect(again.outs!.revision).toBe(state.revision);
  });

  test('diff sees a changed file, and only that', async () => {
    expect((await policySetProvider.diff!('policy-set', state, { access, files: state.files })).changes).toBe(false);
    expect((await policySetProvider.diff!('policy-set', state, { access, files: { ...state.files, 'b.yaml': policy('b', 'sre') } })).changes).toBe(true);
    expect((await policySetProvider.diff!('policy-set', state, { access, files: { 'a.yaml': state.files['a.yaml']! } })).changes).toBe(true);
  });

  test('update applies against the revision it knows', async () => {
    const updated = await policySetProvider.update!('policy-set', state, { access, files: { ...state.files, 'b.yaml': policy('b', 'sre') } });
    expect(updated.outs!.revision).toBe(state.revision + 1);
    state = updated.outs!;
    expect((await filesOnHub())['b.yaml']).toBe(policy('b', 'sre'));
  });

  test('a set applied by hand is refused as a base for an update, until refreshed', async () => {
    const hand = await hub.api.call('root', 'PUT', '/policies', { files: [{ fileName: 'hand.yaml', text: policy('hand', 'dev') }], expectedRevision: state.revision });
    expect(hand.status).toBe(200);
    await expect(policySetProvider.update!('policy-set', state, { access, files: { 'a.yaml': policy('a', 'dev') } })).rejects.toThrow(/changed outside this stack .*run `pulumi refresh`/);
    expect(await filesOnHub()).toEqual({ 'hand.yaml': policy('hand', 'dev') });

    // refresh: the hand-applied files become the state and the inputs, so the next preview
    // shows the way back as a diff.
    const read = await policySetProvider.read!('policy-set', state);
    expect(read.props!.files).toEqual({ 'hand.yaml': policy('hand', 'dev') });
    expect(read.inputs!.files).toEqual({ 'hand.yaml': policy('hand', 'dev') });
    state = read.props!;
    expect((await policySetProvider.diff!('policy-set', state, { access, files: { 'a.yaml': policy('a', 'dev') } })).changes).toBe(true);
    state = (await policySetProvider.update!('policy-set', state, { access, files: { 'a.yaml': policy('a', 'dev') } })).outs!;
    expect(await filesOnHub()).toEqual({ 'a.yaml': policy('a', 'dev') });
  });

  test("an invalid file is the hub's refusal, with the file and line", async () => {
    await expect(policySetProvider.update!('policy-set', state, { access, files: { 'bad.yaml': 'kind: AccessPolicy\n' } })).rejects.toThrow(/applying the policy set: the hub answered 422: .*bad\.yaml/s);
  });

  test('delete leaves the hub with no policy at all', async () => {
    await policySetProvider.delete!('policy-set', state);
    expect(await filesOnHub()).toEqual({});
    // Deleting again (a retried destroy) is a no-op.
    await policySetProvider.delete!('policy-set', state);
  });
});

describe('the cluster check before a preview', () => {
  const config = (kubeconfigs: Array<[string, string]>): FleetConfig => ({
    images: { controller: 'c', envoy: 'e', agent: 'a' },
    hub: { kubeconfig: { text: access.kubeconfig, source: 'hub.kubeconfig' }, apiUrl: hub.api.server.url, agentEndpoint: 'h:1', props: { edgeUrl: 'https://h' } },
    clusters: kubeconfigs.map(([name, text]) => ({ name, labels: {}, kubeconfig: { text, source: `${name}.kubeconfig` }, allowedClusterRoles: [] })),
  });

  test('clusters that answer pass', async () => {
    await expect(checkReachable(config([['member', access.kubeconfig]]))).resolves.toBeUndefined();
  });

  test('a cluster that does not answer, or whose kubeconfig is unusable, is named', async () => {
    const [closed] = await getFreePorts(1);
    const unreachable = access.kubeconfig.replace(hub.cluster.apiserverUrl, `https://127.0.0.1:${closed}`);
    const error = await checkReachable(config([['down', unreachable], ['broken', 'current-context: x\n'], ['ok', access.kubeconfig]]), 3_000).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(FleetConfigError);
    expect((error as FleetConfigError).problems).toEqual([
      `kubegate:clusters[0]: cluster down cannot be reached at https://127.0.0.1:${closed}: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${closed}`,
      "kubegate:clusters[1]: kubegate:clusters[1]'s kubeconfig (broken.kubeconfig) has no context named \"x\"",
    ]);
  });
});
