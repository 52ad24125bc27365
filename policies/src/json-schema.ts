/**
 * The JSON Schema (draft 2020-12) of a policy document, generated from the decoders. It is what
 * ajv validates every document against (schema-validator.ts), and, written out, the published
 * policies/schema/v1alpha1.schema.json (a test keeps the two equal). What it cannot say well
 * (time zones, conflicts, cross-document rules) the decoders check after it.
 */
import { SchemaDefs, type JsonSchema } from './decoder';
import { policyDocument } from './policy-document-decoder';

export const POLICY_SCHEMA_ID = 'https://kubegate.dev/schemas/policy/v1alpha1.schema.json';

/** The schema, and which decoder wrote each part of it. */
export function buildPolicySchema(): { readonly schema: JsonSchema; readonly defs: SchemaDefs } {
  const defs = new SchemaDefs();
  const schema = defs.own(
    {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: POLICY_SCHEMA_ID,
      ...policyDocument.schema(defs),
      $defs: defs.defs,
    },
    policyDocument,
  );
  return { schema, defs };
}

export function policyJsonSchema(): JsonSchema {
  return buildPolicySchema().schema;
}
