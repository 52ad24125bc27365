/**
 * Audit records a cluster reported are told apart from the edge's.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const AUDIT_REPORTED_BY: Migration = {
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
};
