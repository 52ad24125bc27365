/**
 * The cluster-registration dynamic provider against a real admin API and a real kube-apiserver
 * holding the hub's Secrets: registration with a join token and the hub's CA, labels changed in
 * place, drift seen by read (relabelled or deregistered by hand), a spent token replaced, and
 * deregistration.
 */
import { clusterRegistrationProvider, type ClusterRegistrationOutputs } from '../../stacks/hub-api/cluster-registration-provider';
import type { HubApiAccess } from '../../stacks/hub-api/hub-api';
import { HUB_CA_PEM, startHubFixture, type HubFixture } from './support/hub-fixture';

jest.setTimeout(120_000);

let hub: HubFixture;
let access: HubApiAccess;

beforeAll(async () => {
  hub = await startHubFixture();
  await hub.writeHubSecrets();
  access = hub.access;
});

afterAll(async () => {
  await hub?.stop();
});

const clusterOnHub = async (name: string) => hub.api.call('root', 'GET', `/clusters/${name}`);

describe('the cluster registration provider', () => {
  let state: ClusterRegistrationOutputs;

  test('create registers the cluster and mints a join token for it; the hub CA comes along', async () => {
    const created = await clusterRegistrationProvider.create!({ access, cluster: 'prod-eu', labels: { env: 'prod' } });
    expect(created.id).toBe('prod-eu');
    state = created.outs!;
    expect(state.hubCaPem).toBe(HUB_CA_PEM);
    expect(state.joinToken).toMatch(/\S{20,}/);
    expect(Date.parse(state.joinTokenExpiresAt)).toBeGreaterThan(Date.now());
    const view = await clusterOnHub('prod-eu');
    expect(view.status).toBe(200);
    expect(view.body.cluster).toMatchObject({ name: 'prod-eu', labels: { env: 'prod' } });
    const tokens = await hub.api.store.listJoinTokens({ cluster: 'prod-eu' });
    expect(tokens).toHaveLength(1);
  });

  test('diff: labels change in place, a new name replaces (deleting first)', async () => {
    expect(await clusterRegistrationProvider.diff!('prod-eu', state, { access, cluster: 'prod-eu', labels: { env: 'prod' } })).toMatchObject({ changes: false });
    expect(await clusterRegistrationProvider.diff!('prod-eu', state, { access, cluster: 'prod-eu', labels: { env: 'prod', tier: 'gold' } })).toMatchObject({ changes: true, replaces: [] });
    expect(await clusterRegistrationProvider.diff!('prod-eu', state, { access, cluster: 'prod-us', labels: { env: 'prod' } })).toEqual({ changes: true, replaces: ['cluster'], deleteBeforeReplace: true });
  });

  test('update sets the labels on the hub and keeps the token', async () => {
    const updated = await clusterRegistrationProvider.update!('prod-eu', state, { access, cluster: 'prod-eu', labels: { env: 'prod', tier: 'gold' } });
    expect(updated.outs!.joinToken).toBe(state.joinToken);
    state = updated.outs!;
    expect((await clusterOnHub('prod-eu')).body.cluster.labels).toEqual({ env: 'prod', tier: 'gold' });
    expect(await hub.api.store.listJoinTokens({ cluster: 'prod-eu' })).toHaveLength(1);
  });

  test('read sees labels changed by hand, and makes them the inputs', async () => {
    expect((await hub.api.call('root', 'PUT', '/clusters/prod-eu', { labels: { env: 'staging' } })).status).toBe(200);
    const read = await clusterRegistrationProvider.read!('prod-eu', state);
    expect(read.id).toBe('prod-eu');
    expect(read.props!.labels).toEqual({ env: 'staging' });
    expect(read.inputs!.labels).toEqual({ env: 'staging' });
    state = read.props!;
    // The next up puts the stack's labels back.
    expect((await clusterRegistrationProvider.diff!('prod-eu', state, { access, cluster: 'prod-eu', labels: { env: 'prod' } })).changes).toBe(true);
  });

  test('a token that ran out before any agent joined is replaced on the next up; a live one is not', async () => {
    const spent = { ...state, joinTokenExpiresAt: new Date(Date.now() - 1000).toISOString() };
    expect((await clusterRegistrationProvider.diff!('prod-eu', spent, { access, cluster: 'prod-eu', labels: state.labels })).changes).toBe(true);
    const updated = await clusterRegistrationProvider.update!('prod-eu', spent, { access, cluster: 'prod-eu', labels: state.labels });
    expect(updated.outs!.joinToken).not.toBe(state.joinToken);
    expect(Date.parse(updated.outs!.joinTokenExpiresAt)).toBeGreaterThan(Date.now());
    expect(await hub.api.store.listJoinTokens({ cluster: 'prod-eu' })).toHaveLength(2);
    state = updated.outs!;
    expect((await clusterRegistrationProvider.diff!('prod-eu', state, { access, cluster: 'prod-eu', labels: state.labels })).changes).toBe(false);
  });

  test('read of a cluster deregistered by hand says it is gone', async () => {
    expect((await hub.api.call('root', 'DELETE', '/clusters/prod-eu')).status).toBe(200);
    const read = await clusterRegistrationProvider.read!('prod-eu', state);
    expect(read.id).toBeUndefined();
  });

  test('delete deregisters, and a cluster already gone is fine', async () => {
    const again = (await clusterRegistrationProvider.create!({ access, cluster: 'prod-eu', labels: {} })).outs!;
    expect((await clusterOnHub('prod-eu')).status).toBe(200);
    await clusterRegistrationProvider.delete!('prod-eu', again);
    expect((await clusterOnHub('prod-eu')).status).toBe(404);
    await clusterRegistrationProvider.delete!('prod-eu', again);
  });

  test("a cluster the controller's configuration reaches directly is refused, by name", async () => {
    await expect(clusterRegistrationProvider.create!({ access, cluster: 'alpha', labels: {} })).rejects.toThrow(/registering cluster "alpha": the hub answered 409: cluster "alpha" is reached directly/);
  });
});
