/**
 * PostgresStore against a real PostgreSQL server started for this file (one server, a fresh
 * database per test): the shared Store contract, then what only a shared database has:
 * several replicas, their notifications, their races, and losing the connection.
 */
import { createLogger } from '../../control-plane/log/logger';
import { openStore } from '../../control-plane/store/open-store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../control-plane/store/schema';
import { LISTENER_APPLICATION_NAME } from '../../control-plane/store/postgres-listener';
import { PostgresStore, type PostgresStoreOptions } from '../../control-plane/store/postgres-store';
import { StoreConflictError, StoreUnavailableError, type PolicySetRecord, type Store } from '../../control-plane/store/store';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { recordChanges } from './change-recorder';
import { breakGlassRequest, describeStoreContract, MINUTE, rejection, T0 } from './store-contract';
import { describeInstallTokenContract } from './install-token-contract';
import { describeClusterRegistrationContract } from './cluster-registration-contract';

// Reconnects come quickly, so a test that waits for one does not wait long.
const options: PostgresStoreOptions = { listenerBackoff: { initialMs: 20, maxMs: 200 } };

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

describeStoreContract('PostgresStore', async () => openStore(await server.createDatabase(), options));
describeInstallTokenContract('PostgresStore replicas', async () => {
  const url = await server.createDatabase();
  return [await PostgresStore.open(url, options), await PostgresStore.open(url, options)] as const;
});
describeClusterRegistrationContract('PostgresStore replicas', async () => {
  const url = await server.createDatabase();
  return [await PostgresStore.open(url, options), await PostgresStore.open(url, options)] as const;
});

