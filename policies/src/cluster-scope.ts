/** Which clusters a document applies to: by name, by labels, or all of them. */
import { formatPath } from './decode-context';
import { list, literalTrue } from './decoders';
import { labelSelector, type LabelSelector } from './label-selector';
import { clusterName } from './names';
import { object } from './object-decoder';
import { PolicyConflictError, PolicyMissingFieldError } from './policy-errors';

/**
 * Where: the clusters a document applies to. A cluster is in scope when it is one of `names`
 * or matches `selector` (either is enough). `all: true` means every registered cluster, now
 * and later, and stands alone.
 */
export interface ClusterScope {
  readonly all?: true;
  readonly names?: readonly string[];
  readonly selector?: LabelSelector;
}

export const clusterScope = object<ClusterScope>({
  expected: 'a mapping with names, selector or all',
  schemaName: 'ClusterScope',
  description:
    'The clusters a document applies to: those listed in names plus those matching selector; or all: true for every cluster. At least one of the three; all excludes the others.',
  typeHint: '; write {names: [prod-eu-1]} or {selector: {matchLabels: {env: prod}}}',
  fields: {
    names: {
      decoder: list(clusterName, { expected: 'a list of cluster names', noun: 'cluster name' }),
      description: 'Clusters by their registered name (the name in https://<edge>/clusters/<name>).',
      example: ['prod-eu-1', 'prod-us-1'],
    },
    selector: {
      decoder: labelSelector,
      description: 'Clusters by their labels. A cluster registered later with matching labels is included automatically.',
      example: { matchLabels: { env: 'prod' } },
    },
    all: {
      decoder: literalTrue('has no meaning here: remove "all", or set it to true for every cluster'),
      description: 'Every registered cluster, including clusters registered later. Cannot be combined with names or selector.',
      example: true,
    },
  },
  schemaExtras: { minProperties: 1 },
  empty: { ErrorClass: PolicyMissingFieldError, message: (where) => `${where} names no cluster: add names, selector, or all: true` },
  check(_value, at) {
    if (at.has('all')) {
      for (const other of ['names', 'selector'] as const) {
        if (at.has(other)) {
          at.report(
            PolicyConflictError,
            [other],
            `${formatPath([...at.path, other])} conflicts with all: true, which already covers every cluster: remove one of them`,
            { atKey: true },
          );
        }
      }
    }
  },
});
