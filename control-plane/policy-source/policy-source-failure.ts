/**
 * Why the directory's current contents were not applied, kept by the watcher (and shown by its
 * status) until a later good set replaces it. Policy errors keep their position and code, so a
 * status page or the CLI can point at the line; other failures (a missing directory, a store
 * that is down) have only a message.
 */
import { PolicyValidationError } from '../../policies/src';

export interface PolicyFileProblem {
  /** Relative to the watched directory, `/` separators. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** A stable `ERR_POLICY_*` code. */
  readonly code: string;
  readonly message: string;
}

export interface PolicySourceFailure {
  /** Epoch ms of the check that first found it (the same failure found again keeps it). */
  readonly at: number;
  /** Every problem, one `file:line:column: CODE message` line each for policy errors. */
  readonly message: string;
  /** Empty when the files could not be read or applied at all. */
  readonly errors: readonly PolicyFileProblem[];
}

export function policySourceFailure(err: unknown, at: number): PolicySourceFailure {
  if (err instanceof PolicyValidationError) {
    return {
      at,
      message: err.message,
      errors: err.errors.map((e) => ({ file: e.file, line: e.line, column: e.column, code: e.code, message: e.message })),
    };
  }
  return { at, message: err instanceof Error ? err.message : String(err), errors: [] };
}
