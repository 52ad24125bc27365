/**
 * The store's first tables: users and their groups, certificates, the policy set,
 * break-glass requests and console sessions.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const INITIAL_TABLES: Migration = {
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
};
