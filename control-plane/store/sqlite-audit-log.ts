/**
 * The audit log in the embedded SQLite store: the same file as the rest of kubegate's records
 * (so one backup holds both), through a connection of its own, so that its durability setting
 * and its transactions are its own.
 *
 * Durability. `append` resolves once its transaction has committed with synchronous=FULL in
 * WAL mode: SQLite has written the batch to the write-ahead log and fsync()ed it, so the
 * records survive the control plane being killed, the machine crashing and power loss alike.
 * That is what the audit promises (a request is let through only once its decision record is
 * kept), and it is why the store's own NORMAL (which survives a process crash but may lose the
 * last transactions on power loss) is not enough here. The price is one fsync per batch, which
 * is why append takes batches: a caller that group-commits many requests' records at once pays
 * it once per group. `synchronous: 'NORMAL'` trades the power-loss guarantee for speed where
 * that is acceptable.
 *
 * better-sqlite3 is synchronous: a commit (its fsync included) runs on the calling thread.
 * Long walks (verify, retention) therefore go page by page and yield to the event loop in
 * between, so they never hold it for more than a page.
 *
 * Appends are serialized by SQLite's write lock (IMMEDIATE transactions take it at BEGIN),
 * across connections and processes on the same file: each reads the chain head, appends after
 * it and moves it, with no other writer in between.
 */
import Database from 'better-sqlite3';
import type { AuditEvent, StoredAuditEvent } from '../audit/audit-event';
import { requireAuditEvent } from '../audit/audit-event-input';
import { chainAuditEvent, type ChainPoint } from '../audit/audit-hash-chain';
import { MAX_AUDIT_QUERY_LIMIT, type AuditFilter, type AuditLog, type AuditPage, type AuditPageRequest, type AuditVerification, type AuditVerifyRange, type IncompletePage, type IncompleteQuery, type RetentionPolicy, type RetentionResult } from '../audit/audit-log';
import { applyAuditRetention, removablePrefix, type RetentionTarget } from '../audit/audit-retention';
import { verifyStoredChain, type ChainSource, type ChainState } from '../audit/stored-chain-verifier';
import { silentLogger, type Logger } from '../log/logger';
import { auditPageFromRows, incompletePageFromRows, planAuditQuery, planIncompleteQuery, readLimit, verifyRange, type IncompletePlan } from './audit-query';
import { chainStateFromRow, CHAIN_STATE_SQL } from './audit-chain-row';
import { auditEventFromRow, auditRecordSize, auditValues, AUDIT_COLUMNS } from './audit-rows';
import { num, type Row } from './record-rows';
import { SqliteStatements } from './sqlite-statements';
import { migrate, UNAVAILABLE_CODES } from './sqlite-store';
import { StoreError, StoreUnavailableError } from './store';
import { requireCount, StoreInputError } from './store-input';

export interface SqliteAuditLogOptions {
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
  /** FULL: durable across power loss; NORMAL: across a crash of the process only. @default 'FULL' */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** @default silentLogger */
  readonly logger?: Logger;
}

/** How many seqs one step of `incomplete`'s walk covers: a few milliseconds of the thread. */
const INCOMPLETE_CHUNK = 5000;

/** How many seqs one step of a walk adding up sizes covers: a few milliseconds of the thread. */
const SIZE_CHUNK = 5000;

/**
 * Records measured per transaction when sizes are filled in (see measureUnsized): about 30 µs
 * each on the development machine (reading the row, its canonical JSON, the update), so a
 * chunk holds the thread for under 10 ms.
 */
const MEASURE_CHUNK = 250;

/**
 * Within (?, ?], adding the sizes up from the newest end onto what the newer records already
 * hold (the third parameter): the newest record at which the sum exceeds the limit.
 */
const NEWEST_OVER_BYTES = `SELECT seq FROM (
    SELECT seq, SUM(size_bytes) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS kept
    FROM audit_events WHERE seq > ? AND seq <= ?
  ) WHERE kept + ? > ? ORDER BY seq DESC LIMIT 1`;

const INSERT = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')})`;

