/**
 * The audit trail's tables: one row per hash-chained event, and the chain's head and
 * retention anchor.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const AUDIT_LOG: Migration = {
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
};
