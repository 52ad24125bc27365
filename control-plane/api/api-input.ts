/**
 * Reading request bodies field by field. Every check names the field it refuses, and unknown
 * fields are refused too: a misspelt `group` for `groups` would otherwise create a user with no
 * groups and answer 201.
 */
import { validateUserName, CredentialRequestError } from '../credentials/user-certificate';
import { badRequest } from './api-errors';

export type Body = Readonly<Record<string, unknown>>;

/** The body as an object with only the given fields; no body at all counts as `{}`. */
export function bodyObject(body: unknown, fields: readonly string[]): Body {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('', 'the request body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) {
      throw badRequest(key, `unknown field "${key}"${fields.length > 0 ? `; fields here: ${fields.join(', ')}` : ': this request takes no fields'}`);
    }
  }
  return body as Body;
}

export function requiredString(body: Body, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(field, `${field} is required`);
  if (typeof value !== 'string') throw badRequest(field, `${field} must be a string`);
  if (value.trim() === '') throw badRequest(field, `${field} must not be empty`);
  return value;
}

export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(field, `${field} must be a string`);
  return value;
}

export function requiredInteger(body: Body, field: string): number {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(field, `${field} is required`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badRequest(field, `${field} must be a non-negative integer`);
  return value;
}

/** A list of strings; each entry checked by `check`, which may throw a message for the entry. */
export function stringList(body: Body, field: string, required: boolean): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) throw badRequest(field, `${field} is required`);
    return undefined;
  }
  if (!Array.isArray(value)) throw badRequest(field, `${field} must be a list of strings`);
  return value.map((v, i) => {
    if (typeof v !== 'string') throw badRequest(`${field}[${i}]`, `${field}[${i}] must be a string`);
    return v;
  });
}

/** A user or group name as certificates and Kubernetes carry it (validateUserName). */
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
export function groupList(body: Body, field: string, required: boolean): string[] | undefined {
  const list = stringList(body, field, required);
  if (list === undefined) return undefined;
  list.forEach((g, i) => checkName('group', `${field}[${i}]`, g));
  return [...new Set(list)].sort();
}
