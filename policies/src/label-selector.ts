/** Cluster label selectors, with the same meaning as Kubernetes label selectors. */
import { formatPath } from './decode-context';
import { list, oneOf, string } from './decoders';
import { labelMap } from './label-map';
import { labelKeyRefused, labelValueRefused, PATTERNS } from './names';
import { object } from './object-decoder';
import { PolicyBadSelectorError } from './policy-errors';

export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

/** One term of a selector, as in Kubernetes: `{key: region, operator: In, values: [eu-west-1]}`. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Required for In and NotIn; absent for Exists and DoesNotExist. */
  readonly values?: readonly string[];
}

/**
 * Chooses clusters by their labels, exactly like a Kubernetes label selector: every matchLabels
 * entry and every matchExpressions term must hold (AND).
 */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

const labelKey = string({
  expected: 'a label key such as region',
  schema: { type: 'string', pattern: PATTERNS.labelKey },
  refused: (text, path) => ({ ErrorClass: PolicyBadSelectorError, message: labelKeyRefused(text, formatPath(path)) }),
});

const labelValue = string({
  expected: 'a label value such as eu-west-1',
  schema: { type: 'string', pattern: PATTERNS.labelValue },
  refused: (text, path) => ({ ErrorClass: PolicyBadSelectorError, message: labelValueRefused(text, formatPath(path)) }),
});

const requirement = object<LabelSelectorRequirement>({
  expected: 'a mapping with key, operator and values',
  schemaName: 'LabelSelectorRequirement',
  description: 'One selector term. In and NotIn take values; Exists and DoesNotExist take none.',
  fields: {
    key: { decoder: labelKey, required: true, description: 'The cluster label the term tests.', example: 'region' },
    operator: {
      decoder: oneOf(SELECTOR_OPERATORS, { noun: 'selector operator', code: PolicyBadSelectorError }),
      required: true,
      description:
        'In: the label has one of the values. NotIn: the label is absent or has none of the values. Exists: the label is set. DoesNotExist: the label is not set.',
      example: 'In',
    },
    values: {
      decoder: list(labelValue, { expected: 'a list of label values', noun: 'value' }),
      description: 'The values for In and NotIn. Must be absent for Exists and DoesNotExist.',
      example: ['eu-west-1', 'eu-central-1'],
    },
  },
  check(value, at) {
    if ((value.operator === 'In' || value.operator === 'NotIn') && !at.has('values')) {
      at.report(PolicyBadSelectorError, ['operator'], `operator ${value.operator} at ${formatPath([...at.path, 'operator'])} needs values: add values: [...]`);
    }
    if ((value.operator === 'Exists' || value.operator === 'DoesNotExist') && at.has('values')) {
      at.report(
        PolicyBadSelectorError,
        ['values'],
        `operator ${value.operator} at ${formatPath([...at.path, 'operator'])} takes no values: remove values, or use In / NotIn`,
        { atKey: true },
      );
    }
  },
});

export const labelSelector = object<LabelSelector>({
  expected: 'a mapping with matchLabels and/or matchExpressions',
  schemaName: 'LabelSelector',
  description:
    'Chooses clusters by their labels, like a Kubernetes label selector: all matchLabels and all matchExpressions must hold. An empty selector is refused (it would match every cluster); write clusters: {all: true} for that.',
  fields: {
    matchLabels: {
      decoder: labelMap(PolicyBadSelectorError, 'a mapping of label keys to values, e.g. {env: prod}'),
      description: 'Labels the cluster must have, with exactly these values.',
      example: { env: 'prod' },
    },
    matchExpressions: {
      decoder: list(requirement, { expected: 'a list of selector terms', noun: 'selector term' }),
      description: 'Terms that must all hold.',
      example: [{ key: 'region', operator: 'In', values: ['eu-west-1', 'eu-central-1'] }],
    },
  },
  schemaExtras: { minProperties: 1 },
  empty: {
    ErrorClass: PolicyBadSelectorError,
    message: (where) =>
      `${where} is empty and would match every cluster: add matchLabels or matchExpressions, or write clusters: {all: true} if every cluster is meant`,
  },
});

/**
 * True when the selector has only NotIn / DoesNotExist terms: it then matches every cluster that
 * lacks the label, including clusters registered later without labels.
 */
export function isOnlyNegative(selector: LabelSelector): boolean {
  if (selector.matchLabels && Object.keys(selector.matchLabels).length > 0) return false;
  const terms = selector.matchExpressions ?? [];
  return terms.length > 0 && terms.every((t) => t.operator === 'NotIn' || t.operator === 'DoesNotExist');
}

/** Why a purely negative selector is refused on a document that grants access. */
export function onlyNegativeMessage(where: string): string {
  return `${where} has only NotIn/DoesNotExist terms, so it grants access on every cluster without that label, including clusters registered later: add matchLabels or an In/Exists term`;
}
