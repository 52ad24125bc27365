/**
 * Retention by size needs each audit record's size, stored beside it.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const AUDIT_RECORD_SIZE: Migration = {
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
};
