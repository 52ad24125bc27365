/**
 * The building blocks of policy decoders: strings, enums, booleans, whole numbers, lists and
 * label maps (mappings are in object-decoder.ts). Each writes its JSON Schema, turns ajv's
 * errors about that schema into messages that say what to write instead, and converts values
 * the schema accepted. Lists being non-empty, numbers being in range, strings matching their
 * pattern: ajv checks all of that; what is left here is what a schema cannot say.
 */
import { isMap, isScalar, isSeq, stringify, type Node } from 'yaml';
import { formatPath, type DecodeContext, type Path } from './decode-context';
import { convertAt, schemaOf, type Decoder, type Explained, type Explanation, type JsonSchema, type SchemaError } from './decoder';
import { suggestAmong } from './did-you-mean';
import { PolicyBadTypeError, PolicyBadValueError, PolicyConflictError, type PolicyErrorClass } from './policy-errors';

/** Shown in type errors: what the document actually has there. */
export function describeNode(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return 'nothing (null)';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `a string (${JSON.stringify(v)})`;
    if (typeof v === 'number' || typeof v === 'bigint') return `a number (${String(v)})`;
    if (typeof v === 'boolean') return `a boolean (${String(v)})`;
  }
  return 'an unsupported value';
}

/** Where a value is, for messages: its path, or "the document" for the whole document. */
export function whereOf(path: Path): string {
  return path.length ? formatPath(path) : 'the document';
}

/** "must be X, got Y" for a value of the wrong type, or "has no value" for an empty one. */
export function typeProblem(error: SchemaError, expected: string, hint = ''): Explanation {
  const where = whereOf(error.path);
  const message =
    error.data === null || error.data === undefined
      ? `${where} has no value: it must be ${expected}${hint}`
      : `${where} must be ${expected}, got ${describeNode(error.node)}${hint}`;
  return { ErrorClass: PolicyBadTypeError, message };
}

/** `; quote it: "1.2"` for a number or boolean where a string belongs: YAML never converts them. */
function quoteHint(node: Node | null): string {
  return isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')
    ? `; quote it: ${JSON.stringify(String(node.source ?? node.value))}`
    : '';
}

/** What is wrong with a text, in a policy author's terms. */
export interface Problem {
  readonly ErrorClass: PolicyErrorClass;
  readonly message: string;
}

/** Reports an error at the converted value. */
export type Fail = (ErrorClass: PolicyErrorClass, message: string) => undefined;

export interface StringOptions<T> {
  readonly expected: string;
  /** The schema of the string, e.g. `{ type: 'string', pattern: ... }`. */
  readonly schema: JsonSchema;
  /** Why the schema refused the text (its pattern, length or enum). */
  readonly refused?: (text: string, path: Path, error: SchemaError) => Problem | undefined;
  /** Converts a text the schema accepted; reports through `fail` what the schema cannot check. */
  readonly convert?: (text: string, fail: Fail, path: Path) => T | undefined;
}

/** A string scalar. Numbers and booleans are refused (quote them), never converted. */
export function string<T = string>(options: StringOptions<T>): Decoder<T> {
  return {
    expected: options.expected,
    schema: () => options.schema,
    explain(error) {
      if (error.keyword === 'type') return typeProblem(error, options.expected, quoteHint(error.node));
      return typeof error.data === 'string' ? options.refused?.(error.data, error.path, error) : undefined;
    },
    convert(value, path, ctx) {
      const text = value as string;
      if (!options.convert) return text as unknown as T;
      const fail: Fail = (ErrorClass, message) => {
        ctx.report(ErrorClass, path, message);
        return undefined;
      };
      return options.convert(text, fail, path);
    },
  };
}

/** One of a fixed set of strings; a near miss gets a suggestion. */
export function oneOf<const V extends string>(
  values: readonly V[],
  options: { readonly noun: string; readonly code?: PolicyErrorClass },
): Decoder<V> {
  const ErrorClass = options.code ?? PolicyBadValueError;
  return string<V>({
    expected: `one of ${values.join(', ')}`,
    schema: { type: 'string', enum: values },
    refused: (text, path) => ({
      ErrorClass,
      message: `unknown ${options.noun} ${JSON.stringify(text)} at ${formatPath(path)}${suggestAmong(text, values)}`,
    }),
  });
}

export function boolean(): Decoder<boolean> {
  return {
    expected: 'true or false',
    schema: () => ({ type: 'boolean' }),
    explain: (error) => (error.keyword === 'type' ? typeProblem(error, 'true or false') : undefined),
    convert: (value) => value as boolean,
  };
}

