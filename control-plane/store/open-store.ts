/**
 * Picks and opens the store a URL names, so configuration is one string:
 *
 *   sqlite:<path>            SQLite file (relative paths against the working directory)
 *   <path>                   the same, for a plain file path
 *   postgres://...           PostgreSQL (postgresql:// too), e.g. postgres://kubegate:pw@db:5432/kubegate
 *
 * `openAuditLog` opens the audit log in the same database.
 *
 * Whatever goes wrong (a URL of another kind, a file that cannot be opened, a database that
 * cannot be reached) is a StoreUnavailableError whose message names the URL, password masked.
 */
import * as path from 'node:path';
import { PostgresStore, type PostgresStoreOptions } from './postgres-store';
import { redactUrl } from './redact-url';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import { StoreUnavailableError, type Store } from './store';
import type { AuditLog } from '../audit/audit-log';
import { PostgresAuditLog, type PostgresAuditLogOptions } from './postgres-audit-log';
import { SqliteAuditLog, type SqliteAuditLogOptions } from './sqlite-audit-log';

export interface OpenStoreOptions extends SqliteStoreOptions, PostgresStoreOptions {
  /** Where relative SQLite paths are resolved. @default process.cwd() */
  readonly cwd?: string;
}

const USAGE = 'use sqlite:<path>, a file path, or postgres://user:password@host:port/database';

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (typeof url !== 'string' || url.trim() === '') throw new StoreUnavailableError(`store URL is empty: ${USAGE}`);
  if (/^postgres(ql)?:\/\//i.test(url)) return PostgresStore.open(url, options);
  return SqliteStore.open(path.resolve(options.cwd ?? process.cwd(), sqliteFile(url)), options);
}

/** The file a non-PostgreSQL store URL names. */
function sqliteFile(url: string): string {
  if (/^sqlite:/i.test(url)) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new StoreUnavailableError(`store URL ${url} names no file: ${USAGE}`);
    return file;
  }
  // Two letters or more, so that nothing here mistakes a path for a scheme.
  if (/^[a-z][a-z0-9+.-]+:/i.test(url)) throw new StoreUnavailableError(`store URL ${redactUrl(url)} has an unsupported scheme: ${USAGE}`);
  return url;
}

export interface OpenAuditLogOptions extends SqliteAuditLogOptions, PostgresAuditLogOptions {
  /** Where relative SQLite paths are resolved. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * The audit log (control-plane/audit/audit-log.ts) in the database a store URL names, the same
 * URLs as openStore: the audit trail lives beside the records it is about. It opens its own
 * connection (SQLite) or pool (PostgreSQL), so it can be opened, used and closed independently
 * of the Store, and several times (each replica, the API, an exporter).
 */
export async function openAuditLog(url: string, options: OpenAuditLogOptions = {}): Promise<AuditLog> {
  if (typeof url !== 'string' || url.trim() === '') throw new StoreUnavailableError(`store URL is empty: ${USAGE}`);
  if (/^postgres(ql)?:\/\//i.test(url)) return PostgresAuditLog.open(url, options);
  return SqliteAuditLog.open(path.resolve(options.cwd ?? process.cwd(), sqliteFile(url)), options);
}
