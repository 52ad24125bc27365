import { exampleText, SchemaDefs, type JsonSchema } from './decoders';
import { policyMetadata } from './metadata';
import { POLICY_API_VERSION, POLICY_KINDS } from './policy-document';
import { SPEC_DECODERS } from './policy-document-decoder';

export const POLICY_SCHEMA_ID = 'https://kubegate.dev/schemas/policy/v1alpha1.schema.json';

/**
 * The JSON Schema (draft 2020-12) of a policy document, generated from the decoders that
 * validate files. policies/schema/v1alpha1.schema.json is this, written out; a test keeps the
 * two equal. The schema checks shape, names and formats; the validator additionally checks
 * what a schema cannot say well (time zones, conflicts, cross-document rules) and explains.
 */
export function policyJsonSchema(): JsonSchema {
  const defs = new SchemaDefs();
  const metadata = policyMetadata.schema(defs);
  const branches = POLICY_KINDS.map((kind) => ({
    if: { properties: { kind: { const: kind } }, required: ['kind'] },
    then: { properties: { spec: SPEC_DECODERS[kind].schema(defs) } },
  }));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: POLICY_SCHEMA_ID,
    title: `kubegate policy document (${POLICY_API_VERSION})`,
    description:
      'One kubegate policy document: AccessPolicy (who may do what, where, how and when), ClusterSettings (per-cluster switches) or BreakGlassPolicy (elevated access on request). Several documents may share a file, separated by ---. Reference: policies/README.md.',
    type: 'object',
    properties: {
      apiVersion: property({ const: POLICY_API_VERSION }, `The policy format version, always ${POLICY_API_VERSION}.`, POLICY_API_VERSION),
      kind: property({ enum: POLICY_KINDS }, `What the document is: ${POLICY_KINDS.join(', ')}.`, 'AccessPolicy'),
      metadata: property(metadata, "The document's name (unique per kind) and labels.", { name: 'payments-readonly-prod', labels: { team: 'payments' } }),
      // The spec's schema is chosen by kind in allOf below.
      spec: property({}, 'The content of the document; its fields depend on kind (AccessPolicySpec, ClusterSettingsSpec, BreakGlassPolicySpec).', {
        subjects: { groups: ['payments-engineers'] },
        clusters: { names: ['prod-eu-1'] },
        clusterRoles: [{ name: 'view' }],
      }),
    },
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    allOf: branches,
    $defs: defs.defs,
  };
}

function property(schema: JsonSchema, description: string, example: unknown): JsonSchema {
  return { ...schema, description: `${description} Example: ${exampleText(example)}`, examples: [example] };
}
