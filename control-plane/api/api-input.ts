/**
 * Checks of request fields that their JSON Schemas leave to code: user and group names follow
 * the one rule certificates and Kubernetes carry them by (validateUserName), which a pattern in
 * every schema would copy, and group lists are kept the way the store keeps them. Each check
 * names the field it refuses, like a schema's own refusals.
 */
import { validateUserName, CredentialRequestError } from '../credentials/user-certificate';
import { badRequest } from './api-errors';

/** A user or group name as certificates and Kubernetes carry it. */
export function checkName(kind: 'user' | 'group', field: string, name: string): string {
  try {
    validateUserName(kind, name);
  } catch (err) {
    if (err instanceof CredentialRequestError) throw badRequest(field, err.message);
    throw err;
  }
  return name;
}

/** Group names: each valid, sorted, each once (as the store keeps them). */
export function groupList(field: string, groups: readonly string[]): string[] {
  groups.forEach((g, i) => checkName('group', `${field}[${i}]`, g));
  return [...new Set(groups)].sort();
}
