/**
 * Why: `kubegate cluster add` hands out a one-time link that serves a cluster's agent manifest
 * to `kubectl apply -f URL`; the link's token must be usable once, expire, and never be kept in
 * the clear. This table holds those tokens, as join_tokens holds the agents' own.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const INSTALL_TOKENS: Migration = {
  version: 9,
  description: 'one-time install links that serve a registered cluster its agent manifest',
  sql: {
    sqlite: `
        -- Like join_tokens: only a SHA-256 of the secret part; used_at is set by the one
        -- request that gets the manifest. No foreign key to clusters: deleteCluster removes
        -- a cluster's install tokens itself, as it does its join tokens.
        CREATE TABLE install_tokens (
          id TEXT PRIMARY KEY,
          cluster TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          created_by TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          used_at INTEGER
        );
        CREATE INDEX install_tokens_by_cluster ON install_tokens (cluster, created_at);
      `,
    postgres: `
        CREATE TABLE install_tokens (
          id TEXT COLLATE "C" PRIMARY KEY,
          cluster TEXT COLLATE "C" NOT NULL,
          secret_hash TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          created_by TEXT NOT NULL,
          expires_at BIGINT NOT NULL,
          used_at BIGINT
        );
        CREATE INDEX install_tokens_by_cluster ON install_tokens (cluster, created_at);
      `,
  },
};
