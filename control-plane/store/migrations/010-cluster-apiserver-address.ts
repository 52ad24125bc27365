/**
 * Why: an in-cluster Envoy is configured with its cluster's apiserver (address, port and CA),
 * which the agent reports in its hello. With several controller replicas the Envoy's xDS stream
 * may land on a replica the agent is not connected to, so the address lives in the cluster
 * record, beside the CA, and every replica configures the Envoy alike from the store.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const CLUSTER_APISERVER_ADDRESS: Migration = {
  version: 10,
  description: "the cluster's apiserver address as its agent reported it, for in-cluster Envoys on any replica",
  sql: {
    sqlite: `
        ALTER TABLE clusters ADD COLUMN apiserver_host TEXT NOT NULL DEFAULT '';
        ALTER TABLE clusters ADD COLUMN apiserver_port INTEGER NOT NULL DEFAULT 0;
      `,
    postgres: `
        ALTER TABLE clusters ADD COLUMN apiserver_host TEXT NOT NULL DEFAULT '';
        ALTER TABLE clusters ADD COLUMN apiserver_port INTEGER NOT NULL DEFAULT 0;
      `,
  },
};
