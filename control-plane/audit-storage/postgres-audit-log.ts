/**
 * The audit log in PostgreSQL, for several control-plane replicas appending to one chain. What
 * it shares with SQLite is sql-audit-log.ts's; here are the pool, the batch insert, the
 * retention lock and the long walks, which PostgreSQL takes in one statement each.
 *
 * Serializing appends. The chain is one sequence, so its numbering and linking must happen one
 * batch at a time whichever replica appends: every append starts with
 * `SELECT ... FROM audit_chain WHERE id = 1 FOR UPDATE`, which row-locks the chain head until
 * COMMIT. A second replica's append waits there, then reads the head the first one committed
 * (READ COMMITTED reads the latest committed row version after the wait), so seq has no gaps
 * or duplicates and each batch chains to the one before it. Batches commit in seq order, so
 * once a head is visible every event up to it is too.
 *
 * Durability. `append` resolves after COMMIT returned, i.e. once PostgreSQL has flushed the
 * commit record to its WAL on disk (and to synchronous standbys, if the server has any) —
 * provided synchronous_commit is at least `on`. Where the server or database sets it lower
 * (off, local, remote_write), the audit transactions raise it for themselves with
 * `SET LOCAL synchronous_commit TO on`; a stronger setting (remote_apply) is left alone.
 *
 * Retention takes a transaction-scoped advisory lock (replicas take turns) rather than the
 * head's row lock, so appends wait for it only for the moment it moves the anchor.
 *
 * The log has its own connection pool, so audit traffic never queues behind (or holds up) the
 * store's.
 */
import { Pool } from 'pg';
import type { IncompletePage, IncompleteQuery } from '../audit/audit-log';
import { silentLogger, type Logger } from '../log/logger';
import { incompletePageFromRows, planIncompleteQuery, type IncompletePlan } from './audit-query';
import { auditEventFromRow, auditRecordSize, AUDIT_COLUMNS, AUDIT_COLUMN_PG_TYPES } from './audit-rows';
import { PostgresEngine } from '../store/postgres-engine';
import { describeError } from '../store/postgres-errors';
import { migratePostgres } from '../store/postgres-store';
import { num } from '../store/record-rows';
import { redactUrl } from '../store/redact-url';
import { SqlAuditLog } from './sql-audit-log';
import { count, firstRow, rows, type Program } from '../store/sql-program';
import { StoreError, StoreUnavailableError } from '../store/store';

export interface PostgresAuditLogOptions {
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Connections of the audit log's own pool. @default 4 */
  readonly poolSize?: number;
  /** How long opening a connection may take. @default 10000 */
  readonly connectTimeoutMs?: number;
}

/** Any number, distinct from the store's migration lock: serializes retention across replicas. */
const RETENTION_LOCK_KEY = 0x61756474; // "audt"

/** synchronous_commit settings under which COMMIT may return before the WAL is on disk. */
const WEAKER_THAN_ON = new Set(['off', 'local', 'remote_write']);

