/**
 * The one validator of policy documents: ajv, compiled once over the schema the decoders
 * generate (the same schema that is published). Also answers, for each ajv error, which
 * decoder wrote the failing part of the schema, so that the error is explained by the code
 * that knows what the field means.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type { Decoder, SchemaDefs } from './decoder';
import { buildPolicySchema } from './json-schema';

/** The decoder that wrote a failing schema, and where the keyword sits below its own schema. */
export interface SchemaOwner {
  readonly decoder: Decoder<unknown>;
  readonly schemaPath: readonly string[];
}

export interface PolicySchemaValidator {
  readonly validate: ValidateFunction;
  /** The owner of an error's schema; undefined if the schema has no such place (never expected). */
  ownerOf(error: ErrorObject): SchemaOwner | undefined;
}

let compiled: PolicySchemaValidator | undefined;

export function policySchemaValidator(): PolicySchemaValidator {
  compiled ??= compile();
  return compiled;
}

function compile(): PolicySchemaValidator {
  const { schema, defs } = buildPolicySchema();
  // allErrors: one run reports every mistake. verbose: errors carry parentSchema, the very
  // object of the generated schema, which tells whose it is. strictRequired is off because
  // oneOf branches name required fields that the enclosing object defines.
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false });
  const validate = ajv.compile(schema);
  const index = indexOwners(schema, defs);
  return {
    validate,
    ownerOf(error) {
      if (error.keyword === 'false schema') return index.falseSchemaOwner(decodePointer(error.schemaPath).slice(0, -1));
      const place = typeof error.parentSchema === 'object' && error.parentSchema !== null ? index.owned.get(error.parentSchema) : undefined;
      return place && { decoder: place.decoder, schemaPath: [...place.schemaPath, error.keyword] };
    },
  };
}

/** Keywords whose values are data or text, not schemas. */
const NOT_SCHEMAS = new Set(['examples', 'enum', 'const', 'default', 'required', 'description', 'title']);
/** Keywords whose values map names (of fields, patterns, definitions) to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);

/**
 * Every object of the schema with its nearest owning decoder, and every `false` subschema by
 * its JSON pointer (ajv reports those without an object to recognise them by).
 */
function indexOwners(schema: object, defs: SchemaDefs) {
  const owned = new Map<object, SchemaOwner>();
  const falses: { pointer: readonly string[]; owner: SchemaOwner }[] = [];
  type Owner = { decoder: Decoder<unknown>; base: number } | undefined;
  const walk = (node: unknown, pointer: readonly string[], owner: Owner, names = false): void => {
    if (node === false && owner) falses.push({ pointer, owner: { decoder: owner.decoder, schemaPath: [...pointer.slice(owner.base), 'false schema'] } });
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...pointer, String(i)], owner));
      return;
    }
    if (names) {
      // A field named `required` is a schema like any other.
      for (const [key, value] of Object.entries(node)) walk(value, [...pointer, key], owner);
      return;
    }
    const decoder = defs.owners.get(node);
    const here = decoder ? { decoder, base: pointer.length } : owner;
    if (here) owned.set(node, { decoder: here.decoder, schemaPath: pointer.slice(here.base) });
    for (const [key, value] of Object.entries(node)) if (!NOT_SCHEMAS.has(key)) walk(value, [...pointer, key], here, SCHEMA_MAPS.has(key));
  };
  walk(schema, [], undefined);
  return {
    owned,
    /**
     * ajv gives the pointer of a `false` from the document's root, or from the `$defs` entry it
     * compiled on its own; the latter is found as the one `$defs` pointer that ends with it.
     */
    falseSchemaOwner(pointer: readonly string[]): SchemaOwner | undefined {
      const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s, i) => s === b[i]);
      const exact = falses.find((f) => same(f.pointer, pointer));
      if (exact) return exact.owner;
      const inDefs = falses.filter((f) => f.pointer[0] === '$defs' && same(f.pointer.slice(2), pointer));
      return inDefs.length === 1 ? inDefs[0]!.owner : undefined;
    },
  };
}

/** `#/$defs/Rule/properties/apiGroups` as segments, unescaped. */
function decodePointer(pointer: string): string[] {
  return pointer
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((segment) => decodeURIComponent(segment).replace(/~1/g, '/').replace(/~0/g, '~'));
}
