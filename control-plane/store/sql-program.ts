/**
 * Why: the store's logic (its checks, its SQL, the order of its statements) is the same on
 * SQLite and PostgreSQL, but the drivers are not: better-sqlite3 answers synchronously and its
 * transactions must run to completion without yielding, node-postgres answers with promises.
 * So the logic is written once as a generator that yields the statements it wants run and gets
 * their results back (`const found = yield* rows('SELECT ...', [id])`), and each database has a
 * driver that runs it: `runSync` inside a better-sqlite3 transaction, without ever leaving the
 * calling tick (as the hand-written SQLite store did), `runAsync` on a PostgreSQL connection.
 *
 * Statements use `?` placeholders; `postgresPlaceholders` numbers them for PostgreSQL.
 */
import type { Row } from './record-rows';

/** A statement and its parameters: `rows` wants its result rows, `count` how many rows it changed. */
export interface Statement {
  readonly kind: 'rows' | 'count';
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** What a driver hands back for a Statement: rows for `rows`, a number for `count`. */
export type StatementResult = Row[] | number;

/** A piece of store logic that yields Statements and finally returns a T. */
export type Program<T> = Generator<Statement, T, StatementResult>;

/** The rows a statement returns (SELECT, or a change with RETURNING). */
export function* rows(sql: string, params: readonly unknown[] = []): Program<Row[]> {
  return (yield { kind: 'rows', sql, params }) as Row[];
}

/** The first row a statement returns, if any. */
export function* firstRow(sql: string, params: readonly unknown[] = []): Program<Row | undefined> {
  return (yield* rows(sql, params))[0];
}

/** Runs a statement that returns no rows; how many rows it changed. */
export function* count(sql: string, params: readonly unknown[] = []): Program<number> {
  return (yield { kind: 'count', sql, params }) as number;
}

/** Runs `program` to its end, each statement through the synchronous `execute`. */
export function runSync<T>(program: Program<T>, execute: (statement: Statement) => StatementResult): T {
  let step = program.next();
  while (!step.done) step = program.next(execute(step.value));
  return step.value;
}

/** Runs `program` to its end, awaiting each statement's `execute`. */
export async function runAsync<T>(program: Program<T>, execute: (statement: Statement) => Promise<StatementResult>): Promise<T> {
  let step = program.next();
  while (!step.done) step = program.next(await execute(step.value));
  return step.value;
}

/** Statements are few and fixed, but some carry a variable number of placeholders: bounded. */
const numbered = new Map<string, string>();
const NUMBERED_KEPT = 2000;

/** The statement with its `?` placeholders numbered $1, $2, ... (none stands inside a quoted literal). */
export function postgresPlaceholders(sql: string): string {
  let converted = numbered.get(sql);
  if (converted === undefined) {
    let n = 0;
    converted = sql.replace(/'[^']*'|\?/g, (match) => (match === '?' ? `$${++n}` : match));
    if (numbered.size >= NUMBERED_KEPT) numbered.clear();
    numbered.set(sql, converted);
  }
  return converted;
}
