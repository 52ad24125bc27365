/**
 * Why: the install links behind `kubegate cluster add` must be usable exactly once, refused
 * after expiry and never kept in the clear, on every database the store runs on. These are the
 * Store contract's tests for them, run unchanged on SQLite and PostgreSQL (each test file calls
 * describeInstallTokenContract with two stores sharing one fresh database), the race between
 * two requests with one link included.
 */
import { InstallTokenRejectedError, type InstallTokenRecord, type InstallTokenRejection } from '../../control-plane/store/install-token';
import { StoreConflictError, StoreNotFoundError, type Store } from '../../control-plane/store/store';
import { StoreInputError } from '../../control-plane/store/store-input';
import { recordChanges } from './change-recorder';
import { HOUR, MINUTE, rejection, sha256, T0 } from './store-contract';

export function installToken(id: string, over: Partial<Omit<InstallTokenRecord, 'usedAt'>> = {}): Omit<InstallTokenRecord, 'usedAt'> {
  return { id, cluster: 'edge-1', secretHash: sha256(`secret of ${id}`), createdAt: T0, createdBy: 'admin', expiresAt: T0 + 15 * MINUTE, ...over };
}

const joinFor = (id: string, expiresAt = T0 + HOUR) => ({ id, secretHash: sha256(`join secret of ${id}`), expiresAt });

