/**
 * Mappings with known fields: the `type: object` schema with `properties`, `required` and
 * `additionalProperties: false` that ajv enforces, the messages for its errors (an unknown
 * field gets the closest known one suggested), and the conversion of an accepted mapping into
 * a typed value followed by the cross-field rules a schema cannot state.
 */
import type { Path, PathSegment } from './decode-context';
import { convertAt, type Decoder, type Explained, type JsonSchema, type SchemaDefs, type SchemaError } from './decoder';
import { exampleText, typeProblem, whereOf } from './decoders';
import { closestMatch, suggestAmong } from './did-you-mean';
import { PolicyMissingFieldError, PolicyUnknownFieldError, type PolicyErrorClass } from './policy-errors';

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

/** Which fields a mapping of the document has. */
export interface FieldPresence {
  /**
   * Whether the field is written, even with an invalid value, or misspelled (an unknown key
   * that suggests it was meant): a typo is then reported once, as an unknown field.
   */
  has(field: string): boolean;
}

/** Handed to an object's cross-field check: where things are and how to report them. */
export interface ObjectCheck extends FieldPresence {
  readonly path: Path;
  /**
   * Reports an error at a field below this object (`['approval', 'minApprovals']`), at its key
   * when `atKey` is set; at the object (its key, if it has one) for an empty path.
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
  /** With `schemaExtras: {minProperties: 1}`: what an empty mapping is reported as. */
  readonly empty?: { readonly ErrorClass: PolicyErrorClass; readonly message: (where: string) => string };
  /**
   * Explains ajv errors from `schemaExtras` (oneOf, if/then/else, dependentSchemas), given
   * which fields the mapping at a path has.
   */
  readonly explain?: (error: SchemaError, fieldsAt: (path: Path) => FieldPresence) => Explained;
  /**
   * Cross-field rules the schema does not state. Runs even when some fields are invalid (they
   * are undefined then), so that independent mistakes are reported together; `has` tells
   * written-but-invalid from absent.
   */
  readonly check?: (value: Partial<T>, at: ObjectCheck) => void;
  readonly schemaExtras?: JsonSchema;
}

/** A mapping with known fields; anything else is an unknown field. */
export function object<T>(options: ObjectOptions<T>): Decoder<T> {
  const fieldNames = Object.keys(options.fields) as (keyof T & string)[];
  const fields = options.fields as Record<string, FieldBase<unknown> & { required?: boolean; default?: unknown }>;

  const presence = (data: unknown): FieldPresence => {
    const written = typeof data === 'object' && data !== null && !Array.isArray(data) ? Object.keys(data) : [];
    const misspelled = new Set(written.filter((k) => !(k in fields)).map((k) => closestMatch(k, fieldNames)));
    return { has: (field) => written.includes(field) || misspelled.has(field) };
  };

  const buildSchema = (defs: SchemaDefs): JsonSchema => {
    const properties: Record<string, JsonSchema> = {};
    for (const name of fieldNames) {
      const field = fields[name]!;
      properties[name] = defs.own(
        {
          ...field.decoder.schema(defs),
          description: `${field.description} Example: ${exampleText(field.example)}`,
          examples: [field.example],
          ...('default' in field ? { default: field.default } : {}),
        },
        field.decoder,
      );
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

  const self: Decoder<T> = {
    expected: options.expected,
    schema: (defs) => (options.schemaName ? defs.ref(options.schemaName, self, () => buildSchema(defs)) : buildSchema(defs)),
    explain(error) {
      const own = error.schemaPath.length === 1;
      const where = whereOf(error.path);
      if (own && error.keyword === 'type') return typeProblem(error, options.expected, options.typeHint ?? '');
      if (own && error.keyword === 'required') {
        const name = String(error.params.missingProperty);
        if (!(name in fields) || presence(error.data).has(name)) return null;
        const hint = fields[name]!.missingHint;
        return {
          ErrorClass: PolicyMissingFieldError,
          message: `missing required field ${JSON.stringify(name)} in ${where}${hint ? `: ${hint}` : ''}`,
          path: [...error.path, name],
        };
      }
      if (own && error.keyword === 'additionalProperties') {
        const key = String(error.params.additionalProperty);
        return {
          ErrorClass: PolicyUnknownFieldError,
          message: `unknown field ${JSON.stringify(key)} in ${where}${suggestAmong(key, fieldNames, 'fields here')}`,
          path: [...error.path, key],
          anchor: 'key',
        };
      }
      if (own && error.keyword === 'minProperties' && options.empty) {
        return { ErrorClass: options.empty.ErrorClass, message: options.empty.message(where), anchor: 'key' };
      }
      return options.explain?.(error, (path) => presence(error.dataAt(path)));
    },
    convert(value, path, ctx) {
      const data = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const name of fieldNames) {
        const field = fields[name]!;
        if (Object.prototype.hasOwnProperty.call(data, name)) {
          const converted = convertAt(field.decoder, data[name], [...path, name], ctx);
          if (converted !== undefined) out[name] = converted;
        } else if ('default' in field) {
          out[name] = field.default;
        }
      }
      options.check?.(out as Partial<T>, {
        path,
        has: presence(data).has,
        report(ErrorClass, at, message, opts) {
          ctx.report(ErrorClass, [...path, ...at], message, at.length === 0 || opts?.atKey ? 'key' : 'value');
        },
      });
      return out as T;
    },
  };
  return self;
}
