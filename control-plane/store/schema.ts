/**
 * The store's schema as an ordered list of migrations, each with its SQL for both dialects side
 * by side, so a change to one dialect is reviewed next to the other. A database records the
 * migrations it has run in `schema_version`; opening a store runs the missing ones in one
 * transaction together with the rows that record them, so a failed migration leaves nothing
 * behind and running them twice (or from two replicas at once, which the PostgreSQL store
 * serializes with an advisory lock) changes nothing. Each migration is a file of its own in
 * migrations/, named after its version; this file keeps their order.
 *
 * Never edit a migration that has shipped: add the next version instead.
 *
 * Column conventions: times are epoch milliseconds (BIGINT), names and ids are compared
 * byte-wise (SQLite's default BINARY collation, COLLATE "C" on PostgreSQL), so both dialects
 * sort alike whatever the PostgreSQL server's locale is.
 */
import type { Dialect, Migration } from './migration';
import { INITIAL_TABLES } from './migrations/001-initial';
import { JOIN_TOKENS_AND_CLUSTERS } from './migrations/002-join-tokens-and-clusters';
import { AUDIT_LOG } from './migrations/003-audit-log';
import { AUDIT_REQUEST_STAGE_INDEX } from './migrations/004-audit-request-stage-index';
import { AUDIT_RECORD_SIZE } from './migrations/005-audit-record-size';
import { AUDIT_REPORTED_BY } from './migrations/006-audit-reported-by';
import { LIVE_CERTIFICATES_INDEX } from './migrations/007-live-certificates-index';
import { EDGE_DRAINS } from './migrations/008-edge-drains';
import { INSTALL_TOKENS } from './migrations/009-install-tokens';
import { CLUSTER_APISERVER_ADDRESS } from './migrations/010-cluster-apiserver-address';
import { CLUSTER_HUB_LABELS } from './migrations/011-cluster-hub-labels';
import { StoreUnavailableError } from './store';

export type { Dialect, Migration };

export const SCHEMA_VERSION_TABLE: Readonly<Record<Dialect, string>> = {
  sqlite: `CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
  )`,
  postgres: `CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
};

export const MIGRATIONS: readonly Migration[] = [
  INITIAL_TABLES,
  JOIN_TOKENS_AND_CLUSTERS,
  AUDIT_LOG,
  AUDIT_REQUEST_STAGE_INDEX,
  AUDIT_RECORD_SIZE,
  AUDIT_REPORTED_BY,
  LIVE_CERTIFICATES_INDEX,
  EDGE_DRAINS,
  INSTALL_TOKENS,
  CLUSTER_APISERVER_ADDRESS,
  CLUSTER_HUB_LABELS,
];

/** The version a database has once every migration this build knows has run. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * The migrations a database at `current` still needs. A database migrated by a newer kubegate
 * is refused rather than used: this build would not know what its tables mean.
 */
export function migrationsAfter(current: number, location: string): readonly Migration[] {
  if (current > SCHEMA_VERSION) {
    throw new StoreUnavailableError(
      `store ${location} has schema version ${current}, newer than this kubegate supports (${SCHEMA_VERSION}); upgrade kubegate`,
    );
  }
  return MIGRATIONS.filter((m) => m.version > current);
}