/** The literal `true`, for switches whose only meaningful setting is on (`all: true`). */
export function literalTrue(offMessage: string): Decoder<true> {
  return {
    expected: 'true',
    schema: () => ({ const: true }),
    explain(error) {
      if (error.keyword !== 'const') return undefined;
      if (error.data === false) return { ErrorClass: PolicyBadValueError, message: `${formatPath(error.path)}: false ${offMessage}` };
      return typeProblem(error, 'true');
    },
    convert: () => true,
  };
}

export function integer(range: { readonly minimum: number; readonly maximum: number }): Decoder<number> {
  const expected = `a whole number from ${range.minimum} to ${range.maximum}`;
  return {
    expected,
    schema: () => ({ type: 'integer', minimum: range.minimum, maximum: range.maximum }),
    explain(error) {
      if (error.keyword === 'type') return typeProblem(error, expected);
      if (error.keyword === 'minimum' || error.keyword === 'maximum') {
        return { ErrorClass: PolicyBadValueError, message: `${formatPath(error.path)} is ${String(error.data)}: it must be ${expected}` };
      }
      return undefined;
    },
    convert: (value) => value as number,
  };
}

export interface ListOptions {
  readonly expected: string;
  /** Singular noun for one entry, for messages: "verb". */
  readonly noun: string;
  /** "*" may appear only on its own: with other entries it is a contradiction in a security rule. */
  readonly wildcardAlone?: boolean;
}

/** A non-empty list. An empty list is refused: in a policy, "none" and "all" must never be guessed. */
export function list<T>(item: Decoder<T>, options: ListOptions): Decoder<readonly T[]> {
  return {
    expected: options.expected,
    schema: (defs) => ({ type: 'array', minItems: 1, items: schemaOf(item, defs) }),
    explain(error): Explained {
      if (error.keyword === 'type') {
        const node = error.node;
        const hint = isScalar(node) && node.value !== null && node.source !== undefined ? `; write it as a list: [${node.source}]` : '';
        return typeProblem(error, options.expected, hint);
      }
      if (error.keyword === 'minItems') {
        return { ErrorClass: PolicyBadValueError, message: `${formatPath(error.path)} is an empty list: list at least one ${options.noun}` };
      }
      return undefined;
    },
    convert(value, path, ctx) {
      const items = value as readonly unknown[];
      const out = items.map((v, i) => convertAt(item, v, [...path, i], ctx));
      if (options.wildcardAlone && items.length > 1) {
        const star = items.indexOf('*');
        if (star >= 0) {
          ctx.report(
            PolicyConflictError,
            [...path, star],
            `"*" in ${formatPath(path)} already means every ${options.noun}: write only ["*"], or list the ${options.noun}s without "*"`,
          );
        }
      }
      return out as T[];
    },
  };
}

export interface StringMapOptions {
  readonly expected: string;
  /** Which error a bad key is. */
  readonly code: PolicyErrorClass;
  readonly keyPattern: string;
  /** What is wrong with a key the pattern refused. */
  readonly keyProblem: (key: string, where: string) => string | undefined;
  /** The values; they explain their own errors. */
  readonly value: Decoder<string>;
}

/** A mapping of strings to strings (labels): keys must match `keyPattern`, values are `value`. */
export function stringMap(options: StringMapOptions): Decoder<Readonly<Record<string, string>>> {
  return {
    expected: options.expected,
    schema: (defs) => ({
      type: 'object',
      minProperties: 1,
      patternProperties: { [options.keyPattern]: schemaOf(options.value, defs) },
      additionalProperties: false,
    }),
    explain(error): Explained {
      if (error.keyword === 'type') return typeProblem(error, options.expected);
      if (error.keyword === 'minProperties') {
        return { ErrorClass: PolicyBadValueError, message: `${formatPath(error.path)} is an empty mapping: give at least one entry or remove the field` };
      }
      if (error.keyword === 'additionalProperties') {
        const key = String(error.params.additionalProperty);
        const path = [...error.path, key];
        const message = options.keyProblem(key, formatPath(path));
        return message === undefined ? undefined : { ErrorClass: options.code, message, path, anchor: 'key' };
      }
      return undefined;
    },
    convert(value, path, ctx) {
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        const converted = convertAt(options.value, v, [...path, key], ctx);
        if (converted !== undefined) out[key] = converted;
      }
      return out;
    },
  };
}

/** Converts a decoded value; the schema and its explanations are the wrapped decoder's. */
export function mapDecoder<A, B>(decoder: Decoder<A>, convert: (value: A) => B): Decoder<B> {
  return {
    expected: decoder.expected,
    schema: (defs) => decoder.schema(defs),
    explain: (error) => decoder.explain(error),
    convert(value, path, ctx) {
      const converted = decoder.convert(value, path, ctx);
      return converted === undefined || ctx.failedAtOrBelow(path) ? undefined : convert(converted);
    },
  };
}

/** An example as it would be written in a policy file, on one line: `{ within: 15m }`. */
export function exampleText(example: unknown): string {
  return stringify(example, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trim();
}