export class SqliteAuditLog implements AuditLog {
  readonly kind = 'sqlite';
  private readonly statements: SqliteStatements;
  /**
   * appendBatch as an IMMEDIATE transaction, made once: better-sqlite3 builds a transaction
   * function and its variants on every db.transaction() call, which costs about as much as
   * chaining a record, and append runs once per group commit.
   */
  private readonly appendTransaction: Database.Transaction<(valid: readonly AuditEvent[]) => StoredAuditEvent[]>;
  private closed = false;

  /**
   * Opens the database file (creating it and bringing its schema up to date if needed). Any
   * failure is a StoreUnavailableError naming the file.
   */
  static async open(file: string, options: SqliteAuditLogOptions = {}): Promise<SqliteAuditLog> {
    if (typeof file !== 'string' || file.length === 0) throw new StoreUnavailableError('SQLite audit log needs a file path');
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') throw new StoreInputError(`audit log synchronous must be FULL or NORMAL, got ${String(synchronous)}`);
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch to WAL journal mode (still ${String(mode)})`);
      db.pragma(`synchronous = ${synchronous}`);
      migrate(db, file);
      const log = new SqliteAuditLog(db, file, options.logger ?? silentLogger);
      await log.measureUnsized();
      return log;
    } catch (err) {
      db?.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open SQLite audit log ${file}: ${(err as Error).message}`, (err as Error).stack);
    }
  }

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
    private readonly logger: Logger,
  ) {
    this.statements = new SqliteStatements(db);
    this.appendTransaction = db.transaction((valid: readonly AuditEvent[]) => this.appendBatch(valid));
  }

  async append(events: readonly AuditEvent[]): Promise<StoredAuditEvent[]> {
    if (!Array.isArray(events)) throw new StoreInputError('audit events must be an array');
    const valid = events.map((e, i) => requireAuditEvent(e, i));
    if (valid.length === 0) return [];
    return this.run(() => this.appendTransaction.immediate(valid));
  }

  /** One append, inside appendTransaction. */
  private appendBatch(valid: readonly AuditEvent[]): StoredAuditEvent[] {
    const { head } = this.readChain();
    let prev = head;
    const insert = this.stmt(INSERT);
    const stored = valid.map((event) => {
      const seq = prev.seq + 1;
      const { hash, sizeBytes } = chainAuditEvent(prev.hash, event);
      const record: StoredAuditEvent = { seq, prevHash: prev.hash, hash, ...event };
      // An array binds the values in order, without spreading 35 arguments into the call.
      insert.run(auditValues(record, sizeBytes));
      prev = { seq, hash };
      return record;
    });
    this.stmt('UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1').run(prev.seq, prev.hash);
    return stored;
  }

  async query(filter: AuditFilter = {}, page: AuditPageRequest = {}): Promise<AuditPage> {
    const plan = planAuditQuery(filter, page, 'sqlite');
    return this.run(() =>
      // One read transaction: the head and the rows come from the same snapshot.
      this.db.transaction(() => auditPageFromRows(plan, this.all(plan.sql, ...plan.params), this.readChain().head.seq)).deferred(),
    );
  }

  /**
   * better-sqlite3 runs on the event loop's thread, which ext_authz and the decision writes
   * share, and a report over the whole log is a walk over all of it (about half a second per
   * 600,000 records on the development machine). So, as verify does, it goes down the seqs in
   * chunks of INCOMPLETE_CHUNK and yields between them; each chunk is its own snapshot, so the
   * count and the page may differ by what was appended meanwhile. With `since`, the time index
   * first gives the seqs that hold such times, so a narrow report walks only those.
   */
  async incomplete(query: IncompleteQuery): Promise<IncompletePage> {
    const plan = planIncompleteQuery(query, 'sqlite');
    const rowsSql = `SELECT d.* FROM audit_events d WHERE ${plan.where} AND d.seq >= ? AND d.seq < ? ORDER BY d.seq DESC LIMIT ?`;
    const countSql = `SELECT COUNT(*) AS n FROM audit_events d WHERE ${plan.where} AND d.seq >= ? AND d.seq < ?`;
    const counting = plan.count !== undefined;
    const rows: Row[] = [];
    let total = 0;
    const { lo, hi: top } = this.run(() => this.incompleteRange(plan));
    let hi = top;
    while (hi > lo) {
      const from = Math.max(lo, hi - INCOMPLETE_CHUNK);
      const to = hi;
      this.run(() => {
        const need = plan.limit + 1 - rows.length;
        if (need > 0) {
          const found = this.all(rowsSql, ...plan.whereParams, from, to, need);
          rows.push(...found);
          if (found.length < need) {
            // Fewer than asked for: these are all of the chunk's.
            total += found.length;
            return;
          }
        }
        if (counting) total += num(this.get(countSql, ...plan.whereParams, from, to)?.n ?? 0);
      });
      hi = from;
      if (!counting && rows.length > plan.limit) break;
      if (hi > lo) await yieldToEventLoop();
    }
    return incompletePageFromRows(plan, rows, counting ? total : undefined);
  }

  async readFrom(afterSeq: number, limit = MAX_AUDIT_QUERY_LIMIT): Promise<StoredAuditEvent[]> {
    const after = requireCount('readFrom afterSeq', afterSeq);
    const n = readLimit(limit);
    return this.run(() => this.all('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?', after, n).map(auditEventFromRow));
  }

  async head(): Promise<ChainPoint> {
    return this.run(() => this.readChain().head);
  }

  async verify(range: AuditVerifyRange = {}): Promise<AuditVerification> {
    const source: ChainSource = {
      chainState: async () => this.run(() => this.readChain()),
      page: async (afterSeq, toSeq, limit) => {
        await yieldToEventLoop();
        return this.run(() => this.all('SELECT * FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?', afterSeq, toSeq, limit).map(auditEventFromRow));
      },
      recordBefore: async (seq) => this.run(() => point(this.get('SELECT seq, hash FROM audit_events WHERE seq < ? ORDER BY seq DESC LIMIT 1', seq))),
      seqOfHash: async (hash) => this.run(() => point(this.get('SELECT seq, hash FROM audit_events WHERE hash = ? LIMIT 1', hash))?.seq),
    };
    return verifyStoredChain(source, verifyRange(range));
  }

  async applyRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    const target: RetentionTarget = {
      chainState: async () => this.run(() => this.readChain()),
      firstSeqAtOrAfter: async (afterSeq, timeIso) =>
        this.run(() => point(this.get('SELECT seq, hash FROM audit_events WHERE seq > ? AND event_time >= ? ORDER BY seq LIMIT 1', afterSeq, timeIso))?.seq),
      newestSeqOverBytes: async (afterSeq, throughSeq, maxBytes) => {
        await this.measureUnsized();
        return (await this.sizeFromEnd(afterSeq, throughSeq, maxBytes)).overSeq;
      },
      bytesAfter: async (afterSeq) => (await this.sizeFromEnd(afterSeq, this.run(() => this.readChain()).head.seq)).bytes,
      removeThrough: async (toSeq) => {
        await yieldToEventLoop();
        return this.run(() =>
          this.db
            .transaction(() => {
              const { head, anchor } = this.readChain();
              if (anchor.seq >= toSeq) return { removed: 0, anchor };
              const records = this.all('SELECT * FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq', anchor.seq, toSeq + 1).map(auditEventFromRow);
              const prefix = removablePrefix(anchor, records, toSeq, head);
              if (prefix.count > 0) {
                this.stmt('DELETE FROM audit_events WHERE seq > ? AND seq <= ?').run(anchor.seq, prefix.last.seq);
                this.stmt('UPDATE audit_chain SET anchor_seq = ?, anchor_hash = ? WHERE id = 1').run(prefix.last.seq, prefix.last.hash);
              }
              return { removed: prefix.count, anchor: prefix.last, ...(prefix.problem && { problem: prefix.problem }) };
            })
            .immediate(),
        );
      },
    };
    const result = await applyAuditRetention(target, policy);
    if (result.removed > 0 || result.stoppedAt) this.logger.info('audit retention applied', { ...result });
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.db.close();
    this.logger.debug('sqlite audit log closed', { file: this.file });
  }

  // --- internals ---

  /**
   * Gives every record without a size (size_bytes NULL) its size, computed from the row as
   * stored: the records written before schema migration 5, which SQL alone cannot measure
   * exactly (see store/schema.ts), and any an older kubegate appended since. Runs when the log
   * opens and before each retention by size; once nothing is left, it is one probe of an
   * empty index. Chunks of MEASURE_CHUNK, each its own transaction, yielding in between.
   */
  private async measureUnsized(): Promise<void> {
    let measured = 0;
    // A read first: with nothing to measure (the usual case) no write lock is taken.
    while (this.run(() => this.get('SELECT seq FROM audit_events WHERE size_bytes IS NULL LIMIT 1')) !== undefined) {
      const count = this.run(() =>
        this.db
          .transaction(() => {
            const rows = this.all('SELECT * FROM audit_events WHERE size_bytes IS NULL ORDER BY seq LIMIT ?', MEASURE_CHUNK);
            const update = this.stmt('UPDATE audit_events SET size_bytes = ? WHERE seq = ?');
            for (const row of rows) update.run(auditRecordSize(auditEventFromRow(row)), row.seq);
            return rows.length;
          })
          .immediate(),
      );
      measured += count;
      await yieldToEventLoop();
    }
    if (measured > 0) this.logger.info('audit records measured for retention by size', { file: this.file, records: measured });
  }

  /**
   * Adds up the sizes of the records in (afterSeq, throughSeq] from the newest end, SIZE_CHUNK
   * seqs at a time and yielding in between: a single window over a large log would hold the
   * event loop (which ext_authz shares) for as long as it reads. With `maxBytes`, it stops in
   * the chunk where the sum exceeds it and returns the newest record that does not fit.
   */
  private async sizeFromEnd(afterSeq: number, throughSeq: number, maxBytes?: number): Promise<{ readonly bytes: number; readonly overSeq?: number }> {
    let bytes = 0;
    let hi = throughSeq;
    while (hi > afterSeq) {
      const lo = Math.max(afterSeq, hi - SIZE_CHUNK);
      // One snapshot for the chunk's sum and the search in it, so the search finds what the
      // sum promised even if another process removes records in between.
      const overSeq = this.run(() =>
        this.db
          .transaction(() => {
            const sum = num(this.get('SELECT COALESCE(SUM(size_bytes), 0) AS n FROM audit_events WHERE seq > ? AND seq <= ?', lo, hi)!.n);
            if (maxBytes === undefined || bytes + sum <= maxBytes) {
              bytes += sum;
              return undefined;
            }
            return num(this.get(NEWEST_OVER_BYTES, lo, hi, bytes, maxBytes)!.seq);
          })
          .deferred(),
      );
      if (overSeq !== undefined) return { bytes, overSeq };
      hi = lo;
      if (hi > afterSeq) await yieldToEventLoop();
    }
    return { bytes };
  }

  /** The seqs `incomplete` walks: [lo, hi). */
  private incompleteRange(plan: IncompletePlan): { lo: number; hi: number } {
    const { head, anchor } = this.readChain();
    let lo = anchor.seq + 1;
    let hi = Math.min(plan.beforeSeq ?? Infinity, head.seq + 1);
    if (plan.timeRange) {
      // An index-only scan of the times in range: every decision listed lies between these seqs.
      const bounds = this.get('SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM audit_events WHERE event_time >= ? AND event_time < ?', plan.timeRange.from, plan.timeRange.to);
      if (bounds?.lo === null || bounds?.lo === undefined) return { lo: 0, hi: 0 };
      lo = Math.max(lo, num(bounds.lo));
      hi = Math.min(hi, num(bounds.hi) + 1);
    }
    return { lo, hi };
  }

  private readChain(): ChainState {
    return chainStateFromRow(this.get(CHAIN_STATE_SQL), this.file);
  }

  /** Turns driver errors into the store's: a closed log or an unusable file is unavailable. */
  private run<T>(fn: () => T): T {
    if (this.closed) throw new StoreUnavailableError(`SQLite audit log ${this.file} is closed`);
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
        throw new StoreUnavailableError(`SQLite audit log ${this.file} is unavailable: ${(err as Error).message}`, code);
      }
      throw err;
    }
  }

  private stmt(sql: string): Database.Statement {
    return this.statements.stmt(sql);
  }

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.statements.get(sql, ...params);
  }

  private all(sql: string, ...params: unknown[]): Row[] {
    return this.statements.all(sql, ...params);
  }
}

function point(row: Row | undefined): ChainPoint | undefined {
  return row ? { seq: num(row.seq), hash: String(row.hash) } : undefined;
}

/** Lets I/O callbacks run between two synchronous steps of a long walk. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
