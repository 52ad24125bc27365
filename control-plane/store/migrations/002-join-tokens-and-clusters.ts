/**
 * Agents joining: the one-use tokens an agent presents, and the clusters that registered.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const JOIN_TOKENS_AND_CLUSTERS: Migration = {
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
};
