/**
 * The top of a policy document: apiVersion, kind, metadata and a spec whose schema depends on
 * the kind. Writes the document-level schema, explains ajv's errors about it (a kind people
 * try, such as Group, is told why it is not one), and assembles the typed document.
 */
import { accessPolicySpec } from './access-policy';
import { breakGlassPolicySpec } from './break-glass-policy';
import { clusterSettingsSpec } from './cluster-settings';
import { convertAt, type Decoder, type Explained, type JsonSchema } from './decoder';
import { describeNode, exampleText } from './decoders';
import { didYouMean, suggestAmong } from './did-you-mean';
import { policyMetadata } from './metadata';
import { POLICY_API_VERSION, POLICY_KINDS, type PolicyKind } from './document-envelope';
import type { PolicyDocument } from './policy-document';
import {
  PolicyBadApiVersionError,
  PolicyBadTypeError,
  PolicyMissingFieldError,
  PolicyUnknownFieldError,
  PolicyUnknownKindError,
} from './policy-errors';

export const SPEC_DECODERS: { readonly [K in PolicyKind]: Decoder<Extract<PolicyDocument, { kind: K }>['spec']> } = {
  AccessPolicy: accessPolicySpec,
  ClusterSettings: clusterSettingsSpec,
  BreakGlassPolicy: breakGlassPolicySpec,
};

export const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;

/** How to fill in a missing top-level field. */
const MISSING_HINTS: Readonly<Record<string, string>> = {
  apiVersion: `add apiVersion: ${POLICY_API_VERSION}`,
  kind: 'add kind: AccessPolicy, ClusterSettings or BreakGlassPolicy',
  metadata: 'add metadata: {name: ...}',
  spec: 'add the spec of the document',
};

/** Kinds people may try, and why they are not policy kinds. */
const NOT_A_POLICY_KIND: Readonly<Record<string, string>> = {
  Group:
    'group membership comes from the identity (certificate groups, identity-provider claims), not from policy files; name groups in subjects.groups',
  ClusterRole: 'it is a Kubernetes object: define it in the cluster and name it in an AccessPolicy\'s clusterRoles',
  Role: 'Kubernetes Roles are not referenced by kubegate: use a ClusterRole in clusterRoles with namespaces',
  ClusterRoleBinding: 'kubegate binds ClusterRoles itself: list them in an AccessPolicy\'s clusterRoles',
  RoleBinding: 'kubegate binds ClusterRoles itself: list them in an AccessPolicy\'s clusterRoles with namespaces',
};

export type WithoutSource<T> = T extends unknown ? Omit<T, 'source'> : never;

function property(schema: JsonSchema, description: string, example: unknown): JsonSchema {
  return { ...schema, description: `${description} Example: ${exampleText(example)}`, examples: [example] };
}

function explainKind(kind: unknown, node: Parameters<typeof describeNode>[0]): Explained {
  if (typeof kind !== 'string') {
    return { ErrorClass: PolicyBadTypeError, message: `kind must be one of ${POLICY_KINDS.join(', ')}, got ${describeNode(node)}` };
  }
  const why = NOT_A_POLICY_KIND[kind];
  return {
    ErrorClass: PolicyUnknownKindError,
    message: why
      ? `kind ${JSON.stringify(kind)} is not a policy kind: ${why}`
      : `unknown kind ${JSON.stringify(kind)}${didYouMean(kind, POLICY_KINDS) || ';'} kinds: ${POLICY_KINDS.join(', ')}`,
  };
}

/** One YAML document (already free of syntax errors) as a policy document. */
export const policyDocument: Decoder<WithoutSource<PolicyDocument>> = {
  expected: 'a mapping with apiVersion, kind, metadata and spec',
  schema(defs) {
    const metadata = policyMetadata.schema(defs);
    const branches = POLICY_KINDS.map((kind) => ({
      if: { properties: { kind: { const: kind } }, required: ['kind'] },
      then: { properties: { spec: SPEC_DECODERS[kind].schema(defs) } },
    }));
    return {
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
      required: [...TOP_LEVEL_FIELDS],
      additionalProperties: false,
      allOf: branches,
    };
  },
  explain(error): Explained {
    const at = error.schemaPath.join('/');
    if (at === 'type') {
      return {
        ErrorClass: PolicyBadTypeError,
        message: `a policy document must be a mapping with apiVersion, kind, metadata and spec, got ${describeNode(error.node)}`,
      };
    }
    if (at === 'required') {
      const name = String(error.params.missingProperty);
      return {
        ErrorClass: PolicyMissingFieldError,
        message: `missing required field ${JSON.stringify(name)} in the document: ${MISSING_HINTS[name] ?? ''}`,
        path: [name],
      };
    }
    if (at === 'additionalProperties') {
      const key = String(error.params.additionalProperty);
      const extra = key === 'status' ? '; policies have no status, remove it' : suggestAmong(key, TOP_LEVEL_FIELDS, 'fields here');
      return { ErrorClass: PolicyUnknownFieldError, message: `unknown field ${JSON.stringify(key)} in the document${extra}`, path: [key], anchor: 'key' };
    }
    if (at === 'properties/apiVersion/const') {
      return typeof error.data === 'string'
        ? { ErrorClass: PolicyBadApiVersionError, message: `apiVersion ${JSON.stringify(error.data)} is not supported: write apiVersion: ${POLICY_API_VERSION}` }
        : { ErrorClass: PolicyBadTypeError, message: `apiVersion must be ${POLICY_API_VERSION}, got ${describeNode(error.node)}` };
    }
    if (at === 'properties/kind/enum') return explainKind(error.data, error.node);
    return undefined;
  },
  convert(value, path, ctx) {
    const data = value as Record<string, unknown>;
    const kind = typeof data.kind === 'string' && (POLICY_KINDS as readonly string[]).includes(data.kind) ? (data.kind as PolicyKind) : undefined;
    const metadata = 'metadata' in data ? convertAt(policyMetadata, data.metadata, [...path, 'metadata'], ctx) : undefined;
    // The spec is only checked against the schema of a known kind: nothing else to convert.
    const spec = kind && 'spec' in data ? convertAt<unknown>(SPEC_DECODERS[kind], data.spec, [...path, 'spec'], ctx) : undefined;
    if (!kind || !metadata || spec === undefined) return undefined;
    return { apiVersion: POLICY_API_VERSION, kind, metadata, spec } as WithoutSource<PolicyDocument>;
  },
};
