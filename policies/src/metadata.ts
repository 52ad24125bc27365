/** A document's name and labels, shaped like Kubernetes object metadata. */
import { labelMap } from './label-map';
import { documentName } from './names';
import { object } from './object-decoder';
import { PolicyBadNameError } from './policy-errors';

export interface PolicyMetadata {
  /** Unique per kind across all policy files; how the CLI, audit log and decisions refer to the document. */
  readonly name: string;
  /** Free-form labels for people and tools (owner, ticket); they never change a decision. */
  readonly labels?: Readonly<Record<string, string>>;
}

export const policyMetadata = object<PolicyMetadata>({
  expected: 'a mapping with name and optional labels',
  schemaName: 'Metadata',
  description: 'Identifies the document. Same shape as Kubernetes object metadata, restricted to name and labels.',
  fields: {
    name: {
      decoder: documentName,
      required: true,
      description:
        "The document's name, unique among documents of the same kind. Lowercase letters, digits, '-' and '.'; at most 253 characters.",
      example: 'payments-readonly-prod',
    },
    labels: {
      decoder: labelMap(PolicyBadNameError),
      description: 'Labels for people and tools (owning team, ticket). They are not used to decide requests.',
      example: { team: 'payments', 'kubegate.dev/owner': 'security' },
    },
  },
});
