/**
 * Edge drains are recorded in the store so that every replica configures Envoy alike.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const EDGE_DRAINS: Migration = {
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
};
