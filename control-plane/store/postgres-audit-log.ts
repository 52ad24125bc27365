/**
 * The audit log in PostgreSQL, for several control-plane replicas appending to one chain.
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
import { Pool, type PoolClient } from 'pg';
import type { AuditEvent, StoredAuditEvent } from '../audit/audit-event';
import { requireAuditEvent } from '../audit/audit-event-input';
import { chainAuditEvent, type ChainPoint } from '../audit/audit-hash-chain';
import { MAX_AUDIT_QUERY_LIMIT, type AuditFilter, type AuditLog, type AuditPage, type AuditPageRequest, type AuditVerification, type AuditVerifyRange, type IncompletePage, type IncompleteQuery, type RetentionPolicy, type RetentionResult } from '../audit/audit-log';
import { applyAuditRetention, removablePrefix, type RetentionTarget } from '../audit/audit-retention';
import { verifyStoredChain, type ChainSource } from '../audit/stored-chain-verifier';
import { silentLogger, type Logger } from '../log/logger';
import { chainStateFromRow, CHAIN_STATE_SQL } from './audit-chain-row';
import { auditPageFromRows, incompletePageFromRows, planAuditQuery, planIncompleteQuery, readLimit, verifyRange } from './audit-query';
import { auditEventFromRow, auditRecordSize, auditValues, AUDIT_COLUMNS, AUDIT_COLUMN_PG_TYPES } from './audit-rows';
import { describeError, isConnectionError, sqlState } from './postgres-errors';
import { runPgTransaction } from './postgres-transaction';
import { migratePostgres } from './postgres-store';
import { num, type Row } from './record-rows';
import { redactUrl } from './redact-url';
import { StoreError, StoreUnavailableError } from './store';
import { requireCount, StoreInputError } from './store-input';

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
  SELECT * FROM unnest(${AUDIT_COLUMNS.map((c, i) => `$${i + 1}::${AUDIT_COLUMN_PG_TYPES[c]}[]`).join(', ')})`;

type Db = Pick<PoolClient, 'query'>;

/** Records measured per transaction when sizes are filled in (see measureUnsized). */
const MEASURE_CHUNK = 1000;

/**
 * Within ($1, $2], adding the sizes up from the newest end: the newest record at which the sum
 * exceeds $3. One statement: it runs on the server, reading backwards along the primary key
 * and stopping at the first record that does not fit, so it reads what is kept plus one.
 */
const NEWEST_OVER_BYTES = `SELECT seq FROM (
    SELECT seq, SUM(size_bytes) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS kept
    FROM audit_events WHERE seq > $1 AND seq <= $2
  ) AS sized WHERE kept > $3 ORDER BY seq DESC LIMIT 1`;

