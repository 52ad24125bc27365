/**
 * Why: one better-sqlite3 connection running the programs of sql-program.ts, shared by the
 * store and the audit log so that both begin transactions, bind values and report driver
 * errors alike. A whole program, its transaction included, runs within the calling tick: the
 * audit log's group-commit write on the ext_authz path stays as synchronous as it always was.
 */
import type Database from 'better-sqlite3';
import type { Logger } from '../log/logger';
import type { Row } from './record-rows';
import type { SqlEngine, TransactionKind } from './sql-engine';
import { runSync, type Program, type Statement, type StatementResult } from './sql-program';
import { SqliteStatements } from './sqlite-statements';
import { StoreConflictError, StoreError, StoreUnavailableError } from './store';

/** SQLite result codes that mean the file cannot be used, rather than that the input was bad. */
export const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|CANTOPEN|NOTADB|CORRUPT|IOERR|FULL|READONLY|PERM|AUTH|PROTOCOL)/;

export interface SqliteEngineProps {
  readonly db: Database.Database;
  readonly file: string;
  /** What the connection serves, as messages name it: `SQLite ${what} ${file} is closed`. */
  readonly what: 'store' | 'audit log';
  readonly logger: Logger;
}

export class SqliteEngine implements SqlEngine {
  readonly dialect = 'sqlite';
  private readonly db: Database.Database;
  private readonly statements: SqliteStatements;
  /**
   * Made once: better-sqlite3 builds a transaction function and its variants on every
   * db.transaction() call, which costs about as much as chaining an audit record.
   */
  private readonly transaction: Database.Transaction<(program: Program<unknown>) => unknown>;
  private closed = false;

  constructor(private readonly props: SqliteEngineProps) {
    this.db = props.db;
    this.statements = new SqliteStatements(props.db);
    this.transaction = props.db.transaction((program: Program<unknown>) => runSync(program, (s) => this.execute(s)));
  }

  async run<T>(kind: TransactionKind, program: Program<T>): Promise<T> {
    return this.runNow(kind, program);
  }

  /** `run`, answering synchronously. */
  runNow<T>(kind: TransactionKind, program: Program<T>): T {
    if (this.closed) throw new StoreUnavailableError(`SQLite ${this.props.what} ${this.props.file} is closed`);
    try {
      if (kind === 'none') return runSync(program, (s) => this.execute(s));
      return (kind === 'write' ? this.transaction.immediate(program) : this.transaction.deferred(program)) as T;
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Nothing: no other replica shares the file, and listeners in this process hear of it from the store. */
  *announce(): Program<void> {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.db.close();
    this.props.logger.debug(`sqlite ${this.props.what} closed`, { file: this.props.file });
  }

  private execute(statement: Statement): StatementResult {
    // better-sqlite3 binds no booleans; SQLite keeps them as 0 and 1. An array binds the values
    // in order, without spreading them into the call.
    const params = statement.params.some((p) => typeof p === 'boolean') ? statement.params.map((p) => (typeof p === 'boolean' ? Number(p) : p)) : statement.params;
    const prepared = this.statements.stmt(statement.sql);
    return statement.kind === 'rows' ? (prepared.all(params) as Row[]) : prepared.run(params).changes;
  }

  /** Driver errors as the store's: an unusable file is unavailable; for the store, a duplicate key is a conflict. */
  private translate(err: unknown): unknown {
    if (err instanceof StoreError) return err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
      return new StoreUnavailableError(`SQLite ${this.props.what} ${this.props.file} is unavailable: ${(err as Error).message}`, code);
    }
    if (this.props.what === 'store' && typeof code === 'string' && /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test(code)) {
      return new StoreConflictError(`a record with that key already exists: ${(err as Error).message}`);
    }
    return err;
  }
}
