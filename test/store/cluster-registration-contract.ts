/**
 * Why: the hub must be able to register a cluster for an agent to join (no install link), own
 * its labels from then on, and deregister it so that its agent's hellos never bring it back;
 * on every database the store runs on. These are the Store contract's tests for putCluster and
 * recordAgentHello, run unchanged on SQLite and PostgreSQL (each test file calls
 * describeClusterRegistrationContract with two stores sharing one fresh database), concurrent
 * registrations from two connections included.
 */
import { StoreNotFoundError, type ClusterRecord, type Store } from '../../control-plane/store/store';
import { StoreInputError } from '../../control-plane/store/store-input';
import { recordChanges } from './change-recorder';
import { clusterRecord, DAY, HOUR, MINUTE, rejection, T0 } from './store-contract';
import { installToken } from './install-token-contract';

/** A cluster the hub registered that no agent has connected for yet. */
const neverConnected = (name: string, labels: Record<string, string>, registeredAt = T0): ClusterRecord => ({
  name,
  labels,
  kubernetesVersion: '',
  apiserverCaPem: '',
  apiserverHost: '',
  apiserverPort: 0,
  agentVersion: '',
  agentCertificateSerial: '',
  registeredAt,
  lastSeenAt: 0,
});

/** What an agent says in its hello, as the agent gateway records it (registeredAt is ignored). */
const hello = (name: string, at: number, labels: Record<string, string> = { env: 'agent-says' }) =>
  clusterRecord(name, { labels, kubernetesVersion: 'v1.35.0', agentVersion: '0.2.0', agentCertificateSerial: 'ab12', registeredAt: at, lastSeenAt: at });