/** Several reads that must see one snapshot (READ COMMITTED gives each statement its own). */
const SNAPSHOT_READ = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export class PostgresAuditLog implements AuditLog {
  readonly kind = 'postgres';
  /** The URL with its password masked. */
  readonly location: string;
  private closed = false;
  private begin = 'BEGIN';

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
    const log = new PostgresAuditLog(pool, location, logger);
    try {
      const probe = await pool.connect();
      let setting: string;
      try {
        setting = String((await probe.query('SHOW synchronous_commit')).rows[0]?.synchronous_commit);
      } finally {
        probe.release();
      }
      if (WEAKER_THAN_ON.has(setting)) {
        log.begin = 'BEGIN; SET LOCAL synchronous_commit TO on';
        logger.info('audit log raises synchronous_commit to on for its own transactions', { store: location, serverSetting: setting });
      }
      await log.transaction((db) => migratePostgres(db, location, logger));
      await log.measureUnsized();
    } catch (err) {
      await log.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open PostgreSQL audit log ${location}: ${describeError(err)}`, (err as { stack?: string }).stack);
    }
    return log;
  }

  private constructor(
    private readonly pool: Pool,
    location: string,
    private readonly logger: Logger,
  ) {
    this.location = location;
  }

  async append(events: readonly AuditEvent[]): Promise<StoredAuditEvent[]> {
    if (!Array.isArray(events)) throw new StoreInputError('audit events must be an array');
    const valid = events.map((e, i) => requireAuditEvent(e, i));
    if (valid.length === 0) return [];
    return this.transaction(async (db) => {
      // The row lock that serializes appends across replicas (see the top of the file).
      const { head } = chainStateFromRow((await rows(db, `${CHAIN_STATE_SQL} FOR UPDATE`))[0], this.location);
      let prev = head;
      const columns: unknown[][] = AUDIT_COLUMNS.map(() => []);
      const stored = valid.map((event) => {
        const seq = prev.seq + 1;
        const { hash, sizeBytes } = chainAuditEvent(prev.hash, event);
        const record: StoredAuditEvent = { seq, prevHash: prev.hash, hash, ...event };
        auditValues(record, sizeBytes).forEach((v, i) => columns[i]!.push(v));
        prev = { seq, hash };
        return record;
      });
      await db.query(INSERT_BATCH, columns);
      await db.query('UPDATE audit_chain SET head_seq = $1, head_hash = $2 WHERE id = 1', [prev.seq, prev.hash]);
      return stored;
    });
  }

  async query(filter: AuditFilter = {}, page: AuditPageRequest = {}): Promise<AuditPage> {
    const plan = planAuditQuery(filter, page, 'postgres');
    return this.read(async (db) => {
      // The head first: every event up to it is committed, so the rows read next include them.
      const { head } = await this.chainState(db);
      return auditPageFromRows(plan, await rows(db, plan.sql, [...plan.params]), head.seq);
    });
  }

  async incomplete(query: IncompleteQuery): Promise<IncompletePage> {
    const plan = planIncompleteQuery(query, 'postgres');
    const { count } = plan;
    if (!count) return this.read(async (db) => incompletePageFromRows(plan, await rows(db, plan.sql, [...plan.params])));
    // The count and the first page from one snapshot, so they agree however many completions
    // are ingested meanwhile.
    return this.transaction(async (db) => {
      const page = await rows(db, plan.sql, [...plan.params]);
      // A first page that holds them all is its own count; only a longer report is counted.
      const total = page.length <= plan.limit ? page.length : num((await rows(db, count.sql, [...count.params]))[0]?.n ?? 0);
      return incompletePageFromRows(plan, page, total);
    }, SNAPSHOT_READ);
  }

  async readFrom(afterSeq: number, limit = MAX_AUDIT_QUERY_LIMIT): Promise<StoredAuditEvent[]> {
    const after = requireCount('readFrom afterSeq', afterSeq);
    const n = readLimit(limit);
    return this.read(async (db) => (await rows(db, 'SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, n])).map(auditEventFromRow));
  }

  async head(): Promise<ChainPoint> {
    return this.read(async (db) => (await this.chainState(db)).head);
  }

  async verify(range: AuditVerifyRange = {}): Promise<AuditVerification> {
    const checkedRange = verifyRange(range);
    const source: ChainSource = {
      chainState: () => this.read((db) => this.chainState(db)),
      page: (afterSeq, toSeq, limit) =>
        this.read(async (db) => (await rows(db, 'SELECT * FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3', [afterSeq, toSeq, limit])).map(auditEventFromRow)),
      recordBefore: (seq) => this.read(async (db) => point((await rows(db, 'SELECT seq, hash FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT 1', [seq]))[0])),
      seqOfHash: (hash) => this.read(async (db) => point((await rows(db, 'SELECT seq, hash FROM audit_events WHERE hash = $1 LIMIT 1', [hash]))[0])?.seq),
    };
    return verifyStoredChain(source, checkedRange);
  }

  async applyRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    const target: RetentionTarget = {
      chainState: () => this.read((db) => this.chainState(db)),
      firstSeqAtOrAfter: (afterSeq, timeIso) =>
        this.read(async (db) => point((await rows(db, 'SELECT seq, hash FROM audit_events WHERE seq > $1 AND event_time >= $2 ORDER BY seq LIMIT 1', [afterSeq, timeIso]))[0])?.seq),
      newestSeqOverBytes: async (afterSeq, throughSeq, maxBytes) => {
        await this.measureUnsized();
        const [row] = await this.read((db) => rows(db, NEWEST_OVER_BYTES, [afterSeq, throughSeq, maxBytes]));
        return row ? num(row.seq) : undefined;
      },
      bytesAfter: async (afterSeq) => {
        const [row] = await this.read((db) => rows(db, 'SELECT COALESCE(SUM(size_bytes), 0)::bigint AS n FROM audit_events WHERE seq > $1', [afterSeq]));
        return num(row!.n);
      },
      removeThrough: (toSeq) =>
        this.transaction(async (db) => {
          await db.query('SELECT pg_advisory_xact_lock($1)', [RETENTION_LOCK_KEY]);
          const { head, anchor } = await this.chainState(db);
          if (anchor.seq >= toSeq) return { removed: 0, anchor };
          const records = (await rows(db, 'SELECT * FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq', [anchor.seq, toSeq + 1])).map(auditEventFromRow);
          const prefix = removablePrefix(anchor, records, toSeq, head);
          if (prefix.count > 0) {
            await db.query('DELETE FROM audit_events WHERE seq > $1 AND seq <= $2', [anchor.seq, prefix.last.seq]);
            await db.query('UPDATE audit_chain SET anchor_seq = $1, anchor_hash = $2 WHERE id = 1', [prefix.last.seq, prefix.last.hash]);
          }
          return { removed: prefix.count, anchor: prefix.last, ...(prefix.problem && { problem: prefix.problem }) };
        }),
    };
    const result = await applyAuditRetention(target, policy);
    if (result.removed > 0 || result.stoppedAt) this.logger.info('audit retention applied', { ...result });
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch((err: unknown) => this.logger.warn('closing audit log pool failed', { err }));
    this.logger.debug('postgres audit log closed', { store: this.location });
  }

  // --- internals ---

  /**
   * Gives every record without a size (size_bytes NULL) its size, computed from the row as
   * stored: the records written before schema migration 5, which SQL alone cannot measure
   * exactly (see store/schema.ts), and any a replica still running an older kubegate appends
   * during a rolling upgrade. Runs when the log opens and before each retention by size; once
   * nothing is left, it is one probe of an empty index. Replicas doing it at once wait on each
   * other's row locks and then skip the rows already measured.
   */
  private async measureUnsized(): Promise<void> {
    let measured = 0;
    for (;;) {
      const count = await this.transaction(async (db) => {
        const found = await rows(db, 'SELECT * FROM audit_events WHERE size_bytes IS NULL ORDER BY seq LIMIT $1 FOR UPDATE', [MEASURE_CHUNK]);
        if (found.length > 0) {
          await db.query('UPDATE audit_events AS e SET size_bytes = m.size FROM unnest($1::bigint[], $2::bigint[]) AS m (seq, size) WHERE e.seq = m.seq', [
            found.map((r) => num(r.seq)),
            found.map((r) => auditRecordSize(auditEventFromRow(r))),
          ]);
        }
        return found.length;
      });
      measured += count;
      // Not `count < MEASURE_CHUNK`: rows another replica measured while this one waited drop out of a chunk.
      if (count === 0) break;
    }
    if (measured > 0) this.logger.info('audit records measured for retention by size', { store: this.location, records: measured });
  }

  private async chainState(db: Db) {
    return chainStateFromRow((await rows(db, CHAIN_STATE_SQL))[0], this.location);
  }

  private async read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn(this.pool);
    } catch (err) {
      throw this.translate(err);
    }
  }

  private async transaction<T>(fn: (db: Db) => Promise<T>, begin = this.begin): Promise<T> {
    this.assertOpen();
    return runPgTransaction(this.pool, begin, fn, (err) => this.translate(err));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError(`PostgreSQL audit log ${this.location} is closed`);
  }

  private translate(err: unknown): unknown {
    if (err instanceof StoreError) return err;
    if (isConnectionError(err)) return new StoreUnavailableError(`PostgreSQL audit log ${this.location} is unavailable: ${describeError(err)}`, sqlState(err) ?? (err as { code?: string }).code);
    return err;
  }
}

async function rows(db: Db, sql: string, params: unknown[] = []): Promise<Row[]> {
  return (await db.query(sql, params)).rows as Row[];
}

function point(row: Row | undefined): ChainPoint | undefined {
  return row ? { seq: num(row.seq), hash: String(row.hash) } : undefined;
}