/** `openPair` opens two stores (connections, or replicas) on one fresh, empty database. */
export function describeInstallTokenContract(name: string, openPair: () => Promise<readonly [Store, Store]>): void {
  describe(`${name}: install links (registerCluster, redeemInstallToken)`, () => {
    let store: Store;
    let other: Store;
    beforeEach(async () => {
      [store, other] = await openPair();
    });
    afterEach(async () => {
      await Promise.all([store.close(), other.close()]);
    });

    test('registerCluster records a never-connected cluster with its labels and its first link, in one change', async () => {
      const seen = recordChanges(store);
      const { cluster, token } = await store.registerCluster({ name: 'edge-1', labels: { region: 'eu', env: 'prod' }, now: T0 }, installToken('inst-1'));
      expect(cluster).toEqual({ name: 'edge-1', labels: { env: 'prod', region: 'eu' }, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt: T0, lastSeenAt: 0 });
      expect(Object.keys(cluster.labels)).toEqual(['env', 'region']);
      expect(token).toEqual(installToken('inst-1'));
      expect(seen.changes).toEqual([{ generation: 1 }]);
      expect(await other.getCluster('edge-1')).toEqual(cluster);
      expect(await other.listInstallTokens({ cluster: 'edge-1' })).toEqual([token]);
      expect((await other.loadState(T0)).clusters.map((c) => c.name)).toEqual(['edge-1']);
    });

    test('a cluster that exists is a conflict and nothing is stored; a token for another cluster is refused', async () => {
      await store.registerCluster({ name: 'edge-1', labels: {}, now: T0 }, installToken('inst-1'));
      const err = await rejection(store.registerCluster({ name: 'edge-1', labels: { env: 'x' }, now: T0 + 1 }, installToken('inst-2')));
      expect(err).toBeInstanceOf(StoreConflictError);
      expect(err.message).toBe('cluster "edge-1" is already registered');
      expect((await store.listInstallTokens()).map((t) => t.id)).toEqual(['inst-1']);
      const mismatch = await rejection(store.registerCluster({ name: 'edge-2', labels: {}, now: T0 }, installToken('inst-3')));
      expect(mismatch).toBeInstanceOf(StoreInputError);
      expect(mismatch.message).toBe('install token "inst-3" is for cluster "edge-1", not "edge-2"');
      const badName = await rejection(store.registerCluster({ name: 'Edge_2', labels: {}, now: T0 }, installToken('inst-4', { cluster: 'Edge_2' })));
      expect(badName.message).toMatch(/^cluster name must be a DNS label/);
      expect(await store.getCluster('edge-2')).toBeUndefined();
    });

    test('createInstallToken adds a link for a registered cluster only; listInstallTokens is newest first', async () => {
      await store.registerCluster({ name: 'edge-1', labels: {}, now: T0 }, installToken('inst-1'));
      const second = await store.createInstallToken(installToken('inst-2', { createdAt: T0 + MINUTE, expiresAt: T0 + HOUR }));
      expect((await store.listInstallTokens()).map((t) => t.id)).toEqual(['inst-2', 'inst-1']);
      expect(await store.listInstallTokens({ cluster: 'elsewhere' })).toEqual([]);
      expect(second.usedAt).toBeUndefined();
      expect(await rejection(store.createInstallToken(installToken('inst-3', { cluster: 'ghost' })))).toBeInstanceOf(StoreNotFoundError);
      expect(await rejection(store.createInstallToken(installToken('inst-2')))).toBeInstanceOf(StoreConflictError);
      expect((await rejection(store.createInstallToken(installToken('inst-4', { expiresAt: T0 })))).message).toBe('install token "inst-4" expiresAt must be later than its createdAt');
    });

    test('redeeming marks the link used and makes the join token its manifest carries, for its cluster', async () => {
      await store.registerCluster({ name: 'edge-1', labels: { env: 'prod' }, now: T0 }, installToken('inst-1'));
      const redeemed = await store.redeemInstallToken('inst-1', sha256('secret of inst-1'), T0 + MINUTE, joinFor('join-1'));
      expect(redeemed.installToken).toEqual({ ...installToken('inst-1'), usedAt: T0 + MINUTE });
      expect(redeemed.cluster.labels).toEqual({ env: 'prod' });
      expect(redeemed.joinToken).toEqual({ id: 'join-1', cluster: 'edge-1', secretHash: sha256('join secret of join-1'), createdAt: T0 + MINUTE, createdBy: 'admin', expiresAt: T0 + HOUR });
      expect(await other.listJoinTokens({ cluster: 'edge-1' })).toEqual([redeemed.joinToken]);
      // The join token works as any other.
      expect((await other.consumeJoinToken('join-1', sha256('join secret of join-1'), T0 + 2 * MINUTE)).usedAt).toBe(T0 + 2 * MINUTE);
    });

    test('an unknown id, a wrong secret, a used link and an expired one are refused, in that order, and change nothing', async () => {
      await store.registerCluster({ name: 'edge-1', labels: {}, now: T0 }, installToken('fresh'));
      await store.createInstallToken(installToken('spent'));
      await store.redeemInstallToken('spent', sha256('secret of spent'), T0 + 1, joinFor('join-0'));
      const before = [await store.listInstallTokens(), await store.listJoinTokens()];
      const cases: [string, string, number, InstallTokenRejection, string][] = [
        ['ghost', sha256('secret of ghost'), T0 + 2, 'unknown', 'install token "ghost" does not exist'],
        ['fresh', sha256('guessed'), T0 + 2, 'wrong-secret', 'install token "fresh" does not match its secret'],
        ['spent', sha256('guessed'), T0 + 2, 'wrong-secret', 'install token "spent" does not match its secret'],
        ['spent', sha256('secret of spent'), T0 + 2, 'used', 'install token "spent" was already used'],
        ['fresh', sha256('secret of fresh'), T0 + 15 * MINUTE, 'expired', 'install token "fresh" has expired'],
      ];
      for (const [id, hash, now, reason, message] of cases) {
        const err = await rejection(store.redeemInstallToken(id, hash, now, joinFor(`join-${reason}`, now + HOUR)));
        expect(err).toBeInstanceOf(InstallTokenRejectedError);
        expect(err).toMatchObject({ code: 'ERR_INSTALL_TOKEN_REJECTED', reason, tokenId: id, message });
      }
      expect([await store.listInstallTokens(), await store.listJoinTokens()]).toEqual(before);
      // One millisecond before its expiry it still works.
      expect((await store.redeemInstallToken('fresh', sha256('secret of fresh'), T0 + 15 * MINUTE - 1, joinFor('join-1'))).installToken.usedAt).toBe(T0 + 15 * MINUTE - 1);
    });

    test('two requests racing with one link, on two connections: exactly one gets the manifest', async () => {
      await store.registerCluster({ name: 'edge-1', labels: {}, now: T0 }, installToken('inst-1'));
      const hash = sha256('secret of inst-1');
      for (let round = 0; round < 5; round++) {
        const id = `inst-race-${round}`;
        await store.createInstallToken(installToken(id, { secretHash: hash }));
        const outcomes = await Promise.allSettled([
          store.redeemInstallToken(id, hash, T0 + 1, joinFor(`join-a-${round}`)),
          other.redeemInstallToken(id, hash, T0 + 1, joinFor(`join-b-${round}`)),
          store.redeemInstallToken(id, hash, T0 + 1, joinFor(`join-c-${round}`)),
          other.redeemInstallToken(id, hash, T0 + 1, joinFor(`join-d-${round}`)),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ reason: 'used' });
        // Only the winner's join token was made.
        expect((await store.listJoinTokens()).filter((t) => t.id.endsWith(`-${round}`))).toHaveLength(1);
      }
    });

    test("deleting the cluster removes its links; a link's bad inputs are named", async () => {
      await store.registerCluster({ name: 'edge-1', labels: {}, now: T0 }, installToken('inst-1'));
      await store.deleteCluster('edge-1');
      expect(await store.listInstallTokens()).toEqual([]);
      expect((await rejection(store.redeemInstallToken('inst-1', sha256('secret of inst-1'), T0 + 1, joinFor('join-1')))).message).toBe('install token "inst-1" does not exist');
      expect((await rejection(store.redeemInstallToken('inst-1', 'nothex', T0 + 1, joinFor('join-1')))).message).toBe('install token secret hash must be a SHA-256 in lowercase hex (64 digits)');
      expect((await rejection(store.redeemInstallToken('inst-1', sha256('x'), T0 + 1, joinFor('join-1', T0)))).message).toBe('join token "join-1" expiresAt must be later than now');
    });
  });
}
