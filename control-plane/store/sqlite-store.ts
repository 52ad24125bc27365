/**
 * The embedded store: one SQLite file, for a single control plane. The Store's operations are
 * sql-store.ts's, shared with PostgreSQL; this file opens the file and runs them on it.
 *
 * better-sqlite3 is synchronous; SQLite answers from the page cache in microseconds and the
 * store is never on the request path (ext_authz reads the in-memory view), so a blocking call
 * costs less than a thread hop would. A whole operation, its transaction included, runs within
 * the calling tick (sqlite-engine.ts); the methods are still async to honour the Store
 * contract.
 *
 * The file runs in WAL mode (readers never wait for the writer), with a busy timeout so a
 * second process on the same file (a CLI, a backup) waits for the lock instead of failing, and
 * with foreign keys enforced, which SQLite leaves off by default. Write transactions are
 * IMMEDIATE: they take the write lock at BEGIN, so two writers never both read and then
 * deadlock on upgrading to write.
 *
 * `watch` is in-process only: listeners of this instance run after its own commits.
 */
import Database from 'better-sqlite3';
import { silentLogger, type Logger } from '../log/logger';
import type { Row } from './record-rows';
import { migrationsAfter, SCHEMA_VERSION_TABLE } from './schema';
import { SqliteEngine } from './sqlite-engine';
import { SqlStore } from './sql-store';
import { StoreError, StoreUnavailableError } from './store';

export interface SqliteStoreOptions {
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

export class SqliteStore extends SqlStore {
  /**
   * Opens (creating if needed) the database file and brings its schema up to date. Any failure
   * (missing directory, not a database, a newer schema, no permission) is a
   * StoreUnavailableError naming the file.
   */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (typeof file !== 'string' || file.length === 0) throw new StoreUnavailableError('SQLite store needs a file path');
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      // The busy timeout first, so that switching to WAL waits for another process's lock.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch to WAL journal mode (still ${String(mode)})`);
      db.pragma('foreign_keys = ON');
      // With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
      db.pragma('synchronous = NORMAL');
      migrate(db, file);
      const logger = options.logger ?? silentLogger;
      return new SqliteStore(new SqliteEngine({ db, file, what: 'store', logger }), file, logger);
    } catch (err) {
      db?.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open SQLite store ${file}: ${(err as Error).message}`, (err as Error).stack);
    }
  }

  private constructor(
    engine: SqliteEngine,
    readonly file: string,
    logger: Logger,
  ) {
    super(engine, logger);
  }
}

/** Runs the missing migrations in one IMMEDIATE transaction, so two openers cannot both run them (the audit log opens its own connection and runs them too). */
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
