/**
 * The JSON Schema pieces the API's routes share. Each route declares the params, query and
 * body it accepts as JSON Schema, and Fastify checks them with ajv before the handler runs, so
 * a handler starts from input of the right shape and deals only with what a schema cannot say
 * (does the user exist, is the duration within the policy's maximum).
 *
 * A piece may carry its own wording in `problems` (keyword → message; see
 * validation-errors.ts for the placeholders). Bodies are closed: a field the route does not
 * know is refused, so a misspelt `group` for `groups` never creates a user with no groups.
 * Optional fields take null as "not given", as the API always has.
 */

export type JsonSchema = { readonly [keyword: string]: unknown };

/** A string with something other than white space in it. */
export const NON_BLANK_STRING: JsonSchema = { type: 'string', pattern: '\\S', problems: { pattern: '{field} must not be empty' } };

/** A string that may be left out; null counts as left out. */
export const OPTIONAL_STRING: JsonSchema = { type: 'string', nullable: true };

/** A list of strings (the message for a wrong type says so). */
export const STRING_LIST: JsonSchema = { type: 'array', items: { type: 'string' } };

/** A list of strings that may be left out; null counts as left out. */
export const OPTIONAL_STRING_LIST: JsonSchema = { ...STRING_LIST, nullable: true };

/** A request body: a JSON object with only these fields, of which `required` must be given. */
export function bodyWith(properties: Readonly<Record<string, JsonSchema>>, required: readonly string[] = []): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

/** The body of a request that takes no fields: none at all, or `{}`. */
export const NO_FIELDS: JsonSchema = bodyWith({});

/** Path parameters: each one path segment, percent-decoded. */
export function pathParams(properties: Readonly<Record<string, JsonSchema>>): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties) };
}

/** A path parameter that is any one segment. */
export const SEGMENT: JsonSchema = { type: 'string' };

/**
 * Query parameters, each given at most once (a repeated one arrives as a list and is refused).
 * `closed`: unknown parameters are refused too, for queries whose misspelt filter would
 * otherwise be ignored and answer with more than was asked for.
 */
export function queryWith(properties: Readonly<Record<string, JsonSchema>>, closed: boolean): JsonSchema {
  return { type: 'object', properties, ...(closed && { additionalProperties: false }) };
}
