/**
 * The store's schema as an ordered list of migrations, each with its SQL for both dialects side
 * by side, so a change to one dialect is reviewed next to the other. A database records the
 * migrations it has run in `schema_version`; opening a store runs the missing ones in one
 * transaction together with the rows that record them, so a failed migration leaves nothing
 * behind and running them twice (or from two replicas at once, which the PostgreSQL store
 * serializes with an advisory lock) changes nothing.
 *
 * Never edit a migration that has shipped: add the next version instead.
 *
 * Column conventions: times are epoch milliseconds (BIGINT), names and ids are compared
 * byte-wise (SQLite's default BINARY collation, COLLATE "C" on PostgreSQL), so both dialects
 * sort alike whatever the PostgreSQL server's locale is.
 */
import { StoreUnavailableError } from './store';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: Readonly<Record<Dialect, string>>;
}

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
  {
    version: 1,
    description: 'users, groups, certificates, policy set, break-glass, console sessions',
    sql: {
      sqlite: `
        -- The store-wide generation; every mutating transaction advances it.
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO meta (key, value) VALUES ('generation', 0);

        CREATE TABLE users (
          name TEXT PRIMARY KEY,
          disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          credential_revision INTEGER NOT NULL DEFAULT 0
        );
        -- Membership; group_name need not name a row of groups (groups may come from the IdP).
        CREATE TABLE user_groups (
          user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          group_name TEXT NOT NULL,
          PRIMARY KEY (user_name, group_name)
        );
        CREATE INDEX user_groups_by_group ON user_groups (group_name);
        CREATE TABLE groups (
          name TEXT PRIMARY KEY,
          description TEXT NOT NULL DEFAULT '',
          created_at INTEGER NOT NULL
        );

        CREATE TABLE certificates (
          serial TEXT PRIMARY KEY,
          user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          not_before INTEGER NOT NULL,
          not_after INTEGER NOT NULL,
          issued_at INTEGER NOT NULL,
          revoked_at INTEGER
        );
        CREATE INDEX certificates_by_user ON certificates (user_name);
        CREATE INDEX certificates_revoked ON certificates (not_after) WHERE revoked_at IS NOT NULL;

        -- Exactly one row: the applied policy set's header; its files are policy_files.
        CREATE TABLE policy_set (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          revision INTEGER NOT NULL,
          applied_at INTEGER NOT NULL,
          applied_by TEXT NOT NULL
        );
        INSERT INTO policy_set (id, revision, applied_at, applied_by) VALUES (1, 0, 0, '');
        CREATE TABLE policy_files (
          file_name TEXT PRIMARY KEY,
          ordinal INTEGER NOT NULL,
          content TEXT NOT NULL
        );

        -- No foreign key to users: a request outlives its user as a record of what happened.
        CREATE TABLE break_glass (
          id TEXT PRIMARY KEY,
          policy TEXT NOT NULL,
          user_name TEXT NOT NULL,
          cluster TEXT NOT NULL,
          justification TEXT NOT NULL,
          duration_ms INTEGER NOT NULL,
          requested_at INTEGER NOT NULL,
          approvals TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'expired', 'rejected', 'cancelled')),
          activated_at INTEGER,
          expires_at INTEGER,
          ended_by TEXT,
          end_reason TEXT,
          revision INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX break_glass_by_requested ON break_glass (requested_at);
        CREATE INDEX break_glass_by_user ON break_glass (user_name, requested_at);
        CREATE INDEX break_glass_live ON break_glass (state) WHERE state IN ('pending', 'active');

        CREATE TABLE sessions (
          id TEXT PRIMARY KEY,
          user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          created_at INTEGER NOT NULL,
          last_active_at INTEGER NOT NULL,
          ended_at INTEGER
        );
        CREATE INDEX sessions_by_user ON sessions (user_name);
        CREATE INDEX sessions_open ON sessions (last_active_at) WHERE ended_at IS NULL;
      `,
      postgres: `
        CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);
        INSERT INTO meta (key, value) VALUES ('generation', 0);

        CREATE TABLE users (
          name TEXT COLLATE "C" PRIMARY KEY,
          disabled BOOLEAN NOT NULL DEFAULT FALSE,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          credential_revision BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE user_groups (
          user_name TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          group_name TEXT COLLATE "C" NOT NULL,
          PRIMARY KEY (user_name, group_name)
        );
        CREATE INDEX user_groups_by_group ON user_groups (group_name);
        CREATE TABLE groups (
          name TEXT COLLATE "C" PRIMARY KEY,
          description TEXT NOT NULL DEFAULT '',
          created_at BIGINT NOT NULL
        );

        CREATE TABLE certificates (
          serial TEXT COLLATE "C" PRIMARY KEY,
          user_name TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          not_before BIGINT NOT NULL,
          not_after BIGINT NOT NULL,
          issued_at BIGINT NOT NULL,
          revoked_at BIGINT
        );
        CREATE INDEX certificates_by_user ON certificates (user_name);
        CREATE INDEX certificates_revoked ON certificates (not_after) WHERE revoked_at IS NOT NULL;

        CREATE TABLE policy_set (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          revision BIGINT NOT NULL,
          applied_at BIGINT NOT NULL,
          applied_by TEXT NOT NULL
        );
        INSERT INTO policy_set (id, revision, applied_at, applied_by) VALUES (1, 0, 0, '');
        CREATE TABLE policy_files (
          file_name TEXT COLLATE "C" PRIMARY KEY,
          ordinal INTEGER NOT NULL,
          content TEXT NOT NULL
        );

        CREATE TABLE break_glass (
          id TEXT COLLATE "C" PRIMARY KEY,
          policy TEXT NOT NULL,
          user_name TEXT COLLATE "C" NOT NULL,
          cluster TEXT NOT NULL,
          justification TEXT NOT NULL,
          duration_ms BIGINT NOT NULL,
          requested_at BIGINT NOT NULL,
          approvals TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'expired', 'rejected', 'cancelled')),
          activated_at BIGINT,
          expires_at BIGINT,
          ended_by TEXT,
          end_reason TEXT,
          revision BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX break_glass_by_requested ON break_glass (requested_at);
        CREATE INDEX break_glass_by_user ON break_glass (user_name, requested_at);
        CREATE INDEX break_glass_live ON break_glass (state) WHERE state IN ('pending', 'active');

        CREATE TABLE sessions (
          id TEXT COLLATE "C" PRIMARY KEY,
          user_name TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          created_at BIGINT NOT NULL,
          last_active_at BIGINT NOT NULL,
          ended_at BIGINT
        );
        CREATE INDEX sessions_by_user ON sessions (user_name);
        CREATE INDEX sessions_open ON sessions (last_active_at) WHERE ended_at IS NULL;
      `,
    },
  },
  {
    version: 2,
    description: 'agent join tokens and registered clusters',
    sql: {
      sqlite: `
        -- No foreign key between the two: a token is made before its cluster registers.
        -- deleteCluster removes the cluster's tokens itself.
        CREATE TABLE join_tokens (
          id TEXT PRIMARY KEY,
          cluster TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          created_by TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          used_at INTEGER
        );
        CREATE INDEX join_tokens_by_created ON join_tokens (created_at);
        CREATE INDEX join_tokens_by_cluster ON join_tokens (cluster, created_at);

        CREATE TABLE clusters (
          name TEXT PRIMARY KEY,
          -- A JSON object, keys sorted.
          labels TEXT NOT NULL,
          kubernetes_version TEXT NOT NULL,
          apiserver_ca_pem TEXT NOT NULL,
          agent_version TEXT NOT NULL,
          agent_certificate_serial TEXT NOT NULL,
          registered_at INTEGER NOT NULL,
          last_seen_at INTEGER NOT NULL
        );
      `,
      postgres: `
        CREATE TABLE join_tokens (
          id TEXT COLLATE "C" PRIMARY KEY,
          cluster TEXT COLLATE "C" NOT NULL,
          secret_hash TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          created_by TEXT NOT NULL,
          expires_at BIGINT NOT NULL,
          used_at BIGINT
        );
        CREATE INDEX join_tokens_by_created ON join_tokens (created_at);
        CREATE INDEX join_tokens_by_cluster ON join_tokens (cluster, created_at);

        CREATE TABLE clusters (
          name TEXT COLLATE "C" PRIMARY KEY,
          labels TEXT NOT NULL,
          kubernetes_version TEXT NOT NULL,
          apiserver_ca_pem TEXT NOT NULL,
          agent_version TEXT NOT NULL,
          agent_certificate_serial TEXT NOT NULL,
          registered_at BIGINT NOT NULL,
          last_seen_at BIGINT NOT NULL
        );
      `,
    },
  },
  {
    version: 3,
    description: 'audit log: hash-chained events, chain head and retention anchor',
    sql: {
      sqlite: `
        -- control-plane/audit/: one row per AuditEvent, one column per field, so that a row
        -- is verified exactly as it is queried (NULL: an optional field that is absent).
        -- seq is assigned by the appender from audit_chain, never reused.
        CREATE TABLE audit_events (
          seq INTEGER PRIMARY KEY,
          prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL,
          stage TEXT NOT NULL CHECK (stage IN ('decision', 'progress', 'completion')),
          -- ISO 8601 UTC with milliseconds: compared as text, that is compared in time.
          event_time TEXT NOT NULL,
          request_id TEXT NOT NULL,
          user_name TEXT NOT NULL,
          -- A JSON array of strings, in the event's order.
          groups_json TEXT NOT NULL,
          source_address TEXT NOT NULL,
          cluster TEXT NOT NULL,
          verb TEXT NOT NULL,
          api_group TEXT NOT NULL,
          resource TEXT NOT NULL,
          subresource TEXT NOT NULL,
          namespace TEXT NOT NULL,
          name TEXT NOT NULL,
          decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),
          reason TEXT NOT NULL,
          policy TEXT NOT NULL,
          break_glass_id TEXT NOT NULL,
          method TEXT NOT NULL,
          path TEXT NOT NULL,
          user_agent TEXT NOT NULL,
          kubectl_command TEXT NOT NULL,
          kubectl_session TEXT NOT NULL,
          status INTEGER,
          bytes_received INTEGER,
          bytes_sent INTEGER,
          duration_ms REAL,
          upstream_address TEXT,
          response_flags_json TEXT,
          termination_details TEXT,
          upgrade TEXT
        );
        -- Few indexes: each one costs every append. Time serves since/until and retention by
        -- age, request id joins a request's stages, user and cluster are the common filters.
        CREATE INDEX audit_events_by_time ON audit_events (event_time);
        CREATE INDEX audit_events_by_request ON audit_events (request_id);
        CREATE INDEX audit_events_by_user ON audit_events (user_name, seq);
        CREATE INDEX audit_events_by_cluster ON audit_events (cluster, seq);

        -- Exactly one row. head: the last event appended (what the next one chains to; locked
        -- by every append, which serializes them). anchor: the last event retention removed
        -- (what the first remaining one chains to). seq 0 and '' mean "none".
        CREATE TABLE audit_chain (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          head_seq INTEGER NOT NULL,
          head_hash TEXT NOT NULL,
          anchor_seq INTEGER NOT NULL,
          anchor_hash TEXT NOT NULL
        );
        INSERT INTO audit_chain (id, head_seq, head_hash, anchor_seq, anchor_hash) VALUES (1, 0, '', 0, '');
      `,
      postgres: `
        CREATE TABLE audit_events (
          seq BIGINT PRIMARY KEY,
          prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL,
          stage TEXT NOT NULL CHECK (stage IN ('decision', 'progress', 'completion')),
          event_time TEXT COLLATE "C" NOT NULL,
          request_id TEXT COLLATE "C" NOT NULL,
          user_name TEXT COLLATE "C" NOT NULL,
          groups_json TEXT NOT NULL,
          source_address TEXT NOT NULL,
          cluster TEXT COLLATE "C" NOT NULL,
          verb TEXT COLLATE "C" NOT NULL,
          api_group TEXT NOT NULL,
          resource TEXT NOT NULL,
          subresource TEXT NOT NULL,
          namespace TEXT COLLATE "C" NOT NULL,
          name TEXT NOT NULL,
          decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),
          reason TEXT NOT NULL,
          policy TEXT NOT NULL,
          break_glass_id TEXT NOT NULL,
          method TEXT NOT NULL,
          path TEXT NOT NULL,
          user_agent TEXT NOT NULL,
          kubectl_command TEXT NOT NULL,
          kubectl_session TEXT NOT NULL,
          status INTEGER,
          bytes_received BIGINT,
          bytes_sent BIGINT,
          duration_ms DOUBLE PRECISION,
          upstream_address TEXT,
          response_flags_json TEXT,
          termination_details TEXT,
          upgrade TEXT
        );
        CREATE INDEX audit_events_by_time ON audit_events (event_time);
        CREATE INDEX audit_events_by_request ON audit_events (request_id);
        CREATE INDEX audit_events_by_user ON audit_events (user_name, seq);
        CREATE INDEX audit_events_by_cluster ON audit_events (cluster, seq);

        CREATE TABLE audit_chain (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          head_seq BIGINT NOT NULL,
          head_hash TEXT NOT NULL,
          anchor_seq BIGINT NOT NULL,
          anchor_hash TEXT NOT NULL
        );
        INSERT INTO audit_chain (id, head_seq, head_hash, anchor_seq, anchor_hash) VALUES (1, 0, '', 0, '');
      `,
    },
  },
  {
    version: 4,
    description: 'audit log: index request id with stage and time, to find requests without a completion',
    sql: {
      sqlite: `
        -- AuditLog.incomplete asks, for each allowed decision, "has this request a completion?"
        -- and "a progress record since the cutoff?". On (request_id, stage, event_time) each
        -- is one seek in the index, without reading the table: with request_id alone, every
        -- record of the request was read to look at its stage (hundreds for a long stream).
        -- It replaces the request_id index, whose lookups it serves as well, so appends keep
        -- the same number of indexes to maintain.
        CREATE INDEX audit_events_by_request_stage ON audit_events (request_id, stage, event_time);
        DROP INDEX audit_events_by_request;
      `,
      postgres: `
        CREATE INDEX audit_events_by_request_stage ON audit_events (request_id, stage, event_time);
        DROP INDEX audit_events_by_request;
      `,
    },
  },
  {
    version: 5,
    description: 'audit log: each record size, for retention by size',
    sql: {
      sqlite: `
        -- Retention by size (AuditLog.applyRetention's maxBytes) adds up the records' sizes:
        -- the UTF-8 length of the record's canonical JSON, which appends compute and store.
        -- It is logical, not the file's size: the same figure on both databases, and smaller
        -- at once when records are removed. Outside the hash, like seq.
        -- NULL: not measured yet. SQL cannot write the canonical JSON byte for byte as
        -- JavaScript does (numbers in particular) and migrations are SQL only, so the rows
        -- already here are measured in TypeScript when an audit log opens the database
        -- (measureUnsized in store/*-audit-log.ts), and again before each retention by size,
        -- which also covers rows an older replica appends during a rolling upgrade.
        ALTER TABLE audit_events ADD COLUMN size_bytes INTEGER;
        -- Holds only the rows not measured yet (none, after the first open): appends never
        -- enter it, and "is anything left to measure?" is one probe of an empty index.
        CREATE INDEX audit_events_unsized ON audit_events (seq) WHERE size_bytes IS NULL;
      `,
      postgres: `
        ALTER TABLE audit_events ADD COLUMN size_bytes BIGINT;
        CREATE INDEX audit_events_unsized ON audit_events (seq) WHERE size_bytes IS NULL;
      `,
    },
  },
  {
    version: 6,
    description: 'audit log: who reported a progress or completion record (the edge, or the cluster)',
    sql: {
      sqlite: `
        -- AuditEvent.reportedBy: 'cluster' for the records a cluster's in-cluster Envoy
        -- reported; NULL for the edge's, which every record written before it is. The field is
        -- in the hash only when present, so the records already here verify unchanged.
        -- No CHECK of its values (appends check them, audit-event-input.ts): a reporter added
        -- later would otherwise mean rebuilding the whole table on SQLite. No index: it is a
        -- filter among others, never the only one on a large log.
        ALTER TABLE audit_events ADD COLUMN reported_by TEXT;
      `,
      postgres: `
        ALTER TABLE audit_events ADD COLUMN reported_by TEXT;
      `,
    },
  },
  {
    version: 7,
    description: 'certificates: index the live ones, which every reload lists',
    sql: {
      sqlite: `
        -- loadState lists the certificates neither revoked nor expired (StoreState
        -- .liveCertificates) on every reload; issued certificates accumulate, the live ones
        -- are the few of the last day. The partial index holds only never-revoked ones, by
        -- expiry, so the range "not_after > now" reads just those.
        CREATE INDEX certificates_live ON certificates (not_after) WHERE revoked_at IS NULL;
      `,
      postgres: `
        CREATE INDEX certificates_live ON certificates (not_after) WHERE revoked_at IS NULL;
      `,
    },
  },
  {
    version: 8,
    description: "edge drains: which users' filter chains, and the shared users' chain, must be drained",
    sql: {
      sqlite: `
        -- A drain closes the open connections of a filter chain at the edge: a user who lost
        -- access while streams were open ('user:<name>'), or the shared users' chain when such
        -- a user has a stream there ('shared'). The replica that tracks the streams records
        -- the drain here, so every replica derives the same Envoy configuration from the
        -- store (desired-state/desired-state.ts). Revisions only grow; a user's row goes with
        -- the user.
        CREATE TABLE edge_drains (scope TEXT PRIMARY KEY, revision INTEGER NOT NULL);
      `,
      postgres: `
        CREATE TABLE edge_drains (scope TEXT COLLATE "C" PRIMARY KEY, revision BIGINT NOT NULL);
      `,
    },
  },
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
