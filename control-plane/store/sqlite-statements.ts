/**
 * Prepared statements of one SQLite connection, prepared once and reused: the store and the
 * audit log each keep one for their own connection.
 */
import type Database from 'better-sqlite3';
import type { Row } from './record-rows';

export class SqliteStatements {
  private readonly prepared = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  stmt(sql: string): Database.Statement {
    let s = this.prepared.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.prepared.set(sql, s);
    }
    return s;
  }

  get(sql: string, ...params: unknown[]): Row | undefined {
    return this.stmt(sql).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: unknown[]): Row[] {
    return this.stmt(sql).all(...params) as Row[];
  }

  /** Forgets every statement (the connection is closing). */
  clear(): void {
    this.prepared.clear();
  }
}
