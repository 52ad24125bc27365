/**
 * SqliteStore on real files in a temporary directory: the shared Store contract, plus what only
 * a file database has (reopening, a schema from a newer kubegate, another connection holding
 * the write lock).
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../../control-plane/store/open-store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../control-plane/store/schema';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import { StoreUnavailableError } from '../../control-plane/store/store';
import { breakGlassRequest, describeStoreContract, HOUR, rejection, T0 } from './store-contract';
import { describeInstallTokenContract } from './install-token-contract';
import { describeClusterRegistrationContract } from './cluster-registration-contract';

let dir: string;
let files = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-sqlite-store-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
const newFile = () => path.join(dir, `store-${++files}.db`);

describeStoreContract('SqliteStore', () => openStore(`sqlite:${newFile()}`));
describeInstallTokenContract('SqliteStore', async () => {
  const file = newFile();
  return [await SqliteStore.open(file), await SqliteStore.open(file)] as const;
});
describeClusterRegistrationContract('SqliteStore', async () => {
  const file = newFile();
  return [await SqliteStore.open(file), await SqliteStore.open(file)] as const;
});

describe('SqliteStore on its file', () => {
  test('everything survives closing and reopening the file, and the generation continues from where it was', async () => {
    const file = newFile();
    const first = await SqliteStore.open(file);
    expect(first.kind).toBe('sqlite');
    await first.createGroup({ name: 'dev', now: T0 });
    await first.createUser({ name: 'alice', groups: ['dev', 'ops'], now: T0 });
    await first.recordCertificate({ serial: 'a1', user: 'alice', notBefore: T0, notAfter: T0 + 8 * HOUR, issuedAt: T0 });
    await first.revokeUser('alice', T0 + 1, 'admin');
    await first.applyPolicySet({ files: [{ fileName: 'p.yaml', text: 'kind: AccessPolicy' }], appliedAt: T0, appliedBy: 'alice', expectedRevision: 0 });
    await first.createBreakGlass(breakGlassRequest('bg-1'));
    await first.createSession({ id: 'sess', user: 'alice', now: T0 + 2 });
    const before = await first.loadState(T0 + 3);
    await first.close();

    const reopened = await SqliteStore.open(file);
    try {
      expect(await reopened.loadState(T0 + 3)).toEqual(before);
      expect(before.generation).toBe(7);
      expect(before.revokedSerials).toEqual(['a1']);
      await reopened.createGroup({ name: 'ops', now: T0 });
      expect(await reopened.generation()).toBe(8);
    } finally {
      await reopened.close();
    }
  });

  test('the live certificates a reload lists are read through their index, not a scan of every certificate', async () => {
    const file = newFile();
    await (await SqliteStore.open(file)).close();
    const raw = new Database(file, { readonly: true });
    try {
      const plan = raw.prepare('EXPLAIN QUERY PLAN SELECT * FROM certificates WHERE revoked_at IS NULL AND not_after > ? ORDER BY user_name, serial').all(0) as { detail: string }[];
      expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX certificates_live/);
    } finally {
      raw.close();
    }
  });

  test('the file is in WAL mode and its migrations ran once, however often it is opened', async () => {
    const file = newFile();
    for (let i = 0; i < 3; i++) await (await SqliteStore.open(file)).close();
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('SELECT version FROM schema_version').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      raw.close();
    }
  });

  test('a file migrated by a newer kubegate is refused, not used', async () => {
    const file = newFile();
    await (await SqliteStore.open(file)).close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_version (version, description) VALUES (99, 'from the future')").run();
    raw.close();
    const err = await rejection(SqliteStore.open(file));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe(`store ${file} has schema version 99, newer than this kubegate supports (${SCHEMA_VERSION}); upgrade kubegate`);
  });

  test('while another connection holds the write lock past the busy timeout, a mutation is unavailable and changes nothing', async () => {
    const file = newFile();
    const store = await SqliteStore.open(file, { busyTimeoutMs: 50 });
    const other = new Database(file);
    try {
      other.exec('BEGIN IMMEDIATE');
      const err = await rejection(store.createUser({ name: 'alice', groups: [], now: T0 }));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err.message).toBe(`SQLite store ${file} is unavailable: database is locked`);
      other.exec('ROLLBACK');
      await store.createUser({ name: 'alice', groups: [], now: T0 });
      expect(await store.generation()).toBe(1);
    } finally {
      other.close();
      await store.close();
    }
  });
});
