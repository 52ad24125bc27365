/**
 * Picks and opens the store a URL names, so configuration is one string:
 *
 *   sqlite:<path>            SQLite file (relative paths against the working directory)
 *   <path>                   the same, for a plain file path
 *   postgres://...           PostgreSQL (postgresql:// too), e.g. postgres://kubegate:pw@db:5432/kubegate
 *
 * The audit log in the same database is opened by audit-storage/open-audit-log.ts.
 *
 * Whatever goes wrong (a URL of another kind, a file that cannot be opened, a database that
 * cannot be reached) is a StoreUnavailableError whose message names the URL, password masked.
 */
import * as path from 'node:path';
import { PostgresStore, type PostgresStoreOptions } from './postgres-store';
import { redactUrl } from './redact-url';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import { StoreUnavailableError, type Store } from './store';

export interface OpenStoreOptions extends SqliteStoreOptions, PostgresStoreOptions {
  /** Where relative SQLite paths are resolved. @default process.cwd() */
  readonly cwd?: string;
}

export const STORE_URL_USAGE = 'use sqlite:<path>, a file path, or postgres://user:password@host:port/database';

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (typeof url !== 'string' || url.trim() === '') throw new StoreUnavailableError(`store URL is empty: ${STORE_URL_USAGE}`);
  if (/^postgres(ql)?:\/\//i.test(url)) return PostgresStore.open(url, options);
  return SqliteStore.open(path.resolve(options.cwd ?? process.cwd(), sqliteFile(url)), options);
}

/** The file a non-PostgreSQL store URL names. */
/** The SQLite file a store URL names (sqlite:<path> or a bare path); throws on anything else. */
export function sqliteFile(url: string): string {
  if (/^sqlite:/i.test(url)) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new StoreUnavailableError(`store URL ${url} names no file: ${STORE_URL_USAGE}`);
    return file;
  }
  // Two letters or more, so that nothing here mistakes a path for a scheme.
  if (/^[a-z][a-z0-9+.-]+:/i.test(url)) throw new StoreUnavailableError(`store URL ${redactUrl(url)} has an unsupported scheme: ${STORE_URL_USAGE}`);
  return url;
}
