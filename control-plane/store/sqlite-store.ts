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
import type Database from 'better-sqlite3';
import { silentLogger, type Logger } from '../log/logger';
import { SqliteEngine } from './sqlite-engine';
import { openSqliteFile } from './sqlite-file';
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
      // With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
      db = openSqliteFile(file, { busyTimeoutMs: options.busyTimeoutMs, synchronous: 'NORMAL', foreignKeys: true });
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