/** `openPair` opens two stores (connections, or replicas) on one fresh, empty database. */
export function describeClusterRegistrationContract(name: string, openPair: () => Promise<readonly [Store, Store]>): void {
  describe(`${name}: cluster registration (putCluster, recordAgentHello)`, () => {
    let store: Store;
    let other: Store;
    beforeEach(async () => {
      [store, other] = await openPair();
    });
    afterEach(async () => {
      await Promise.all([store.close(), other.close()]);
    });

    test('putCluster registers a never-connected cluster with sorted labels, in one change every connection sees', async () => {
      const seen = recordChanges(store);
      const put = await store.putCluster({ name: 'edge-1', labels: { region: 'eu', env: 'prod' }, now: T0 });
      expect(put).toEqual({ cluster: neverConnected('edge-1', { env: 'prod', region: 'eu' }), created: true });
      expect(Object.keys(put.cluster.labels)).toEqual(['env', 'region']);
      expect(seen.changes).toEqual([{ generation: 1 }]);
      expect(await other.getCluster('edge-1')).toEqual(put.cluster);
      expect((await other.loadState(T0)).clusters).toEqual([put.cluster]);
      // No install link and no join token come with it.
      expect(await other.listInstallTokens()).toEqual([]);
      expect(await other.listJoinTokens()).toEqual([]);
    });

    test('on a registered cluster putCluster sets the labels only, and again the same changes nothing more', async () => {
      await store.upsertCluster(clusterRecord('edge-1', { registeredAt: T0, lastSeenAt: T0 + MINUTE }));
      const relabelled = await other.putCluster({ name: 'edge-1', labels: { tier: 'gold' }, now: T0 + DAY });
      expect(relabelled).toEqual({ cluster: clusterRecord('edge-1', { labels: { tier: 'gold' }, registeredAt: T0, lastSeenAt: T0 + MINUTE }), created: false });
      expect(await other.putCluster({ name: 'edge-1', labels: { tier: 'gold' }, now: T0 + 2 * DAY })).toEqual(relabelled);
      expect(await store.listClusters()).toEqual([relabelled.cluster]);
      expect((await store.putCluster({ name: 'edge-1', labels: {}, now: T0 + 3 * DAY })).cluster.labels).toEqual({});
    });

    test("an agent's hello updates what it reports and keeps registeredAt; its labels count only until the hub sets some", async () => {
      // Registered by its agent's join: the hellos' labels are the cluster's.
      await store.upsertCluster(neverConnected('joined', {}, T0));
      const first = await other.recordAgentHello(hello('joined', T0 + MINUTE), T0 + MINUTE);
      expect(first).toEqual({ ...hello('joined', T0 + MINUTE), registeredAt: T0 });
      expect((await store.recordAgentHello(hello('joined', T0 + HOUR, { env: 'changed' }), T0 + MINUTE)).labels).toEqual({ env: 'changed' });

      // Once the hub labels it, a hello no longer replaces them, but updates everything else.
      await store.putCluster({ name: 'joined', labels: { env: 'prod' }, now: T0 + DAY });
      const after = await other.recordAgentHello(hello('joined', T0 + 2 * DAY, { env: 'dev' }), T0 + MINUTE);
      expect(after).toEqual({ ...hello('joined', T0 + 2 * DAY), labels: { env: 'prod' }, registeredAt: T0 });

      // Registered by the hub (putCluster, or registerCluster with an install link): its labels from the start.
      for (const [cluster, register] of [
        ['put', () => store.putCluster({ name: 'put', labels: { env: 'prod' }, now: T0 })],
        ['linked', () => store.registerCluster({ name: 'linked', labels: { env: 'prod' }, now: T0 }, installToken('inst-1', { cluster: 'linked' }))],
      ] as const) {
        await register();
        expect((await other.recordAgentHello(hello(cluster, T0 + MINUTE, { env: 'dev' }), T0 + MINUTE)).labels).toEqual({ env: 'prod' });
      }
    });

    test('a hello for a cluster not registered, or registered after the agent was certified, is refused and changes nothing', async () => {
      await store.putCluster({ name: 'edge-1', labels: {}, now: T0 + HOUR });
      const generation = await store.generation();
      const seen = recordChanges(store);
      for (const [cluster, certified] of [
        ['ghost', T0 + DAY],
        ['edge-1', T0 + HOUR - 1],
      ] as const) {
        const err = await rejection(store.recordAgentHello(hello(cluster, T0 + DAY), certified));
        expect(err).toBeInstanceOf(StoreNotFoundError);
        expect(err.message).toBe(`cluster "${cluster}" does not exist`);
      }
      expect(await other.getCluster('ghost')).toBeUndefined();
      expect(await other.getCluster('edge-1')).toEqual(neverConnected('edge-1', {}, T0 + HOUR));
      expect(await store.generation()).toBe(generation);
      expect(seen.changes).toEqual([]);
      // Certified at the very moment of registration is fine.
      expect((await store.recordAgentHello(hello('edge-1', T0 + DAY), T0 + HOUR)).lastSeenAt).toBe(T0 + DAY);
    });

    test("a deregistered cluster stays gone whatever its agent says; registered again, it starts afresh", async () => {
      await store.putCluster({ name: 'edge-1', labels: { env: 'prod' }, now: T0 });
      await store.recordAgentHello(hello('edge-1', T0 + MINUTE), T0 + MINUTE);
      await other.deleteCluster('edge-1');
      expect(await rejection(store.recordAgentHello(hello('edge-1', T0 + HOUR), T0 + MINUTE))).toBeInstanceOf(StoreNotFoundError);
      expect(await store.listClusters()).toEqual([]);

      const again = await other.putCluster({ name: 'edge-1', labels: {}, now: T0 + DAY });
      expect(again).toEqual({ cluster: neverConnected('edge-1', {}, T0 + DAY), created: true });
      // The old agent (certified before) is not taken; a new one (certified after) is.
      expect(await rejection(store.recordAgentHello(hello('edge-1', T0 + DAY + 1), T0 + MINUTE))).toBeInstanceOf(StoreNotFoundError);
      expect((await store.recordAgentHello(hello('edge-1', T0 + DAY + 2), T0 + DAY + 1)).registeredAt).toBe(T0 + DAY);
    });

    test('two connections registering one new name at once: exactly one creates it, the other sets its labels', async () => {
      for (let round = 0; round < 5; round++) {
        const name = `race-${round}`;
        const outcomes = await Promise.all([
          store.putCluster({ name, labels: { by: 'a' }, now: T0 }),
          other.putCluster({ name, labels: { by: 'b' }, now: T0 + 1 }),
          store.putCluster({ name, labels: { by: 'c' }, now: T0 + 2 }),
        ]);
        expect(outcomes.filter((o) => o.created)).toHaveLength(1);
        expect([T0, T0 + 1, T0 + 2]).toContain(outcomes[0]!.cluster.registeredAt);
        expect(new Set(outcomes.map((o) => o.cluster.registeredAt)).size).toBe(1);
      }
      expect(await store.listClusters()).toHaveLength(5);
    });

    test('malformed registrations and hellos are refused, naming the field, before anything changes', async () => {
      const cases: [() => Promise<unknown>, string][] = [
        [() => store.putCluster({ name: 'Edge_1', labels: {}, now: T0 }), `cluster name must be a DNS label (lowercase letters, digits and '-', at most 63), got "Edge_1"`],
        [() => store.putCluster({ name: 'edge-1', labels: { env: 1 as never }, now: T0 }), 'cluster "edge-1" labels "env" must be a string'],
        [() => store.putCluster({ name: 'edge-1', labels: {}, now: -1 }), 'now must be a time in epoch milliseconds (a non-negative integer), got -1'],
        [() => store.recordAgentHello(hello('edge-1', T0), 1.5), 'registeredBy must be a time in epoch milliseconds (a non-negative integer), got 1.5'],
        [() => store.recordAgentHello(hello('edge-1', T0, ['x'] as never), T0), 'cluster "edge-1" labels must be an object of strings'],
      ];
      for (const [call, message] of cases) {
        const err = await rejection(call());
        expect(err).toBeInstanceOf(StoreInputError);
        expect(err).toMatchObject({ code: 'ERR_STORE_INVALID_INPUT', message });
      }
      expect(await store.generation()).toBe(0);
      expect(await store.listClusters()).toEqual([]);
    });
  });
}
