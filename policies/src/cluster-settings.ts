import { accessMode, type AccessMode } from './access-mode';
import { clusterScope, type ClusterScope } from './cluster-scope';
import { formatPath } from './decode-context';
import { object, oneOf } from './decoders';
import { description } from './description';
import type { PolicyDocumentOf } from './policy-document';
import { PolicyMissingFieldError } from './policy-errors';

/**
 * Per-cluster switches. Where several ClusterSettings cover a cluster, `kubectl: disabled` from
 * any of them wins (a kill switch must not be overridable), and for defaultAccessMode the most
 * specific wins: by name, then by selector, then all: true; among equals, the most restrictive.
 */
export interface ClusterSettingsSpec {
  readonly description?: string;
  readonly clusters: ClusterScope;
  /** The kill switch: `disabled` refuses every kubectl request to the clusters, break-glass included. */
  readonly kubectl?: 'enabled' | 'disabled';
  /** The accessMode of AccessPolicies on these clusters that do not set one. */
  readonly defaultAccessMode?: AccessMode;
}

export type ClusterSettings = PolicyDocumentOf<'ClusterSettings', ClusterSettingsSpec>;

export const clusterSettingsSpec = object<ClusterSettingsSpec>({
  expected: 'a mapping with clusters, and kubectl and/or defaultAccessMode',
  schemaName: 'ClusterSettingsSpec',
  description:
    'Switches for a set of clusters: the kubectl kill switch and the default access mode. kubectl: disabled from any ClusterSettings covering a cluster wins.',
  fields: {
    description: {
      decoder: description,
      description: 'Why the settings exist (for a kill switch: the incident or ticket).',
      example: 'INC-4711: kubectl disabled on prod-eu-1 while credentials are rotated.',
    },
    clusters: {
      decoder: clusterScope,
      required: true,
      missingHint: 'say which clusters, e.g. clusters: {names: [prod-eu-1]}',
      description: 'Which clusters the settings apply to.',
      example: { names: ['prod-eu-1'] },
    },
    kubectl: {
      decoder: oneOf(['enabled', 'disabled'] as const, { noun: 'kubectl setting' }),
      description:
        'The kubectl kill switch. disabled: every kubectl request to these clusters is refused, for every user and break-glass grant; the web console keeps working. enabled cannot override a disabled from another ClusterSettings. Default: enabled.',
      example: 'disabled',
    },
    defaultAccessMode: {
      decoder: accessMode,
      description:
        'The accessMode of AccessPolicies on these clusters that do not set one: kubectl, console-only or disabled (such policies then grant nothing here). Default: kubectl.',
      example: 'console-only',
    },
  },
  check(_value, at) {
    if (!at.has('kubectl') && !at.has('defaultAccessMode')) {
      at.report(PolicyMissingFieldError, [], `${formatPath(at.path)} sets nothing: add kubectl: disabled and/or defaultAccessMode`);
    }
  },
});
