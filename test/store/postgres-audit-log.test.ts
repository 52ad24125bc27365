/**
 * The audit log on a real PostgreSQL server started for this file (one server, a fresh
 * database per test): the shared AuditLog contract, tampering done as the superuser, and what
 * only a shared database has: several replicas appending at once, and the durability setting.
 */
import { openStore } from '../../control-plane/store/open-store';
import { openAuditLog } from '../../control-plane/audit-storage/open-audit-log';
import { PostgresAuditLog } from '../../control-plane/audit-storage/postgres-audit-log';
import { MIGRATIONS, SCHEMA_VERSION_TABLE } from '../../control-plane/store/schema';
import { StoreUnavailableError } from '../../control-plane/store/store';
import { auditEvent, manyEvents, T0 } from '../audit/audit-fixtures';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { describeAuditLogContract } from './audit-log-contract';
import { rejection } from './store-contract';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

async function openOn(url: string) {
  return {
    log: await openAuditLog(url),
    sql: async (statement: string) => {
      await server.query(statement, [], databaseOf(url));
    },
    rows: (statement: string) => server.query(statement, [], databaseOf(url)),
    another: () => openAuditLog(url),
  };
}

describeAuditLogContract(
  'PostgresAuditLog',
  async () => openOn(await server.createDatabase()),
  async (version, statements) => {
    // The database as a kubegate at `version` left it: its migrations, recorded, then its rows.
    const url = await server.createDatabase();
    const database = databaseOf(url);
    await server.query(SCHEMA_VERSION_TABLE.postgres, [], database);
    for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
      await server.query(m.sql.postgres, [], database);
      await server.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [m.version, m.description], database);
    }
    for (const statement of statements) await server.query(statement, [], database);
    return openOn(url);
  },
);

describe('PostgresAuditLog replicas and durability', () => {
  test('three replicas appending many batches at once build one gapless chain that verifies', async () => {
    const url = await server.createDatabase();
    const replicas = await Promise.all([1, 2, 3].map(() => PostgresAuditLog.open(url)));
    try {
      const batches = await Promise.all(
        replicas.flatMap((log, r) => Array.from({ length: 15 }, (_, b) => log.append(manyEvents(40, (r * 15 + b) * 40)))),
      );
      const all = batches.flat().sort((a, b) => a.seq - b.seq);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 3 * 15 * 40 }, (_, i) => i + 1));
      for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
      expect(await replicas[2]!.verify()).toMatchObject({ ok: true, checked: 1800 });
      // Every event appended exactly once.
      expect(new Set(all.map((e) => e.requestId)).size).toBe(1800);
    } finally {
      await Promise.all(replicas.map((l) => l.close()));
    }
  });

  test('retention on two replicas at once removes each record once, and appends carry on meanwhile', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([PostgresAuditLog.open(url), PostgresAuditLog.open(url)]);
    try {
      await a.append(manyEvents(3000));
      const [ra, rb] = await Promise.all([a.applyRetention({ maxRecords: 1000, now: T0 }), b.applyRetention({ maxRecords: 1000, now: T0 }), b.append(manyEvents(10, 3000))]);
      expect(ra!.removed + rb!.removed).toBe(2000);
      expect(await a.verify()).toMatchObject({ ok: true, from: 2001, to: 3010, checked: 1010 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('on a server whose synchronous_commit is off (as the test server is), audit commits raise it to on for themselves', async () => {
    const url = await server.createDatabase();
    expect((await server.query<{ synchronous_commit: string }>('SHOW synchronous_commit'))[0]!.synchronous_commit).toBe('off');
    const log = await PostgresAuditLog.open(url);
    try {
      expect((log as unknown as { begin: string }).begin).toBe('BEGIN; SET LOCAL synchronous_commit TO on');
      await log.append([auditEvent()]);
    } finally {
      await log.close();
    }
    await server.query(`ALTER DATABASE ${databaseOf(url)} SET synchronous_commit = remote_apply`);
    const strong = await PostgresAuditLog.open(url);
    try {
      expect((strong as unknown as { begin: string }).begin).toBe('BEGIN');
    } finally {
      await strong.close();
    }
  });

  test('shares the database with the Store; an unreachable database is unavailable, naming it', async () => {
    const url = await server.createDatabase();
    const [store, log] = await Promise.all([openStore(url), openAuditLog(url)]);
    try {
      expect(log.kind).toBe('postgres');
      await store.createUser({ name: 'alice', groups: [], now: T0 });
      await log.append([auditEvent()]);
      expect(await store.generation()).toBe(1);
    } finally {
      await Promise.all([store.close(), log.close()]);
    }
    const missing = server.url('no_such_database');
    const err = await rejection(openAuditLog(missing));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe(`cannot open PostgreSQL audit log ${missing}: database "no_such_database" does not exist`);
  });
});
