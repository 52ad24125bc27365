/**
 * Why: the audit log's operations that are the same on SQLite and PostgreSQL (appending a batch
 * to the hash chain, paging, reading from a seq, verifying, removing a prefix for retention),
 * written once as programs (sql-program.ts) that each database's engine runs. What differs for
 * good reasons stays in sqlite-audit-log.ts and postgres-audit-log.ts: how a batch is inserted,
 * and the long walks (incomplete requests, sizes for retention), which SQLite, sharing the event
 * loop's thread with ext_authz, takes in chunks that yield, and PostgreSQL in one statement.
 *
 * Appends take turns: every append first reads the chain head inside its write transaction,
 * which on SQLite holds the file's write lock (IMMEDIATE) and on PostgreSQL row-locks the head
 * (FOR UPDATE) until COMMIT, so seq has no gaps or duplicates and each batch chains to the one
 * before it, whichever process or replica appends.
 */
import type { AuditEvent, StoredAuditEvent } from '../audit/audit-event';
import { requireAuditEvent } from '../audit/audit-event-input';
import { chainAuditEvent, type ChainPoint } from '../audit/audit-hash-chain';
import { MAX_AUDIT_QUERY_LIMIT, type AuditFilter, type AuditLog, type AuditPage, type AuditPageRequest, type AuditVerification, type AuditVerifyRange, type IncompletePage, type IncompleteQuery, type RetentionPolicy, type RetentionResult } from '../audit/audit-log';
import { applyAuditRetention, removablePrefix, type RetentionTarget } from '../audit/audit-retention';
import { verifyStoredChain, type ChainSource, type ChainState } from '../audit/stored-chain-verifier';
import type { Logger } from '../log/logger';
import { chainStateFromRow, CHAIN_STATE_SQL } from './audit-chain-row';
import { auditPageFromRows, planAuditQuery, readLimit, verifyRange, type AuditQueryPlan } from './audit-query';
import { auditEventFromRow, auditValues } from './audit-rows';
import { num, type Row } from '../store/record-rows';
import { DIALECT_SQL, type SqlEngine } from '../store/sql-engine';
import { count, firstRow, rows, type Program } from '../store/sql-program';
import { requireCount, StoreInputError } from '../store/store-input';

export abstract class SqlAuditLog implements AuditLog {
  /** 'sqlite' or 'postgres'. */
  readonly kind: string;

  protected constructor(
    private readonly engine: SqlEngine,
    /** The file or the masked URL, as messages name the database. */
    private readonly database: string,
    protected readonly logger: Logger,
  ) {
    this.kind = engine.dialect;
  }

  abstract incomplete(query: IncompleteQuery): Promise<IncompletePage>;

  /** Inserts the rows of a batch (each in AUDIT_COLUMNS order), inside append's transaction. */
  protected abstract insertEvents(values: readonly unknown[][]): Program<void>;

  /**
   * Gives every record without a size (size_bytes NULL) its size, computed from the row as
   * stored: the records written before schema migration 5, which SQL alone cannot measure
   * exactly (see store/schema.ts), and any an older kubegate appended since. Runs when the log
   * opens and before each retention by size; once nothing is left, it is one probe of an empty
   * index.
   */
  protected abstract measureUnsized(): Promise<void>;

  /** Within (afterSeq, throughSeq], adding the sizes up from the newest end: the newest record at which the sum exceeds maxBytes. */
  protected abstract newestSeqOverBytes(afterSeq: number, throughSeq: number, maxBytes: number): Promise<number | undefined>;

  /** The sizes of the records after afterSeq, added up. */
  protected abstract bytesAfter(afterSeq: number): Promise<number>;

  /** Statements that make retention's removals take turns across replicas, run first in their transaction. */
  protected *retentionLock(): Program<void> {}

  async append(events: readonly AuditEvent[]): Promise<StoredAuditEvent[]> {
    if (!Array.isArray(events)) throw new StoreInputError('audit events must be an array');
    const valid = events.map((e, i) => requireAuditEvent(e, i));
    if (valid.length === 0) return [];
    return this.engine.run('write', this.appendBatch(valid));
  }

  private *appendBatch(valid: readonly AuditEvent[]): Program<StoredAuditEvent[]> {
    // The head, locked until COMMIT (see the top of the file).
    const { head } = chainStateFromRow(yield* firstRow(`${CHAIN_STATE_SQL}${DIALECT_SQL[this.engine.dialect].forUpdate}`), this.database);
    let prev = head;
    const values: unknown[][] = [];
    const stored = valid.map((event) => {
      const seq = prev.seq + 1;
      const { hash, sizeBytes } = chainAuditEvent(prev.hash, event);
      const record: StoredAuditEvent = { seq, prevHash: prev.hash, hash, ...event };
      values.push(auditValues(record, sizeBytes));
      prev = { seq, hash };
      return record;
    });
    yield* this.insertEvents(values);
    yield* count('UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1', [prev.seq, prev.hash]);
    return stored;
  }

