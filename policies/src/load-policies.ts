import { checkPolicyFile } from './parse-policy-file';
import type { PolicyDocument } from './policy-document';
import type { PolicyError } from './policy-errors';
import { PolicyValidationError } from './policy-validation-error';
import { crossDocumentErrors } from './validate-policies';

export interface PolicyFile {
  /** As it should appear in messages, e.g. relative to the repository root. */
  readonly fileName: string;
  readonly text: string;
}

/**
 * Parses a set of policy files and validates them together: what `kubegate policy validate`
 * and the directory watcher use. All or nothing: any error in any file fails the whole set.
 * @throws PolicyValidationError with every error of every file
 */
export function loadPolicies(files: readonly PolicyFile[]): PolicyDocument[] {
  const documents: PolicyDocument[] = [];
  const errors: PolicyError[] = [];
  for (const file of files) {
    const result = checkPolicyFile(file.text, file.fileName);
    documents.push(...result.documents);
    errors.push(...result.errors);
  }
  errors.push(...crossDocumentErrors(documents));
  if (errors.length > 0) throw new PolicyValidationError(errors);
  return documents;
}
