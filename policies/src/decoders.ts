/**
 * Decoders turn YAML nodes into typed, readonly policy values. Each one also describes itself
 * as JSON Schema, so the published schema (policies/schema/v1alpha1.schema.json) is generated
 * from the same definitions that validate files and cannot drift from them.
 *
 * A decoder reports every problem it finds to the DecodeContext and returns undefined when the
 * value is invalid; callers keep going, so one run reports every error of a file.
 */
import { isMap, isScalar, isSeq, stringify, type Node } from 'yaml';
import { formatPath, type DecodeContext, type Path, type PathSegment } from './decode-context';
import { closestMatch, suggestAmong } from './did-you-mean';
import {
  PolicyBadTypeError,
  PolicyBadValueError,
  PolicyConflictError,
  PolicyMissingFieldError,
  PolicyUnknownFieldError,
  type PolicyErrorClass,
} from './policy-errors';

export type JsonSchema = { readonly [keyword: string]: unknown };

/** Collects named schemas under `$defs` so shared shapes are written once and referenced. */
export class SchemaDefs {
  readonly defs: Record<string, JsonSchema> = {};
  ref(name: string, build: () => JsonSchema): JsonSchema {
    if (!(name in this.defs)) {
      this.defs[name] = {};
      this.defs[name] = build();
    }
    return { $ref: `#/$defs/${name}` };
  }
}

export interface Decoder<T> {
  /** What the value must be, for messages: "a list of verbs". */
  readonly expected: string;
  schema(defs: SchemaDefs): JsonSchema;
  /**
   * @param node the value node (possibly an alias)
   * @param keyNode the key the value belongs to, where errors about the whole value are placed
   *        when the value itself has no position (`key:` with nothing after it)
   */
  decode(node: Node | null, path: Path, ctx: DecodeContext, keyNode?: Node | null): T | undefined;
}

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
    if (v instanceof Date) return `a timestamp (${v.toISOString()})`;
  }
  return 'an unsupported value';
}

function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** The node to point at for an error about a whole value: the value, or its key when it is empty. */
function anchor(node: Node | null, keyNode: Node | null | undefined): Node | null {
  if (node?.range && node.range[0] < node.range[1]) return node;
  return keyNode ?? node;
}

function typeError(ctx: DecodeContext, node: Node | null, keyNode: Node | null | undefined, path: Path, expected: string, hint = ''): undefined {
  const where = path.length ? formatPath(path) : 'the document';
  const message = isNull(node)
    ? `${where} has no value: it must be ${expected}${hint}`
    : `${where} must be ${expected}, got ${describeNode(node)}${hint}`;
  ctx.report(PolicyBadTypeError, anchor(node, keyNode), path, message);
  return undefined;
}

/** Reports an error at the decoded value. */
export type Fail = (ErrorClass: PolicyErrorClass, message: string) => undefined;

export interface StringOptions<T> {
  readonly expected: string;
  /** The schema of the string, e.g. `{ type: 'string', pattern: ... }`. */
  readonly schema: JsonSchema;
  /** Checks and converts the text; reports through `fail` and returns undefined when invalid. */
  readonly parse?: (text: string, fail: Fail, path: Path) => T | undefined;
}

/** A string scalar. Numbers and booleans are refused (quote them), never converted. */
export function string<T = string>(options: StringOptions<T>): Decoder<T> {
  return {
    expected: options.expected,
    schema: () => options.schema,
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (!isScalar(node) || typeof node.value !== 'string') {
        const quote =
          isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')
            ? `; quote it: ${JSON.stringify(String(node.source ?? node.value))}`
            : '';
        return typeError(ctx, node, keyNode, path, options.expected, quote);
      }
      const text = node.value;
      if (!options.parse) return text as unknown as T;
      const fail: Fail = (ErrorClass, message) => {
        ctx.report(ErrorClass, node, path, message);
        return undefined;
      };
      return options.parse(text, fail, path);
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
    parse(text, fail, path) {
      if ((values as readonly string[]).includes(text)) return text as V;
      return fail(
        ErrorClass,
        `unknown ${options.noun} ${JSON.stringify(text)} at ${formatPath(path)}${suggestAmong(text, values)}`,
      );
    },
  });
}

