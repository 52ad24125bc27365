/**
 * Every reload lists the live certificates; an index keeps that read to the few of them.
 * Shipped: never edit it; a change to the schema is the next migration (schema.ts).
 */
import type { Migration } from '../migration';

export const LIVE_CERTIFICATES_INDEX: Migration = {
  version: 7,
  description: 'certificates: index the live ones, which every reload lists',
  sql: {
    sqlite: `
        -- loadState lists the certificates neither revoked nor expired (StoreState
        -- .liveCertificates) on every reload; issued certificates accumulate, the live ones
        -- are the few of the last day. The partial index holds only never-revoked ones, by
        -- expiry, so the range "not_after > now" reads just those.
        CREATE INDEX certificates_live ON certificates (not_after) WHERE revoked_at IS NULL;
      `,
    postgres: `
        CREATE INDEX certificates_live ON certificates (not_after) WHERE revoked_at IS NULL;
      `,
  },
};
