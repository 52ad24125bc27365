/**
 * Finding requests that lack a completion without reading the table: a wider index on
 * request id replaces the narrow one.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const AUDIT_REQUEST_STAGE_INDEX: Migration = {
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
};