export function boolean(): Decoder<boolean> {
  return {
    expected: 'true or false',
    schema: () => ({ type: 'boolean' }),
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (isScalar(node) && typeof node.value === 'boolean') return node.value;
      return typeError(ctx, node, keyNode, path, 'true or false');
    },
  };
}

/** The literal `true`, for switches whose only meaningful setting is on (`all: true`). */
export function literalTrue(offMessage: string): Decoder<true> {
  return {
    expected: 'true',
    schema: () => ({ const: true }),
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (isScalar(node) && node.value === true) return true;
      if (isScalar(node) && node.value === false) {
        ctx.report(PolicyBadValueError, node, path, `${formatPath(path)}: false ${offMessage}`);
        return undefined;
      }
      return typeError(ctx, node, keyNode, path, 'true');
    },
  };
}

export function integer(range: { readonly minimum: number; readonly maximum: number }): Decoder<number> {
  const expected = `a whole number from ${range.minimum} to ${range.maximum}`;
  return {
    expected,
    schema: () => ({ type: 'integer', minimum: range.minimum, maximum: range.maximum }),
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
        return typeError(ctx, node, keyNode, path, expected);
      }
      if (node.value < range.minimum || node.value > range.maximum) {
        ctx.report(PolicyBadValueError, node, path, `${formatPath(path)} is ${node.value}: it must be ${expected}`);
        return undefined;
      }
      return node.value;
    },
  };
}

export interface ListOptions {
  readonly expected: string;
  /** Singular noun for one entry, for messages: "verb". */
  readonly noun: string;
  /** "*" may appear only on its own: with other entries it is a contradiction in a security rule. */
  readonly wildcardAlone?: boolean;
  /** Schema keywords added to the array schema. */
  readonly schemaExtras?: JsonSchema;
}

/** A non-empty list. An empty list is refused: in a policy, "none" and "all" must never be guessed. */
export function list<T>(item: Decoder<T>, options: ListOptions): Decoder<readonly T[]> {
  return {
    expected: options.expected,
    schema: (defs) => ({ type: 'array', minItems: 1, items: item.schema(defs), ...options.schemaExtras }),
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (!isSeq(node)) {
        const hint =
          isScalar(node) && node.value !== null && node.source !== undefined ? `; write it as a list: [${node.source}]` : '';
        return typeError(ctx, node, keyNode, path, options.expected, hint);
      }
      if (node.items.length === 0) {
        ctx.report(PolicyBadValueError, node, path, `${formatPath(path)} is an empty list: list at least one ${options.noun}`);
        return undefined;
      }
      const out: T[] = [];
      let ok = true;
      node.items.forEach((child, i) => {
        const value = item.decode(child as Node | null, [...path, i], ctx);
        if (value === undefined) ok = false;
        else out.push(value);
      });
      if (options.wildcardAlone && node.items.length > 1) {
        const star = node.items.findIndex((child) => {
          const n = ctx.resolve(child as Node);
          return isScalar(n) && n.value === '*';
        });
        if (star >= 0) {
          ctx.report(
            PolicyConflictError,
            node.items[star] as Node,
            [...path, star],
            `"*" in ${formatPath(path)} already means every ${options.noun}: write only ["*"], or list the ${options.noun}s without "*"`,
          );
          ok = false;
        }
      }
      return ok ? out : undefined;
    },
  };
}

export interface StringMapOptions {
  readonly expected: string;
  /** Which error a bad key or value is. */
  readonly code: PolicyErrorClass;
  readonly keyPattern: string;
  readonly valuePattern: string;
  /** Returns what is wrong with a key, or undefined. */
  readonly checkKey: (key: string, where: string) => string | undefined;
  readonly checkValue: (value: string, where: string) => string | undefined;
}

