/**
 * What a decoder is. The JSON Schema a decoder describes is what ajv checks (types, required
 * and unknown fields, enums, patterns, ranges); the decoder then only explains ajv's errors
 * about its own schema in the words of a policy author, and converts values the schema
 * accepted into typed values, checking what a schema cannot say (contradictions, calendars,
 * time zones). One description, one validator: the published schema is exactly what runs.
 */
import type { Node } from 'yaml';
import type { DecodeContext, Path } from './decode-context';
import type { PolicyErrorClass } from './policy-errors';

export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * Collects named schemas under `$defs` so shared shapes are written once and referenced, and
 * remembers which decoder wrote each schema object, so that an ajv error can be handed to the
 * decoder that knows what it means.
 */
export class SchemaDefs {
  readonly defs: Record<string, JsonSchema> = {};
  readonly owners = new WeakMap<object, Decoder<unknown>>();

  ref(name: string, owner: Decoder<unknown>, build: () => JsonSchema): JsonSchema {
    if (!(name in this.defs)) {
      this.defs[name] = {};
      this.defs[name] = this.own(build(), owner);
    }
    return { $ref: `#/$defs/${name}` };
  }

  /** Records that `decoder` wrote `schema` (a fresh object); returns it. */
  own<S extends JsonSchema>(schema: S, decoder: Decoder<unknown>): S {
    this.owners.set(schema, decoder);
    return schema;
  }
}

/** The schema of a decoder as a fresh object owned by it, ready to be placed in a parent schema. */
export function schemaOf(decoder: Decoder<unknown>, defs: SchemaDefs, extra: JsonSchema = {}): JsonSchema {
  return defs.own({ ...decoder.schema(defs), ...extra }, decoder);
}

/** An ajv error, as handed to the decoder that owns the failing schema. */
export interface SchemaError {
  /** The ajv keyword: type, required, additionalProperties, enum, pattern, oneOf, ... */
  readonly keyword: string;
  /** Where the keyword sits below the decoder's own schema: `['then', 'required']`; last is the keyword. */
  readonly schemaPath: readonly string[];
  readonly params: Readonly<Record<string, unknown>>;
  /** The value ajv refused, and its path in the document. */
  readonly path: Path;
  readonly data: unknown;
  /** The YAML node of the value, when the document has one (for "got a number (1.2)"). */
  readonly node: Node | null;
  /** Any value of the document, by path: for errors whose meaning depends on a neighbour. */
  dataAt(path: Path): unknown;
}

/** Where an error is placed: on the value, or on the key of the field (the value if there is no key). */
export type Anchor = 'value' | 'key';

/** A policy error, said in the policy author's terms. */
export interface Explanation {
  readonly ErrorClass: PolicyErrorClass;
  readonly message: string;
  /** Defaults to the error's path. */
  readonly path?: Path;
  readonly anchor?: Anchor;
}

/** `null`: said better by another error of the same run. `undefined`: not this decoder's to say. */
export type Explained = Explanation | null | undefined;

export interface Decoder<T> {
  /** What the value must be, for messages: "a list of verbs". */
  readonly expected: string;
  schema(defs: SchemaDefs): JsonSchema;
  /** Says what an ajv error about this decoder's schema means. */
  explain(error: SchemaError): Explained;
  /**
   * Converts a value the schema accepted into its typed form and reports, through `ctx`, what
   * the schema cannot check. Parts of the value that ajv refused are skipped (see convertAt);
   * returns undefined when anything at or below `path` is wrong.
   */
  convert(value: unknown, path: Path, ctx: DecodeContext): T | undefined;
}

/** Converts the value at `path` unless ajv refused the value itself (its type, enum, pattern...). */
export function convertAt<T>(decoder: Decoder<T>, value: unknown, path: Path, ctx: DecodeContext): T | undefined {
  if (ctx.refused(path)) return undefined;
  const converted = decoder.convert(value, path, ctx);
  return ctx.failedAtOrBelow(path) ? undefined : converted;
}