// One statement for the whole batch however large: one array per column, unnest()ed into rows.
const INSERT_BATCH = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')})
  SELECT * FROM unnest(${AUDIT_COLUMNS.map((c) => `?::${AUDIT_COLUMN_PG_TYPES[c]}[]`).join(', ')})`;

/** Records measured per transaction when sizes are filled in (see measureUnsized). */
const MEASURE_CHUNK = 1000;

/**
 * Within (?, ?], adding the sizes up from the newest end: the newest record at which the sum
 * exceeds the third parameter. One statement: it runs on the server, reading backwards along
 * the primary key and stopping at the first record that does not fit, so it reads what is kept
 * plus one.
 */
const NEWEST_OVER_BYTES = `SELECT seq FROM (
    SELECT seq, SUM(size_bytes) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS kept
    FROM audit_events WHERE seq > ? AND seq <= ?
  ) AS sized WHERE kept > ? ORDER BY seq DESC LIMIT 1`;

export class PostgresAuditLog extends SqlAuditLog {
  /**
   * Connects and brings the schema up to date. Any failure is a StoreUnavailableError naming
   * the URL with its password masked.
   */
  static async open(url: string, options: PostgresAuditLogOptions = {}): Promise<PostgresAuditLog> {
    const location = redactUrl(String(url));
    try {
      const protocol = new URL(url).protocol;
      if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw new Error('not postgres');
    } catch {
      throw new StoreUnavailableError(`invalid PostgreSQL URL ${location}: expected postgres://user:password@host:port/database`);
    }
    const logger = options.logger ?? silentLogger;
    const pool = new Pool({
      connectionString: url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      keepAlive: true,
      application_name: 'kubegate-audit',
    });
    // As in the store: an idle connection that dies must not end the process.
    pool.on('error', (err) => logger.warn('idle audit log connection failed', { err, store: location }));
    const engine = new PostgresEngine({ pool, location, what: 'audit log', logger });
    const log = new PostgresAuditLog(engine, location, logger);
    try {
      const probe = await pool.connect();
      let setting: string;
      try {
        setting = String((await probe.query('SHOW synchronous_commit')).rows[0]?.synchronous_commit);
      } finally {
        probe.release();
      }
      if (WEAKER_THAN_ON.has(setting)) {
        engine.writeBegin = 'BEGIN; SET LOCAL synchronous_commit TO on';
        logger.info('audit log raises synchronous_commit to on for its own transactions', { store: location, serverSetting: setting });
      }
      await engine.transaction(engine.writeBegin, (db) => migratePostgres(db, location, logger));
      await log.measureUnsized();
    } catch (err) {
      await log.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open PostgreSQL audit log ${location}: ${describeError(err)}`, (err as { stack?: string }).stack);
    }
    return log;
  }

  private constructor(
    private readonly postgres: PostgresEngine,
    /** The URL with its password masked. */
    readonly location: string,
    logger: Logger,
  ) {
    super(postgres, location, logger);
  }

  /** How this log's write transactions begin: raising synchronous_commit where the server's is weaker than on. */
  private get begin(): string {
    return this.postgres.writeBegin;
  }

  /** One statement for the whole batch: one array per column. */
  protected *insertEvents(values: readonly unknown[][]): Program<void> {
    yield* count(
      INSERT_BATCH,
      AUDIT_COLUMNS.map((_, i) => values.map((v) => v[i])),
    );
  }

  /** Retention takes a transaction-scoped advisory lock rather than the head's row lock, so appends wait only while it moves the anchor. */
  protected override *retentionLock(): Program<void> {
    yield* rows('SELECT pg_advisory_xact_lock(?)', [RETENTION_LOCK_KEY]);
  }

  async incomplete(query: IncompleteQuery): Promise<IncompletePage> {
    const plan = planIncompleteQuery(query, 'postgres');
    if (!plan.count) return this.postgres.run('none', incompletePage(plan, false));
    // The count and the first page from one snapshot, so they agree however many completions
    // are ingested meanwhile.
    return this.postgres.run('snapshot', incompletePage(plan, true));
  }

  /**
   * Replicas doing it at once wait on each other's row locks and then skip the rows already
   * measured; a replica still running an older kubegate during a rolling upgrade may append
   * unsized records, hence also before each retention by size.
   */
  protected async measureUnsized(): Promise<void> {
    let measured = 0;
    for (;;) {
      const n = await this.postgres.run('write', measureChunk());
      measured += n;
      // Not `n < MEASURE_CHUNK`: rows another replica measured while this one waited drop out of a chunk.
      if (n === 0) break;
    }
    if (measured > 0) this.logger.info('audit records measured for retention by size', { store: this.location, records: measured });
  }

  protected async newestSeqOverBytes(afterSeq: number, throughSeq: number, maxBytes: number): Promise<number | undefined> {
    const row = await this.postgres.run('none', firstRow(NEWEST_OVER_BYTES, [afterSeq, throughSeq, maxBytes]));
    return row ? num(row.seq) : undefined;
  }

  protected async bytesAfter(afterSeq: number): Promise<number> {
    return num((await this.postgres.run('none', firstRow('SELECT COALESCE(SUM(size_bytes), 0)::bigint AS n FROM audit_events WHERE seq > ?', [afterSeq])))!.n);
  }
}

/** The page, and with `counting` how many match in all: a first page that holds them all is its own count, only a longer report is counted. */
function* incompletePage(plan: IncompletePlan, counting: boolean): Program<IncompletePage> {
  const page = yield* rows(plan.sql, plan.params);
  if (!counting || !plan.count) return incompletePageFromRows(plan, page);
  const total = page.length <= plan.limit ? page.length : num((yield* firstRow(plan.count.sql, plan.count.params))?.n ?? 0);
  return incompletePageFromRows(plan, page, total);
}

/** Sizes up to MEASURE_CHUNK unsized records, locking them; how many. */
function* measureChunk(): Program<number> {
  const found = yield* rows('SELECT * FROM audit_events WHERE size_bytes IS NULL ORDER BY seq LIMIT ? FOR UPDATE', [MEASURE_CHUNK]);
  if (found.length > 0) {
    yield* count('UPDATE audit_events AS e SET size_bytes = m.size FROM unnest(?::bigint[], ?::bigint[]) AS m (seq, size) WHERE e.seq = m.seq', [
      found.map((r) => num(r.seq)),
      found.map((r) => auditRecordSize(auditEventFromRow(r))),
    ]);
  }
  return found.length;
}
