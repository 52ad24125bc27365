/**
 * Why: a node-postgres pool running the programs of sql-program.ts, shared by the store and
 * the audit log (each with a pool of its own) so that both begin transactions, number
 * placeholders and report driver errors alike.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../log/logger';
import { describeError, isConnectionError, sqlState, UNIQUE_VIOLATION } from './postgres-errors';
import { runPgTransaction } from './postgres-transaction';
import type { Row } from './record-rows';
import type { SqlEngine, TransactionKind } from './sql-engine';
import { postgresPlaceholders, rows, runAsync, type Program, type Statement, type StatementResult } from './sql-program';
import { StoreConflictError, StoreError, StoreUnavailableError, type StoreChange } from './store';

/** The NOTIFY channel every replica's store listens on. */
export const STORE_CHANNEL = 'kubegate_store';

/** The payload of a notification on STORE_CHANNEL. */
export interface ChangeMessage extends StoreChange {
  /** The store instance that committed the change, so it can skip its own echo. */
  readonly origin: string;
}

/** Reads that must see one snapshot (READ COMMITTED gives each statement its own). */
const SNAPSHOT_READ = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export interface PostgresEngineProps {
  readonly pool: Pool;
  /** The URL with its password masked. */
  readonly location: string;
  /** What the pool serves, as messages name it: `PostgreSQL ${what} ${location} is closed`. */
  readonly what: 'store' | 'audit log';
  readonly logger: Logger;
}

type Db = Pick<PoolClient, 'query'>;

export class PostgresEngine implements SqlEngine {
  readonly dialect = 'postgres';
  /** Names this instance in its notifications, so it can skip their echo. */
  readonly instanceId = randomUUID();
  /** How a write transaction begins; the audit log raises synchronous_commit here when the server's is weaker. */
  writeBegin = 'BEGIN';
  private closed = false;

  constructor(private readonly props: PostgresEngineProps) {}

  async run<T>(kind: TransactionKind, program: Program<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(`PostgreSQL ${this.props.what} ${this.props.location} is closed`);
    if (kind === 'none') {
      try {
        return await runAsync(program, (s) => execute(this.props.pool, s));
      } catch (err) {
        throw this.translate(err);
      }
    }
    return this.transaction(kind === 'snapshot' ? SNAPSHOT_READ : this.writeBegin, (client) => runAsync(program, (s) => execute(client, s)));
  }

  /** `fn` in one transaction on one pooled connection, begun with `begin`. */
  async transaction<T>(begin: string, fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(`PostgreSQL ${this.props.what} ${this.props.location} is closed`);
    return runPgTransaction(this.props.pool, begin, fn, (err) => this.translate(err));
  }

  /** pg_notify in the transaction: PostgreSQL delivers it at COMMIT, and never for a rollback. */
  *announce(change: StoreChange): Program<void> {
    const message: ChangeMessage = { origin: this.instanceId, ...change };
    yield* rows('SELECT pg_notify(?, ?)', [STORE_CHANNEL, JSON.stringify(message)]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.props.pool.end().catch((err: unknown) => this.props.logger.warn(`closing ${this.props.what} pool failed`, { err }));
    this.props.logger.debug(`postgres ${this.props.what} closed`, { store: this.props.location });
  }

  /** Driver errors as the store's: a lost or unusable connection is unavailable; for the store, a duplicate key is a conflict. */
  translate(err: unknown): unknown {
    if (err instanceof StoreError) return err;
    if (isConnectionError(err)) {
      return new StoreUnavailableError(`PostgreSQL ${this.props.what} ${this.props.location} is unavailable: ${describeError(err)}`, sqlState(err) ?? (err as { code?: string }).code);
    }
    if (this.props.what === 'store' && sqlState(err) === UNIQUE_VIOLATION) {
      return new StoreConflictError(`a record with that key already exists: ${(err as { detail?: string }).detail ?? (err as Error).message}`);
    }
    return err;
  }
}

async function execute(db: Db, statement: Statement): Promise<StatementResult> {
  const result = await db.query(postgresPlaceholders(statement.sql), [...statement.params]);
  return statement.kind === 'rows' ? (result.rows as Row[]) : (result.rowCount ?? 0);
}