/** A mapping of strings to strings (labels); keys and values are checked by the options. */
export function stringMap(options: StringMapOptions): Decoder<Readonly<Record<string, string>>> {
  return {
    expected: options.expected,
    schema: () => ({
      type: 'object',
      minProperties: 1,
      patternProperties: { [options.keyPattern]: { type: 'string', pattern: options.valuePattern } },
      additionalProperties: false,
    }),
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (!isMap(node)) return typeError(ctx, node, keyNode, path, options.expected);
      if (node.items.length === 0) {
        ctx.report(PolicyBadValueError, node, path, `${formatPath(path)} is an empty mapping: give at least one entry or remove the field`);
        return undefined;
      }
      const out: Record<string, string> = {};
      let ok = true;
      for (const pair of node.items) {
        const k = ctx.resolve(pair.key as Node);
        if (!isScalar(k) || typeof k.value !== 'string') {
          typeError(ctx, k, null, path, 'a mapping with string keys');
          ok = false;
          continue;
        }
        const itemPath = [...path, k.value];
        const keyProblem = options.checkKey(k.value, formatPath(itemPath));
        if (keyProblem) {
          ctx.report(options.code, k, itemPath, keyProblem);
          ok = false;
        }
        const v = ctx.resolve(pair.value as Node | null);
        if (!isScalar(v) || typeof v.value !== 'string') {
          const quote =
            isScalar(v) && (typeof v.value === 'number' || typeof v.value === 'boolean')
              ? `; quote it: ${JSON.stringify(String(v.source ?? v.value))}`
              : '';
          typeError(ctx, v, k, itemPath, 'a string', quote);
          ok = false;
          continue;
        }
        const valueProblem = options.checkValue(v.value, formatPath(itemPath));
        if (valueProblem) {
          ctx.report(options.code, v, itemPath, valueProblem);
          ok = false;
          continue;
        }
        out[k.value] = v.value;
      }
      return ok ? out : undefined;
    },
  };
}

/** Converts a decoded value; the schema is unchanged. */
export function mapDecoder<A, B>(decoder: Decoder<A>, convert: (value: A) => B): Decoder<B> {
  return {
    expected: decoder.expected,
    schema: (defs) => decoder.schema(defs),
    decode(node, path, ctx, keyNode) {
      const value = decoder.decode(node, path, ctx, keyNode);
      return value === undefined ? undefined : convert(value);
    },
  };
}

interface FieldBase<V> {
  readonly decoder: Decoder<V>;
  /** What the field means; becomes the schema description. */
  readonly description: string;
  /** A typical value, shown in the schema (description and `examples`). */
  readonly example: unknown;
  /** Appended to the "missing required field" message, e.g. how to fill it in. */
  readonly missingHint?: string;
}
export interface OptionalField<V> extends FieldBase<V> {
  readonly required?: false;
}
export interface RequiredField<V> extends FieldBase<V> {
  readonly required: true;
}
/** Optional in the file; the decoded value has the default when the field is absent. */
export interface DefaultedField<V> extends FieldBase<V> {
  readonly required?: false;
  readonly default: V;
}

/** One field spec per property of T: optional properties take optional fields, others required or defaulted ones. */
export type Fields<T> = {
  readonly [K in keyof T & string]-?: undefined extends T[K]
    ? OptionalField<Exclude<T[K], undefined>>
    : RequiredField<T[K]> | DefaultedField<T[K]>;
};

/** Handed to an object's cross-field check: where things are and how to report them. */
export interface ObjectCheck {
  readonly path: Path;
  /**
   * Whether the field is written in the document, even with an invalid value, or misspelled (an
   * unknown key that suggests it was meant): a typo is then reported once, as an unknown field.
   */
  has(field: string): boolean;
  /**
   * Reports an error at a field below this object (`['approval', 'minApprovals']`), at its key
   * when `atKey` is set; at the object itself for an empty path.
   */
  report(ErrorClass: PolicyErrorClass, at: readonly PathSegment[], message: string, options?: { readonly atKey?: boolean }): void;
}

export interface ObjectOptions<T> {
  readonly expected: string;
  /** Named objects are written once under `$defs` in the schema. */
  readonly schemaName?: string;
  /** What the object is, for its `$defs` entry. */
  readonly description?: string;
  readonly fields: Fields<T>;
  /** Added to type errors, e.g. how the mapping is written. */
  readonly typeHint?: string;
  /**
   * Cross-field rules. Runs even when some fields are invalid (they are undefined then), so that
   * independent mistakes are reported together; `has` tells written-but-invalid from absent.
   */
  readonly check?: (value: Partial<T>, at: ObjectCheck) => void;
  readonly schemaExtras?: JsonSchema;
}

