import { isMap, isScalar, type Node } from 'yaml';
import { accessPolicySpec } from './access-policy';
import { breakGlassPolicySpec } from './break-glass-policy';
import { clusterSettingsSpec } from './cluster-settings';
import type { DecodeContext } from './decode-context';
import { describeNode, type Decoder } from './decoders';
import { didYouMean, suggestAmong } from './did-you-mean';
import { policyMetadata } from './metadata';
import { POLICY_API_VERSION, POLICY_KINDS, type PolicyDocument, type PolicyKind } from './policy-document';
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

/** Decodes one YAML document (already free of syntax errors) into a policy document. */
export function decodePolicyDocument(ctx: DecodeContext): WithoutSource<PolicyDocument> | undefined {
  const root = ctx.source.root;
  if (!isMap(root)) {
    ctx.report(
      PolicyBadTypeError,
      root,
      [],
      `a policy document must be a mapping with apiVersion, kind, metadata and spec, got ${describeNode(root)}`,
    );
    return undefined;
  }
  const errorsBefore = ctx.errors.length;
  const fields = new Map<string, { key: Node; value: Node | null }>();
  for (const pair of root.items) {
    const key = pair.key as Node;
    if (!isScalar(key) || typeof key.value !== 'string') {
      ctx.report(PolicyBadTypeError, key, [], `document keys must be strings, got ${describeNode(key)}`);
      continue;
    }
    if (!(TOP_LEVEL_FIELDS as readonly string[]).includes(key.value)) {
      const extra = key.value === 'status' ? '; policies have no status, remove it' : suggestAmong(key.value, TOP_LEVEL_FIELDS, 'fields here');
      ctx.report(PolicyUnknownFieldError, key, [key.value], `unknown field ${JSON.stringify(key.value)} in the document${extra}`);
      continue;
    }
    fields.set(key.value, { key, value: (pair.value as Node | null) ?? null });
  }
  const missing = (name: string, hint: string): undefined => {
    ctx.report(PolicyMissingFieldError, root, [name], `missing required field ${JSON.stringify(name)} in the document: ${hint}`);
    return undefined;
  };

  const apiVersionField = fields.get('apiVersion');
  const apiVersionNode = ctx.resolve(apiVersionField?.value);
  if (!apiVersionField) missing('apiVersion', `add apiVersion: ${POLICY_API_VERSION}`);
  else if (!isScalar(apiVersionNode) || typeof apiVersionNode.value !== 'string') {
    ctx.report(PolicyBadTypeError, apiVersionNode ?? apiVersionField.key, ['apiVersion'], `apiVersion must be ${POLICY_API_VERSION}, got ${describeNode(apiVersionNode)}`);
  } else if (apiVersionNode.value !== POLICY_API_VERSION) {
    ctx.report(
      PolicyBadApiVersionError,
      apiVersionNode,
      ['apiVersion'],
      `apiVersion ${JSON.stringify(apiVersionNode.value)} is not supported: write apiVersion: ${POLICY_API_VERSION}`,
    );
  }

  let kind: PolicyKind | undefined;
  const kindField = fields.get('kind');
  const kindNode = ctx.resolve(kindField?.value);
  if (!kindField) missing('kind', 'add kind: AccessPolicy, ClusterSettings or BreakGlassPolicy');
  else if (!isScalar(kindNode) || typeof kindNode.value !== 'string') {
    ctx.report(PolicyBadTypeError, kindNode ?? kindField.key, ['kind'], `kind must be one of ${POLICY_KINDS.join(', ')}, got ${describeNode(kindNode)}`);
  } else if ((POLICY_KINDS as readonly string[]).includes(kindNode.value)) {
    kind = kindNode.value as PolicyKind;
  } else {
    const why = NOT_A_POLICY_KIND[kindNode.value];
    ctx.report(
      PolicyUnknownKindError,
      kindNode,
      ['kind'],
      why
        ? `kind ${JSON.stringify(kindNode.value)} is not a policy kind: ${why}`
        : `unknown kind ${JSON.stringify(kindNode.value)}${didYouMean(kindNode.value, POLICY_KINDS) || ';'} kinds: ${POLICY_KINDS.join(', ')}`,
    );
  }

  const metadataField = fields.get('metadata');
  const metadata = metadataField
    ? policyMetadata.decode(metadataField.value, ['metadata'], ctx, metadataField.key)
    : missing('metadata', 'add metadata: {name: ...}');

  const specField = fields.get('spec');
  let spec: unknown;
  if (!specField) missing('spec', 'add the spec of the document');
  else if (kind) spec = SPEC_DECODERS[kind].decode(specField.value, ['spec'], ctx, specField.key);

  if (ctx.errors.length !== errorsBefore || !kind || !metadata || spec === undefined) return undefined;
  return { apiVersion: POLICY_API_VERSION, kind, metadata, spec } as WithoutSource<PolicyDocument>;
}

