/**
 * Input that does not fit its route's JSON Schema, answered as the API always has: 400
 * ERR_BAD_REQUEST, `field` naming what is wrong, and a message that says it in the API's words.
 *
 * Fastify validates with its ajv (the project's one validation library); AJV_OPTIONS make it
 * check rather than repair: no type coercion ("42" is not a number), no defaults filled in, no
 * unknown field silently dropped. Only the first problem is reported (allErrors off): reporting
 * every one would let a body of a million wrong list entries cost a million error objects.
 *
 * Wording, as in validation/schema-check.ts, comes from the schema that failed: `problems` maps a
 * keyword to a message with placeholders {field} (the dotted path, `files[0].text`), {text} (the
 * value as text), {got} (as JSON) and {allowed} (an enum's values). Without one the message is
 * the API's usual "x is required", "x must be a string", "x must be one of a, b".
 */
import type { FastifySchemaValidationError, FastifyServerOptions } from 'fastify';
import type Ajv from 'ajv';
import type { AnySchemaObject, ErrorObject } from 'ajv';
import { dottedPath, type ValuePath } from '../validation/schema-check';
import { badRequest, type ApiError } from './api-errors';

export const AJV_OPTIONS: NonNullable<FastifyServerOptions['ajv']> = {
  customOptions: { allErrors: false, verbose: true, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: true },
  // `problems` is wording for people; ajv only needs to know it is not a typo.
  plugins: [(ajv: Ajv) => ajv.addVocabulary(['problems'])],
};

const NOUNS: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
};

/** Fastify's schemaErrorFormatter: the first problem ajv found in `part` of the request. */
export function validationError(errors: readonly FastifySchemaValidationError[], part: string): ApiError {
  // verbose: ajv's errors carry the failing schema and value.
  const error = errors[0] as unknown as ErrorObject;
  const at = pathOf(error.instancePath);
  const schema = (error.parentSchema ?? {}) as AnySchemaObject;

  if (part === 'body' && at.length === 0 && error.keyword === 'type') return badRequest('', 'the request body must be a JSON object');

  if (error.keyword === 'additionalProperties') {
    const name = String(error.params.additionalProperty);
    const known = Object.keys(schema.properties ?? {});
    if (part === 'querystring') return badRequest(name, `unknown query parameter "${name}"; parameters here: ${known.join(', ')}`);
    const where = at.length > 0 ? ` in ${dottedPath(at)}` : '';
    return badRequest(dottedPath([...at, name]), `unknown field "${name}"${where}${known.length > 0 ? `; fields here: ${known.join(', ')}` : ': this request takes no fields'}`);
  }

  if (error.keyword === 'required') {
    const name = String(error.params.missingProperty);
    const own = (schema.properties?.[name] ?? {}) as AnySchemaObject;
    return fill(own.problems?.required ?? '{field} is required', [...at, name], undefined);
  }
  // A required field given as null is as good as missing (an optional one accepts null).
  if (error.keyword === 'type' && error.data === null && typeof at[at.length - 1] === 'string') {
    return fill(schema.problems?.required ?? '{field} is required', at, null);
  }
  if (error.keyword === 'type' && part === 'querystring' && Array.isArray(error.data)) {
    return badRequest(dottedPath(at), `query parameter ${dottedPath(at)} is given more than once`);
  }

  const own: string | undefined = schema.problems?.[error.keyword];
  if (own !== undefined) return fill(own, at, error.data, error);
  if (error.keyword === 'type') return fill(`{field} must be ${noun(schema)}`, at, error.data);
  if (error.keyword === 'enum') return fill('{field} must be one of {allowed}', at, error.data, error);
  return fill(`{field} ${error.message ?? 'is not valid'}`, at, error.data);
}

function noun(schema: AnySchemaObject): string {
  if (schema.type === 'array') return (schema.items as AnySchemaObject | undefined)?.type === 'string' ? 'a list of strings' : 'a list';
  return NOUNS[String(schema.type)] ?? `of type ${String(schema.type)}`;
}

function fill(template: string, path: ValuePath, value: unknown, error?: ErrorObject): ApiError {
  const allowed = error?.keyword === 'enum' ? (error.params.allowedValues as unknown[]).join(', ') : '';
  const values: Record<string, () => string> = {
    field: () => dottedPath(path),
    text: () => String(value),
    got: () => JSON.stringify(value) ?? 'undefined',
    allowed: () => allowed,
  };
  return badRequest(dottedPath(path), template.replace(/\{(field|text|got|allowed)\}/g, (_, name: string) => values[name]!()));
}

/** A JSON pointer's segments; digits are list indexes (bodies have no numeric field names). */
function pathOf(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}