describe('PostgresStore replicas sharing one database', () => {
  let url: string;
  let a: Store;
  let b: Store;
  beforeEach(async () => {
    url = await server.createDatabase();
    a = await PostgresStore.open(url, options);
    b = await PostgresStore.open(url, options);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  test("a change through one replica reaches the other's watchers over LISTEN/NOTIFY, session activity included", async () => {
    expect(a.kind).toBe('postgres');
    const seenByA = recordChanges(a);
    const seenByB = recordChanges(b);

    const alice = await a.createUser({ name: 'alice', groups: ['dev'], now: T0 });
    expect(await seenByB.waitFor((c) => c.generation === 1)).toEqual({ generation: 1 });
    expect(await b.getUser('alice')).toEqual(alice);

    await a.createSession({ id: 'sess', user: 'alice', now: T0 });
    const touched = await a.touchSession('sess', T0 + MINUTE);
    expect(await seenByB.waitFor((c) => c.sessionActivity !== undefined)).toEqual({ generation: 2, sessionActivity: touched });

    // A change from B reaches A after A's own earlier notifications (one connection delivers in
    // commit order), so by then A would have heard its own echoes, had it not skipped them.
    await b.createGroup({ name: 'dev', now: T0 });
    await seenByA.waitFor((c) => c.generation === 3);
    expect(seenByA.changes).toEqual([{ generation: 1 }, { generation: 2 }, { generation: 2, sessionActivity: touched }, { generation: 3 }]);
    expect(seenByB.changes).toEqual([{ generation: 1 }, { generation: 2 }, { generation: 2, sessionActivity: touched }, { generation: 3 }]);
  });

  test('a transaction that failed notifies no replica', async () => {
    const seenByB = recordChanges(b);
    await a.createUser({ name: 'alice', groups: [], now: T0 });
    await rejection(a.createUser({ name: 'alice', groups: [], now: T0 }));
    await rejection(a.applyPolicySet({ files: [], appliedAt: T0, appliedBy: 'alice', expectedRevision: 7 }));
    await rejection(a.deleteUser('ghost'));
    await a.createGroup({ name: 'dev', now: T0 });
    // Notifications arrive in commit order: had a failed one been sent, it would be here.
    await seenByB.waitFor((c) => c.generation === 2);
    expect(seenByB.changes).toEqual([{ generation: 1 }, { generation: 2 }]);
  });

  test('applyPolicySet from two replicas with the same expected revision: exactly one wins, every round', async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        [a, b].map((store, i) =>
          store.applyPolicySet({ files: [{ fileName: `by-${i}.yaml`, text: `round ${round}` }], appliedAt: T0 + round, appliedBy: `replica-${i}`, expectedRevision: round }),
        ),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<PolicySetRecord> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(StoreConflictError);
      expect(won[0]!.value.revision).toBe(round + 1);
      expect(await b.getPolicySet()).toEqual(won[0]!.value);
    }
    // Only the winners' transactions committed.
    expect(await a.generation()).toBe(5);
  });

  test('updateBreakGlass from two replicas on the same revision: exactly one wins, every round', async () => {
    await a.createBreakGlass(breakGlassRequest('bg-1'));
    for (let round = 0; round < 5; round++) {
      const read = (await a.getBreakGlass('bg-1'))!;
      const results = await Promise.allSettled(
        [a, b].map((store, i) => store.updateBreakGlass({ ...read, approvals: [...read.approvals, { approver: `approver-${round}-${i}`, at: T0 + round }] })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(StoreConflictError);
      const stored = (await b.getBreakGlass('bg-1'))!;
      expect(stored.revision).toBe(round + 1);
      expect(stored.approvals).toHaveLength(round + 1);
    }
  });

  test('creating the same user from two replicas at once: one creates it, the other gets a conflict', async () => {
    const results = await Promise.allSettled([a, b].map((store, i) => store.createUser({ name: 'alice', groups: [`from-${i}`], now: T0 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(lost[0]!.reason).toBeInstanceOf(StoreConflictError);
    expect((lost[0]!.reason as Error).message).toBe('user "alice" already exists');
    expect(await a.listUsers()).toHaveLength(1);
  });

  test('after its LISTEN backend is terminated, a replica reconnects, tells its watchers to reload, and hears changes again', async () => {
    const seenByA = recordChanges(a);
    const seenByB = recordChanges(b);
    await a.createUser({ name: 'alice', groups: [], now: T0 });
    await seenByB.waitFor((c) => c.generation === 1);
    const markA = seenByA.changes.length;
    const markB = seenByB.changes.length;

    const listenersOf = () =>
      server.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = $2 ORDER BY pid', [LISTENER_APPLICATION_NAME, databaseOf(url)]);
    const before = (await listenersOf()).map((r) => r.pid);
    expect(before).toHaveLength(2);
    const terminated = await server.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid', [before]);
    expect(terminated.map((r) => r.ok)).toEqual([true, true]);

    // Each replica reports once that it is back (with the generation as it stands) ...
    expect(await seenByA.waitFor(() => true, markA)).toEqual({ generation: 1 });
    expect(await seenByB.waitFor(() => true, markB)).toEqual({ generation: 1 });
    const after = (await listenersOf()).map((r) => r.pid);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);

    // ... and hears the other replica's changes on its new connection.
    await a.createGroup({ name: 'dev', now: T0 });
    expect(await seenByB.waitFor((c) => c.generation === 2)).toEqual({ generation: 2 });
    await b.createGroup({ name: 'ops', now: T0 });
    expect(await seenByA.waitFor((c) => c.generation === 3)).toEqual({ generation: 3 });
    // Told once per reconnect, not once per attempt or per listener.
    expect(seenByA.changes.slice(markA)).toEqual([{ generation: 1 }, { generation: 2 }, { generation: 3 }]);
    await seenByB.waitFor((c) => c.generation === 3);
    expect(seenByB.changes.slice(markB)).toEqual([{ generation: 1 }, { generation: 2 }, { generation: 3 }]);
  });
});

describe('PostgresStore schema and availability', () => {
  test('two replicas opening a fresh database at once migrate it exactly once', async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all([PostgresStore.open(url, options), PostgresStore.open(url, options), PostgresStore.open(url, options)]);
    try {
      expect(await server.query('SELECT version FROM schema_version', [], databaseOf(url))).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
      await stores[0]!.createUser({ name: 'alice', groups: [], now: T0 });
      expect(await stores[2]!.getUser('alice')).toMatchObject({ name: 'alice' });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a database migrated by a newer kubegate is refused, not used', async () => {
    const url = await server.createDatabase();
    await (await PostgresStore.open(url, options)).close();
    await server.query("INSERT INTO schema_version (version, description) VALUES (99, 'from the future')", [], databaseOf(url));
    const err = await rejection(PostgresStore.open(url, options));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe(`store ${url} has schema version 99, newer than this kubegate supports (${SCHEMA_VERSION}); upgrade kubegate`);
  });

  test('when its database goes away, calls fail as unavailable (naming the database) and close still returns', async () => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open(url, options);
    await store.createUser({ name: 'alice', groups: [], now: T0 });
    await server.query(`DROP DATABASE ${databaseOf(url)} WITH (FORCE)`);
    for (const call of [() => store.listUsers(), () => store.createGroup({ name: 'dev', now: T0 }), () => store.loadState(T0)]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err.message).toContain(`PostgreSQL store ${url} is unavailable: `);
    }
    // The LISTEN connection is retrying against a database that is gone; close stops that.
    await store.close();
  });

  test('while its database refuses connections the LISTEN connection keeps retrying, and recovers once it is back', async () => {
    const url = await server.createDatabase();
    const database = databaseOf(url);
    // The store's own log lines say when a reconnect attempt failed; the test waits for them.
    const lines: string[] = [];
    let onLine = () => {};
    const logged = (what: string, times: number) =>
      new Promise<void>((resolve) => {
        onLine = () => {
          if (lines.filter((l) => (JSON.parse(l) as { msg: string }).msg === what).length >= times) resolve();
        };
        onLine();
      });
    const logger = createLogger('store-test', { level: 'debug', sink: (line) => (lines.push(line), onLine()) });
    const store = await PostgresStore.open(url, { ...options, logger });
    const seen = recordChanges(store);
    try {
      await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      await server.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2', [LISTENER_APPLICATION_NAME, database]);
      await logged('store notification reconnect failed', 2);
      expect(seen.changes).toEqual([]);

      await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      expect(await seen.waitFor(() => true)).toEqual({ generation: 0 });
      const restored = lines.map((l) => JSON.parse(l) as { msg: string; attempts?: number }).find((l) => l.msg === 'store notification connection restored');
      expect(restored!.attempts).toBeGreaterThanOrEqual(3);
    } finally {
      await store.close();
    }
  });

  test('openStore takes postgresql:// as well; a database that does not exist is unavailable, naming it', async () => {
    const url = (await server.createDatabase()).replace(/^postgres:/, 'postgresql:');
    const store = await openStore(url, options);
    try {
      expect(store.kind).toBe('postgres');
      expect(await store.generation()).toBe(0);
    } finally {
      await store.close();
    }
    const missing = server.url('no_such_database');
    const err = await rejection(openStore(missing, options));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe(`cannot open PostgreSQL store ${missing}: database "no_such_database" does not exist`);
  });
});
