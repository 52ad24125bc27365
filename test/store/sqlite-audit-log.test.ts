/**
 * The audit log on a SQLite file: the shared AuditLog contract, tampering done through a
 * second connection to the file, and what only the embedded store has (its durability
 * setting, sharing the file with the Store, reopening).
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../../control-plane/store/open-store';
import { openAuditLog } from '../../control-plane/audit-storage/open-audit-log';
import { MIGRATIONS, SCHEMA_VERSION_TABLE } from '../../control-plane/store/schema';
import { SqliteAuditLog } from '../../control-plane/audit-storage/sqlite-audit-log';
import { StoreUnavailableError } from '../../control-plane/store/store';
import { auditEvent, manyEvents, T0 } from '../audit/audit-fixtures';
import { describeAuditLogContract } from './audit-log-contract';
import { rejection } from './store-contract';

let dir: string;
let files = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-sqlite-audit-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
const newFile = () => path.join(dir, `audit-${++files}.db`);

function tamper(file: string) {
  return async (statement: string) => {
    const db = new Database(file);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  };
}

function rowsOf(file: string) {
  return async (statement: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(statement).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };
}

async function openOn(file: string) {
  return { log: await openAuditLog(`sqlite:${file}`), sql: tamper(file), rows: rowsOf(file), another: () => openAuditLog(file) };
}

describeAuditLogContract(
  'SqliteAuditLog',
  () => openOn(newFile()),
  async (version, statements) => {
    // The file as a kubegate at `version` left it: its migrations, recorded, then its rows.
    const file = newFile();
    const db = new Database(file);
    try {
      db.exec(SCHEMA_VERSION_TABLE.sqlite);
      for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
        db.exec(m.sql.sqlite);
        db.prepare('INSERT INTO schema_version (version, description) VALUES (?, ?)').run(m.version, m.description);
      }
      for (const statement of statements) db.exec(statement);
    } finally {
      db.close();
    }
    return openOn(file);
  },
);

describe('SqliteAuditLog on its file', () => {
  test('shares the store file: the Store and the audit log open the same database, in either order', async () => {
    const file = newFile();
    const log = await openAuditLog(`sqlite:${file}`);
    const store = await openStore(`sqlite:${file}`);
    try {
      await store.createUser({ name: 'alice', groups: [], now: T0 });
      await log.append([auditEvent()]);
      expect(log.kind).toBe('sqlite');
      expect(await store.generation()).toBe(1);
      expect(await log.head()).toMatchObject({ seq: 1 });
    } finally {
      await log.close();
      await store.close();
    }
  });

  test('commits with synchronous=FULL by default (fsync per batch), NORMAL when asked', async () => {
    const file = newFile();
    const full = await SqliteAuditLog.open(file);
    const normal = await SqliteAuditLog.open(file, { synchronous: 'NORMAL' });
    try {
      const pragma = (log: SqliteAuditLog) => (log as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
      expect(pragma(full)).toBe(2);
      expect(pragma(normal)).toBe(1);
      expect((full as unknown as { db: Database.Database }).db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      await full.close();
      await normal.close();
    }
  });

  test('everything survives closing and reopening, and the chain continues where it was', async () => {
    const file = newFile();
    const first = await SqliteAuditLog.open(file);
    await first.append(manyEvents(10));
    await first.applyRetention({ maxRecords: 6, now: T0 });
    const head = await first.head();
    await first.close();
    const reopened = await SqliteAuditLog.open(file);
    try {
      expect(await reopened.head()).toEqual(head);
      const [next] = await reopened.append([auditEvent()]);
      expect(next).toMatchObject({ seq: 11, prevHash: head.hash });
      expect(await reopened.verify()).toMatchObject({ ok: true, from: 5, to: 11, checked: 7 });
    } finally {
      await reopened.close();
    }
  });

  test('a closed log, and a file that cannot be opened, are unavailable', async () => {
    const log = await SqliteAuditLog.open(newFile());
    await log.close();
    const closed = await rejection(log.append([auditEvent()]));
    expect(closed).toBeInstanceOf(StoreUnavailableError);
    expect(closed.message).toMatch(/^SQLite audit log .* is closed$/);
    const missing = path.join(dir, 'no-such-dir', 'audit.db');
    const err = await rejection(openAuditLog(missing));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(new RegExp(`^cannot open SQLite audit log ${missing}: `));
    expect((await rejection(openAuditLog('mysql://db/kubegate'))).message).toBe('store URL mysql://db/kubegate has an unsupported scheme: use sqlite:<path>, a file path, or postgres://user:password@host:port/database');
  });
});
