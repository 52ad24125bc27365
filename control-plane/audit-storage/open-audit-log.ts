/**
 * The audit log (control-plane/audit/audit-log.ts) in the database a store URL names, the same
 * URLs as openStore: the audit trail lives beside the records it is about. It opens its own
 * connection (SQLite) or pool (PostgreSQL), so it can be opened, used and closed independently
 * of the Store, and several times (each replica, the API, an exporter).
 *
 * The audit log's storage is a folder of its own, beside the store whose engines it uses: the
 * audit trail's types are the audit folder's, and the store needs none of them.
 */
import * as path from 'node:path';
import type { AuditLog } from '../audit/audit-log';
import { STORE_URL_USAGE, sqliteFile } from '../store/open-store';
import { StoreUnavailableError } from '../store/store';
import { PostgresAuditLog, type PostgresAuditLogOptions } from './postgres-audit-log';
import { SqliteAuditLog, type SqliteAuditLogOptions } from './sqlite-audit-log';

export interface OpenAuditLogOptions extends SqliteAuditLogOptions, PostgresAuditLogOptions {
  /** Where relative SQLite paths are resolved. @default process.cwd() */
  readonly cwd?: string;
}

export async function openAuditLog(url: string, options: OpenAuditLogOptions = {}): Promise<AuditLog> {
  if (typeof url !== 'string' || url.trim() === '') throw new StoreUnavailableError(`store URL is empty: ${STORE_URL_USAGE}`);
  if (/^postgres(ql)?:\/\//i.test(url)) return PostgresAuditLog.open(url, options);
  return SqliteAuditLog.open(path.resolve(options.cwd ?? process.cwd(), sqliteFile(url)), options);
}
