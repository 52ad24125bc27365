/**
 * Turns ajv's errors about one document into policy errors: the class and message come from
 * the decoder that wrote the failing part of the schema (it knows that `48h` is a duration and
 * `lsit` a verb), the position from walking ajv's instancePath into the YAML document.
 */
import type { ErrorObject } from 'ajv';
import type { Node } from 'yaml';
import type { DecodeContext, Path } from './decode-context';
import type { Explanation, SchemaError } from './decoder';
import { typeProblem, whereOf } from './decoders';
import { PolicyBadValueError } from './policy-errors';
import type { PolicySchemaValidator } from './schema-validator';

/** Keywords that only sum up errors reported inside them (`if` fails when its `then` does). */
const SUMMARIES = new Set(['if', 'allOf', 'anyOf', 'oneOf', 'not']);

/** Reports ajv's errors about `instance` (the JSON value of the document in `ctx`). */
export function reportSchemaErrors(errors: readonly ErrorObject[], instance: unknown, ctx: DecodeContext, validator: PolicySchemaValidator): void {
  const reported = ctx.errors.length;
  const explanations: { readonly error: SchemaError; readonly explanation: Explanation }[] = [];
  for (const raw of errors) {
    const path = instancePath(raw.instancePath, instance);
    ctx.schemaError(path, raw.keyword);
    const owner = validator.ownerOf(raw);
    const located = ctx.source.locate(path);
    const error: SchemaError = {
      keyword: raw.keyword,
      schemaPath: owner?.schemaPath ?? [raw.keyword],
      params: raw.params as Record<string, unknown>,
      path,
      data: valueAt(instance, path),
      node: located.found ? (located.value as Node | null) : null,
      dataAt: (p) => valueAt(instance, p),
    };
    const explained = owner ? owner.decoder.explain(error) : undefined;
    const explanation = explained === undefined ? fallback(error, raw) : explained;
    if (explanation) explanations.push({ error, explanation });
  }
  for (const { error, explanation } of explanations) {
    ctx.report(explanation.ErrorClass, explanation.path ?? error.path, explanation.message, explanation.anchor);
  }
  // Never let a refused document through because every error was judged said elsewhere.
  if (ctx.errors.length === reported && errors.length > 0) {
    for (const raw of errors) {
      const path = instancePath(raw.instancePath, instance);
      ctx.report(PolicyBadValueError, path, `${whereOf(path)} ${raw.message ?? 'is not valid'}`);
    }
  }
}

/** An error no decoder explained: said in ajv's words, or left to the errors it sums up. */
function fallback(error: SchemaError, raw: ErrorObject): Explanation | null {
  if (SUMMARIES.has(error.keyword)) return null;
  // Inside a branch of anyOf or oneOf, an error is one reason why the branch did not match.
  if (error.schemaPath.some((segment) => segment === 'anyOf' || segment === 'oneOf')) return null;
  if (error.keyword === 'type') return typeProblem(error, `of type ${String(error.params.type)}`);
  return { ErrorClass: PolicyBadValueError, message: `${whereOf(error.path)} ${raw.message ?? 'is not valid'}` };
}

/** ajv's JSON pointer (`/spec/rules/0/verbs/1`) as a path, numbers where the value is a list. */
function instancePath(pointer: string, instance: unknown): Path {
  const path: (string | number)[] = [];
  let value = instance;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const step: string | number = Array.isArray(value) ? Number(segment) : segment;
    path.push(step);
    value = stepInto(value, step);
  }
  return path;
}

function stepInto(value: unknown, step: string | number): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  return Object.prototype.hasOwnProperty.call(value, step) ? (value as Record<string | number, unknown>)[step] : undefined;
}

function valueAt(instance: unknown, path: Path): unknown {
  return path.reduce<unknown>(stepInto, instance);
}
