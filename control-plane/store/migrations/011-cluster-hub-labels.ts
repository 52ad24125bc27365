/**
 * Why: a cluster's labels have one owner. An agent reports its own (its `--label` flags) in
 * every hello, and used to replace the stored ones each time; once the hub labels a cluster
 * (`kubegate cluster register`, `cluster add`, the admin API's PUT /clusters/NAME), its labels
 * must stay what the hub said, or a reconnecting agent would undo a change that policies
 * already select by. This flag says the hub owns them; hellos then leave them alone.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const CLUSTER_HUB_LABELS: Migration = {
  version: 11,
  description: "whether the hub set a cluster's labels, which its agent's hellos then leave alone",
  sql: {
    sqlite: `
        ALTER TABLE clusters ADD COLUMN hub_labels INTEGER NOT NULL DEFAULT 0 CHECK (hub_labels IN (0, 1));
      `,
    postgres: `
        ALTER TABLE clusters ADD COLUMN hub_labels BOOLEAN NOT NULL DEFAULT FALSE;
      `,
  },
};
