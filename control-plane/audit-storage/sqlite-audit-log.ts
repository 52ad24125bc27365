/**
 * The audit log in the embedded SQLite store: the same file as the rest of kubegate's records
 * (so one backup holds both), through a connection of its own, so that its durability setting
 * and its transactions are its own. What it shares with PostgreSQL is sql-audit-log.ts's; here
 * are the file, the insert and the long walks SQLite takes in chunks.
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
import type Database from 'better-sqlite3';
import type { IncompletePage, IncompleteQuery } from '../audit/audit-log';
import { silentLogger, type Logger } from '../log/logger';
import { incompletePageFromRows, planIncompleteQuery, type IncompletePlan } from './audit-query';
import { auditEventFromRow, auditRecordSize, AUDIT_COLUMNS } from './audit-rows';
import { num, type Row } from '../store/record-rows';
import { SqlAuditLog, yieldToEventLoop } from './sql-audit-log';
import { count, firstRow, rows, type Program } from '../store/sql-program';
import { SqliteEngine } from '../store/sqlite-engine';
import { openSqliteFile } from '../store/sqlite-file';
import { StoreError, StoreUnavailableError } from '../store/store';
import { StoreInputError } from '../store/store-input';

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

export class SqliteAuditLog extends SqlAuditLog {
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
      db = openSqliteFile(file, { busyTimeoutMs: options.busyTimeoutMs, synchronous, foreignKeys: false });
      const logger = options.logger ?? silentLogger;
      const log = new SqliteAuditLog(new SqliteEngine({ db, file, what: 'audit log', logger }), db, file, logger);
      await log.measureUnsized();
      return log;
    } catch (err) {
      db?.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open SQLite audit log ${file}: ${(err as Error).message}`, (err as Error).stack);
    }
  }

  private constructor(
    private readonly sqlite: SqliteEngine,
    /** The connection the engine runs on; its pragmas (WAL, synchronous) are this log's own. */
    private readonly db: Database.Database,
    readonly file: string,
    logger: Logger,
  ) {
    super(sqlite, file, logger);
  }

  /** One statement per record, prepared once: SQLite runs them in process, so a batch statement would save nothing. */
  protected *insertEvents(values: readonly unknown[][]): Program<void> {
    for (const v of values) yield* count(INSERT, v);
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
    const counting = plan.count !== undefined;
    const found: Row[] = [];
    let total = 0;
    const { lo, hi: top } = this.sqlite.runNow('none', this.incompleteRange(plan));
    let hi = top;
    while (hi > lo) {
      const from = Math.max(lo, hi - INCOMPLETE_CHUNK);
      const chunk = this.sqlite.runNow('none', incompleteChunk(plan, from, hi, plan.limit + 1 - found.length, counting));
      found.push(...chunk.rows);
      total += chunk.total;
      hi = from;
      if (!counting && found.length > plan.limit) break;
      if (hi > lo) await yieldToEventLoop();
    }
    return incompletePageFromRows(plan, found, counting ? total : undefined);
  }

  /**
   * Chunks of MEASURE_CHUNK, each its own transaction, yielding in between. A read first: with
   * nothing to measure (the usual case) no write lock is taken.
   */
  protected async measureUnsized(): Promise<void> {
    let measured = 0;
    while (this.sqlite.runNow('none', firstRow('SELECT seq FROM audit_events WHERE size_bytes IS NULL LIMIT 1')) !== undefined) {
      measured += this.sqlite.runNow('write', measureChunk());
      await yieldToEventLoop();
    }
    if (measured > 0) this.logger.info('audit records measured for retention by size', { file: this.file, records: measured });
  }

  protected async newestSeqOverBytes(afterSeq: number, throughSeq: number, maxBytes: number): Promise<number | undefined> {
    return (await this.sizeFromEnd(afterSeq, throughSeq, maxBytes)).overSeq;
  }

  protected async bytesAfter(afterSeq: number): Promise<number> {
    return (await this.sizeFromEnd(afterSeq, (await this.readChain()).head.seq)).bytes;
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
      const chunk = this.sqlite.runNow('snapshot', sizeChunk(lo, hi, bytes, maxBytes));
      if (chunk.overSeq !== undefined) return { bytes, overSeq: chunk.overSeq };
      bytes += chunk.sum;
      hi = lo;
      if (hi > afterSeq) await yieldToEventLoop();
    }
    return { bytes };
  }

  /** The seqs `incomplete` walks: [lo, hi). */
  private *incompleteRange(plan: IncompletePlan): Program<{ lo: number; hi: number }> {
    const { head, anchor } = yield* this.chainState();
    let lo = anchor.seq + 1;
    let hi = Math.min(plan.beforeSeq ?? Infinity, head.seq + 1);
    if (plan.timeRange) {
      // An index-only scan of the times in range: every decision listed lies between these seqs.
      const bounds = yield* firstRow('SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM audit_events WHERE event_time >= ? AND event_time < ?', [plan.timeRange.from, plan.timeRange.to]);
      if (bounds?.lo === null || bounds?.lo === undefined) return { lo: 0, hi: 0 };
      lo = Math.max(lo, num(bounds.lo));
      hi = Math.min(hi, num(bounds.hi) + 1);
    }
    return { lo, hi };
  }
}

/** One chunk [from, to) of `incomplete`'s walk: up to `need` rows, newest first, and how many match in it when counting. */
function* incompleteChunk(plan: IncompletePlan, from: number, to: number, need: number, counting: boolean): Program<{ rows: Row[]; total: number }> {
  let found: Row[] = [];
  if (need > 0) {
    found = yield* rows(`SELECT d.* FROM audit_events d WHERE ${plan.where} AND d.seq >= ? AND d.seq < ? ORDER BY d.seq DESC LIMIT ?`, [...plan.whereParams, from, to, need]);
    // Fewer than asked for: these are all of the chunk's.
    if (found.length < need) return { rows: found, total: found.length };
  }
  if (!counting) return { rows: found, total: 0 };
  const counted = yield* firstRow(`SELECT COUNT(*) AS n FROM audit_events d WHERE ${plan.where} AND d.seq >= ? AND d.seq < ?`, [...plan.whereParams, from, to]);
  return { rows: found, total: num(counted?.n ?? 0) };
}

/** Sizes MEASURE_CHUNK unsized records; how many. */
function* measureChunk(): Program<number> {
  const unsized = yield* rows('SELECT * FROM audit_events WHERE size_bytes IS NULL ORDER BY seq LIMIT ?', [MEASURE_CHUNK]);
  for (const row of unsized) yield* count('UPDATE audit_events SET size_bytes = ? WHERE seq = ?', [auditRecordSize(auditEventFromRow(row)), row.seq]);
  return unsized.length;
}

/** The sizes in (lo, hi] added up or, when they exceed `maxBytes` on top of the `bytes` newer records hold, the newest record that does not fit. */
function* sizeChunk(lo: number, hi: number, bytes: number, maxBytes: number | undefined): Program<{ sum: number; overSeq?: number }> {
  const sum = num((yield* firstRow('SELECT COALESCE(SUM(size_bytes), 0) AS n FROM audit_events WHERE seq > ? AND seq <= ?', [lo, hi]))!.n);
  if (maxBytes === undefined || bytes + sum <= maxBytes) return { sum };
  return { sum, overSeq: num((yield* firstRow(NEWEST_OVER_BYTES, [lo, hi, bytes, maxBytes]))!.seq) };
}