/** An example as it would be written in a policy file, on one line: `{ within: 15m }`. */
export function exampleText(example: unknown): string {
  return stringify(example, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trim();
}

/** A mapping with known fields; anything else is an unknown field. */
export function object<T>(options: ObjectOptions<T>): Decoder<T> {
  const fieldNames = Object.keys(options.fields) as (keyof T & string)[];
  const fields = options.fields as Record<string, FieldBase<unknown> & { required?: boolean; default?: unknown }>;

  const buildSchema = (defs: SchemaDefs): JsonSchema => {
    const properties: Record<string, JsonSchema> = {};
    for (const name of fieldNames) {
      const field = fields[name]!;
      properties[name] = {
        ...field.decoder.schema(defs),
        description: `${field.description} Example: ${exampleText(field.example)}`,
        examples: [field.example],
        ...('default' in field ? { default: field.default } : {}),
      };
    }
    const required = fieldNames.filter((n) => fields[n]!.required === true);
    return {
      type: 'object',
      ...(options.description ? { description: options.description } : {}),
      properties,
      ...(required.length ? { required } : {}),
      additionalProperties: false,
      ...options.schemaExtras,
    };
  };

  return {
    expected: options.expected,
    schema: (defs) => (options.schemaName ? defs.ref(options.schemaName, () => buildSchema(defs)) : buildSchema(defs)),
    decode(raw, path, ctx, keyNode) {
      const node = ctx.resolve(raw);
      if (!isMap(node)) return typeError(ctx, node, keyNode, path, options.expected, options.typeHint ?? '');
      const where = path.length ? formatPath(path) : 'the document';
      const errorsBefore = ctx.errors.length;
      const present = new Map<string, { key: Node; value: Node | null }>();
      // Fields an unknown key was probably meant to be: not reported missing a second time.
      const misspelled = new Set<string>();

      for (const pair of node.items) {
        const key = ctx.resolve(pair.key as Node | null);
        if (!isScalar(key) || typeof key.value !== 'string') {
          typeError(ctx, key, null, path, 'a mapping with string keys');
          continue;
        }
        if (!(key.value in fields)) {
          const meant = closestMatch(key.value, fieldNames);
          if (meant !== undefined) misspelled.add(meant);
          ctx.report(
            PolicyUnknownFieldError,
            key,
            [...path, key.value],
            `unknown field ${JSON.stringify(key.value)} in ${where}${suggestAmong(key.value, fieldNames, 'fields here')}`,
          );
          continue;
        }
        present.set(key.value, { key: key as Node, value: (pair.value as Node | null) ?? null });
      }

      const out: Record<string, unknown> = {};
      for (const name of fieldNames) {
        const field = fields[name]!;
        const entry = present.get(name);
        if (!entry) {
          if (field.required && !misspelled.has(name)) {
            ctx.report(
              PolicyMissingFieldError,
              keyNode ?? node,
              [...path, name],
              `missing required field ${JSON.stringify(name)} in ${where}${field.missingHint ? `: ${field.missingHint}` : ''}`,
            );
          } else if ('default' in field) {
            out[name] = field.default;
          }
          continue;
        }
        const value = field.decoder.decode(entry.value, [...path, name], ctx, entry.key);
        if (value !== undefined) out[name] = value;
      }

      if (options.check) {
        options.check(out as Partial<T>, {
          path,
          has: (field) => present.has(field) || misspelled.has(field),
          report(ErrorClass, at, message, opts) {
            if (at.length === 0) {
              ctx.report(ErrorClass, keyNode ?? node, path, message);
              return;
            }
            const located = ctx.source.locate(at, node);
            const target = !located.found
              ? (located.key ?? located.value)
              : opts?.atKey && located.key
                ? located.key
                : located.value;
            ctx.report(ErrorClass, anchor(target, located.key), [...path, ...at], message);
          },
        });
      }
      return ctx.errors.length === errorsBefore ? (out as T) : undefined;
    },
  };
}