  async query(filter: AuditFilter = {}, page: AuditPageRequest = {}): Promise<AuditPage> {
    const plan = planAuditQuery(filter, page, this.engine.dialect);
    // One snapshot, the head first: every event up to it is committed, so the rows include them.
    return this.engine.run('snapshot', this.page(plan));
  }

  private *page(plan: AuditQueryPlan): Program<AuditPage> {
    const { head } = yield* this.chainState();
    return auditPageFromRows(plan, yield* rows(plan.sql, plan.params), head.seq);
  }

  async readFrom(afterSeq: number, limit = MAX_AUDIT_QUERY_LIMIT): Promise<StoredAuditEvent[]> {
    const after = requireCount('readFrom afterSeq', afterSeq);
    const n = readLimit(limit);
    return this.engine.run('none', events('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?', [after, n]));
  }

  async head(): Promise<ChainPoint> {
    return (await this.readChain()).head;
  }

  async verify(range: AuditVerifyRange = {}): Promise<AuditVerification> {
    const checkedRange = verifyRange(range);
    const source: ChainSource = {
      chainState: () => this.readChain(),
      page: async (afterSeq, toSeq, limit) => {
        // A long verify lets I/O callbacks (ext_authz's among them) run between its pages.
        await yieldToEventLoop();
        return this.engine.run('none', events('SELECT * FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?', [afterSeq, toSeq, limit]));
      },
      recordBefore: (seq) => this.engine.run('none', point('SELECT seq, hash FROM audit_events WHERE seq < ? ORDER BY seq DESC LIMIT 1', [seq])),
      seqOfHash: async (hash) => (await this.engine.run('none', point('SELECT seq, hash FROM audit_events WHERE hash = ? LIMIT 1', [hash])))?.seq,
    };
    return verifyStoredChain(source, checkedRange);
  }

  async applyRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    const target: RetentionTarget = {
      chainState: () => this.readChain(),
      firstSeqAtOrAfter: async (afterSeq, timeIso) =>
        (await this.engine.run('none', point('SELECT seq, hash FROM audit_events WHERE seq > ? AND event_time >= ? ORDER BY seq LIMIT 1', [afterSeq, timeIso])))?.seq,
      newestSeqOverBytes: async (afterSeq, throughSeq, maxBytes) => {
        await this.measureUnsized();
        return this.newestSeqOverBytes(afterSeq, throughSeq, maxBytes);
      },
      bytesAfter: (afterSeq) => this.bytesAfter(afterSeq),
      removeThrough: async (toSeq) => {
        await yieldToEventLoop();
        return this.engine.run('write', this.removeThrough(toSeq));
      },
    };
    const result = await applyAuditRetention(target, policy);
    if (result.removed > 0 || result.stoppedAt) this.logger.info('audit retention applied', { ...result });
    return result;
  }

  private *removeThrough(toSeq: number): Program<Awaited<ReturnType<RetentionTarget['removeThrough']>>> {
    yield* this.retentionLock();
    const { head, anchor } = yield* this.chainState();
    if (anchor.seq >= toSeq) return { removed: 0, anchor };
    const records = yield* events('SELECT * FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq', [anchor.seq, toSeq + 1]);
    const prefix = removablePrefix(anchor, records, toSeq, head);
    if (prefix.count > 0) {
      yield* count('DELETE FROM audit_events WHERE seq > ? AND seq <= ?', [anchor.seq, prefix.last.seq]);
      yield* count('UPDATE audit_chain SET anchor_seq = ?, anchor_hash = ? WHERE id = 1', [prefix.last.seq, prefix.last.hash]);
    }
    return { removed: prefix.count, anchor: prefix.last, ...(prefix.problem && { problem: prefix.problem }) };
  }

  async close(): Promise<void> {
    await this.engine.close();
  }

  protected readChain(): Promise<ChainState> {
    return this.engine.run('none', this.chainState());
  }

  protected *chainState(): Program<ChainState> {
    return chainStateFromRow(yield* firstRow(CHAIN_STATE_SQL), this.database);
  }
}

function* events(sql: string, params: readonly unknown[]): Program<StoredAuditEvent[]> {
  return (yield* rows(sql, params)).map(auditEventFromRow);
}

function* point(sql: string, params: readonly unknown[]): Program<ChainPoint | undefined> {
  const row: Row | undefined = yield* firstRow(sql, params);
  return row ? { seq: num(row.seq), hash: String(row.hash) } : undefined;
}

/** Lets I/O callbacks run between two steps of a long walk. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
