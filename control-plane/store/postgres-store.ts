/**
 * The store for several control-plane replicas: one PostgreSQL database shared by all. The
 * Store's operations are sql-store.ts's, shared with SQLite; this file connects, runs them on
 * a pool, and carries change notices between replicas.
 *
 * Writers: every mutating transaction starts by advancing the generation row
 * (`UPDATE meta ... RETURNING`), which row-locks it until COMMIT. That one lock serializes all
 * mutations across replicas, in the order their generations say, and since every writer takes
 * it first there is no lock-order deadlock. Each later statement (READ COMMITTED) then sees
 * everything committed before the lock was granted, so checks such as "does this user exist"
 * hold until COMMIT. Revisioned records (policy set, break-glass) are additionally updated with
 * `WHERE revision = $n`, so a stale writer is refused even without that serialization.
 *
 * Change notification: the transaction also calls pg_notify('kubegate_store', <json>), which
 * PostgreSQL delivers at COMMIT and never for a rolled-back transaction. Each replica LISTENs
 * on a dedicated connection (PostgresListener) and passes other replicas' changes to its
 * `watch` listeners; its own changes it reports directly after COMMIT (and skips their echo,
 * recognised by the instance id in the payload), so the caller's listeners have run by the
 * time the mutation resolves. After the listening connection is restored, listeners are told
 * once with the current generation, since notifications sent meanwhile are lost.
 */
import { Pool, type PoolClient } from 'pg';
import { silentLogger, type Logger } from '../log/logger';
import { PostgresEngine, STORE_CHANNEL, type ChangeMessage } from './postgres-engine';
import { describeError } from './postgres-errors';
import { PostgresListener, type ListenerBackoff } from './postgres-listener';
import { num, type Row } from './record-rows';
import { redactUrl } from './redact-url';
import { migrationsAfter, SCHEMA_VERSION_TABLE } from './schema';
import { SqlStore } from './sql-store';
import { StoreError, StoreUnavailableError } from './store';

export interface PostgresStoreOptions {
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Connections for queries; the LISTEN connection comes on top. @default 5 */
  readonly poolSize?: number;
  /** How long opening a connection may take. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Reconnect pacing of the LISTEN connection. */
  readonly listenerBackoff?: ListenerBackoff;
}

export { STORE_CHANNEL } from './postgres-engine';

/** Any number: serializes concurrent migrations of one database by several replicas. */
const MIGRATION_LOCK_KEY = 0x6b756265; // "kube"

type Db = Pick<PoolClient, 'query'>;

export class PostgresStore extends SqlStore {
  private listener: PostgresListener | undefined;

  /**
   * Connects, brings the schema up to date and starts listening. Any failure (bad URL, server
   * unreachable, authentication, missing database, a newer schema) is a StoreUnavailableError
   * naming the URL with its password masked.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const location = redactUrl(String(url));
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StoreUnavailableError(`invalid PostgreSQL URL ${location}: expected postgres://user:password@host:port/database`);
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new StoreUnavailableError(`invalid PostgreSQL URL ${location}: the scheme must be postgres:// or postgresql://`);
    }
    const logger = options.logger ?? silentLogger;
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const pool = new Pool({
      connectionString: url,
      max: options.poolSize ?? 5,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
      application_name: 'kubegate-store',
    });
    // An idle pooled connection that dies emits 'error' on the pool; unhandled, that would
    // end the process. The pool drops that connection and opens another when next needed.
    pool.on('error', (err) => logger.warn('idle store connection failed', { err, store: location }));
    const engine = new PostgresEngine({ pool, location, what: 'store', logger });
    const store = new PostgresStore(engine, location, logger);
    try {
      // A first connection on its own, so that an unreachable server, a refused login or a
      // missing database is reported as what it is.
      (await pool.connect()).release();
      await engine.transaction('BEGIN', (db) => migratePostgres(db, location, logger));
      store.listener = new PostgresListener({
        config: { connectionString: url, connectionTimeoutMillis: connectTimeoutMs },
        channel: STORE_CHANNEL,
        onNotification: (payload) => store.onNotification(payload),
        onReconnect: () => store.onListenerReconnect(),
        logger,
        backoff: options.listenerBackoff,
      });
      await store.listener.start();
    } catch (err) {
      await store.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open PostgreSQL store ${location}: ${describeError(err)}`, (err as { stack?: string }).stack);
    }
    logger.info('postgres store open', { store: location });
    return store;
  }

  private constructor(
    private readonly postgres: PostgresEngine,
    /** The URL with its password masked: safe for status pages and logs. */
    readonly location: string,
    private readonly logger: Logger,
  ) {
    super(postgres, logger);
  }

  override async close(): Promise<void> {
    this.listeners.clear();
    await this.listener?.close();
    await super.close();
  }

  private onNotification(payload: string): void {
    let message: Partial<ChangeMessage>;
    try {
      message = JSON.parse(payload) as Partial<ChangeMessage>;
    } catch {
      this.logger.warn('ignoring a store notification that is not JSON', { payload: payload.slice(0, 200) });
      return;
    }
    if (message.origin === this.postgres.instanceId) return;
    if (typeof message.generation !== 'number') {
      this.logger.warn('ignoring a store notification without a generation', { payload: payload.slice(0, 200) });
      return;
    }
    if (message.sessionActivity) this.listeners.emit({ generation: message.generation, sessionActivity: message.sessionActivity });
    else if (message.clusterSeen) this.listeners.emit({ generation: message.generation, clusterSeen: { name: message.clusterSeen.name, lastSeenAt: message.clusterSeen.lastSeenAt } });
    else this.listeners.emit({ generation: message.generation });
  }

  private onListenerReconnect(): void {
    this.generation().then(
      (generation) => this.listeners.emit({ generation }),
      (err: unknown) => this.logger.warn('cannot read the generation after reconnecting the notification connection', { err }),
    );
  }
}

/**
 * Runs the missing migrations in the caller's transaction (`db` is inside BEGIN). Shared with
 * the audit log, which has a pool of its own and may open a database first.
 */
export async function migratePostgres(db: Db, location: string, logger: Logger): Promise<void> {
  // Replicas starting together take turns; the second finds nothing left to do.
  await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  await db.query(SCHEMA_VERSION_TABLE.postgres);
  const [row] = (await db.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version')).rows as Row[];
  for (const m of migrationsAfter(num(row!.v), location)) {
    await db.query(m.sql.postgres);
    await db.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [m.version, m.description]);
    logger.info('store schema migrated', { store: location, version: m.version });
  }
}
