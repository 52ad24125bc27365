/** A mistake in how the command was called: printed as-is, exit code 2, no stack trace. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
