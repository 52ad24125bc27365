/**
 * Why: the store and the audit log each open their own connection to the same SQLite file, and
 * both must set it up alike (busy timeout, WAL) and bring its schema up to date; only their
 * durability and foreign-key settings differ. One function, so the two cannot drift apart.
 */
import Database from 'better-sqlite3';
import type { Row } from './record-rows';
import { migrationsAfter, SCHEMA_VERSION_TABLE } from './schema';

export interface SqliteFileSettings {
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
  /** FULL: a commit survives power loss; NORMAL (with WAL): a crash of the process only. */
  readonly synchronous: 'FULL' | 'NORMAL';
  /** Enforce foreign keys, which SQLite leaves off by default. */
  readonly foreignKeys: boolean;
}

/** Opens (creating if needed) the file in WAL mode and runs the missing migrations; throws, with the connection closed, if any of it fails. */
export function openSqliteFile(file: string, settings: SqliteFileSettings): Database.Database {
  const db = new Database(file);
  try {
    // The busy timeout first, so that switching to WAL waits for another process's lock.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs ?? 5000))}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch to WAL journal mode (still ${String(mode)})`);
    if (settings.foreignKeys) db.pragma('foreign_keys = ON');
    db.pragma(`synchronous = ${settings.synchronous}`);
    migrate(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Runs the missing migrations in one IMMEDIATE transaction, so two openers (the store's and the audit log's connections, other processes) cannot both run them. */
export function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec(SCHEMA_VERSION_TABLE.sqlite);
    const current = Number((db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get() as Row).v);
    for (const m of migrationsAfter(current, file)) {
      db.exec(m.sql.sqlite);
      db.prepare('INSERT INTO schema_version (version, description) VALUES (?, ?)').run(m.version, m.description);
    }
  }).immediate();
}
