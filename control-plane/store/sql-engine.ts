/**
 * Why: what the one store implementation (sql-store.ts) needs from a database, and nothing
 * more, so that SQLite and PostgreSQL differ only in the few places they really do: how a
 * transaction begins, how driver errors read, and whether other replicas must hear of a change.
 */
import type { Program } from './sql-program';
import type { Dialect } from './schema';
import type { StoreChange } from './store';

/**
 * How a program's statements are grouped:
 * - `none`: each on its own (a single read);
 * - `snapshot`: reads that must see one snapshot (SQLite DEFERRED, PostgreSQL REPEATABLE READ READ ONLY);
 * - `write`: a writing transaction (SQLite IMMEDIATE, so it holds the write lock from BEGIN;
 *   PostgreSQL READ COMMITTED, serialized by the generation row lock the program takes first).
 */
export type TransactionKind = 'none' | 'snapshot' | 'write';

export interface SqlEngine {
  readonly dialect: Dialect;
  /**
   * Runs `program`, all of it in one transaction unless `none`; a throw rolls it back. Driver
   * errors become the store's (StoreUnavailableError, StoreConflictError), and a closed engine
   * refuses with StoreUnavailableError.
   */
  run<T>(kind: TransactionKind, program: Program<T>): Promise<T>;
  /**
   * Statements, run last in a write transaction, that tell other replicas of `change` once it
   * commits (PostgreSQL NOTIFY); nothing where no other replica can share the database.
   */
  announce(change: StoreChange): Program<void>;
  close(): Promise<void>;
}

/**
 * Where the dialects' SQL really differs. SQLite's GREATEST is its multi-argument MAX. SQLite
 * has no row locks: its IMMEDIATE transaction holds the whole file's write lock already.
 */
export const DIALECT_SQL: Record<Dialect, { readonly greatest: string; readonly forUpdate: string }> = {
  sqlite: { greatest: 'MAX', forUpdate: '' },
  postgres: { greatest: 'GREATEST', forUpdate: ' FOR UPDATE' },
};
