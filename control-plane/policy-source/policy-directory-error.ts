/**
 * The policy directory cannot be read as a whole: it is missing, is not a directory, or a file
 * or folder in it cannot be read. Distinct from a PolicyValidationError (the files were read
 * and are wrong): here nothing can be said about the policies, so nothing may be applied, and
 * the operator has to fix the mount or the permissions rather than a YAML file.
 */
export class PolicyDirectoryError extends Error {
  static readonly code = 'ERR_POLICY_DIRECTORY';
  readonly code = PolicyDirectoryError.code;

  constructor(message: string) {
    super(message);
    this.name = 'PolicyDirectoryError';
  }
}
