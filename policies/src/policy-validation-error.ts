import type { PolicyError } from './policy-errors';

/**
 * Everything wrong with a set of policy files, thrown at once so that one run shows every
 * mistake. `errors` is sorted by file, line and column.
 */
export class PolicyValidationError extends Error {
  static readonly code = 'ERR_POLICY_INVALID';
  readonly code = PolicyValidationError.code;
  readonly errors: readonly PolicyError[];

  constructor(errors: readonly PolicyError[]) {
    const sorted = [...errors].sort(compareErrors);
    const files = new Set(sorted.map((e) => e.file));
    super(
      `${sorted.length} policy error${sorted.length === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'}:\n` +
        sorted.map((e) => e.format()).join('\n'),
    );
    this.name = 'PolicyValidationError';
    this.errors = sorted;
  }

  /** One `file:line:column: CODE message` line per error. */
  format(): string {
    return this.errors.map((e) => e.format()).join('\n');
  }
}

function compareErrors(a: PolicyError, b: PolicyError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}
