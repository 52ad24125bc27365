/**
 * The outcome of one read-validate-apply pass over the policy directory.
 *
 * - `applied`: the store has a new revision with the directory's files, and the edge was
 *   refreshed;
 * - `unchanged`: the store already holds exactly these files; nothing was written;
 * - `invalid`: the files have policy errors; the applied set stays in force;
 * - `failed`: the directory could not be read, the store could not be written or the edge
 *   could not be refreshed; the error says which.
 */
import type { PolicySourceFailure } from './policy-source-failure';

export type SyncResult =
  | { readonly outcome: 'applied'; readonly revision: number; readonly files: number; readonly documents: number }
  | { readonly outcome: 'unchanged'; readonly revision: number }
  | { readonly outcome: 'invalid' | 'failed'; readonly error: PolicySourceFailure };
