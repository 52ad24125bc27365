/** ClusterSettings: per-cluster switches (kubectl kill switch, default access mode, idle ServiceAccounts). */
import { accessMode, type AccessMode } from './access-mode';
import { clusterScope, type ClusterScope } from './cluster-scope';
import { formatPath } from './decode-context';
import { oneOf } from './decoders';
import { description } from './description';
import { duration, type PolicyDuration } from './duration';
import { object } from './object-decoder';
import type { PolicyDocumentOf } from './document-envelope';
import { PolicyMissingFieldError } from './policy-errors';

/**
 * Per-cluster switches. Where several ClusterSettings cover a cluster, `kubectl: disabled` from
 * any of them wins (a kill switch must not be overridable), and for defaultAccessMode and
 * serviceAccountIdleTimeout the most specific wins: by name, then by selector, then all: true
 * (so a fleet-wide value can have per-cluster exceptions); among equals, the most restrictive
 * access mode and the shortest idle period.
 */
export interface ClusterSettingsSpec {
  readonly description?: string;
  readonly clusters: ClusterScope;
  /** The kill switch: `disabled` refuses every kubectl request to the clusters, break-glass included. */
  readonly kubectl?: 'enabled' | 'disabled';
  /** The accessMode of AccessPolicies on these clusters that do not set one. */
  readonly defaultAccessMode?: AccessMode;
  /**
   * How long a user's per-user ServiceAccount (clusters reached through an agent) may go
   * without a request before the agent removes it. Absent: 8 h.
   */
  readonly serviceAccountIdleTimeout?: PolicyDuration;
}

export type ClusterSettings = PolicyDocumentOf<'ClusterSettings', ClusterSettingsSpec>;

/**
 * At least a minute: the agent learns of a user's requests from the touches the control plane
 * sends every 30 s, so a shorter period could remove the ServiceAccount of someone in the middle
 * of their work (and each removal makes their next request wait for it to be created again).
 */
const IDLE_TIMEOUT_RANGE = {
  min: '1m',
  max: '30d',
  maxReason: "a ServiceAccount unused for longer is standing access nobody needs, and the user's next request creates it again anyway",
} as const;

export const clusterSettingsSpec = object<ClusterSettingsSpec>({
  expected: 'a mapping with clusters, and kubectl, defaultAccessMode and/or serviceAccountIdleTimeout',
  schemaName: 'ClusterSettingsSpec',
  description:
    'Switches for a set of clusters: the kubectl kill switch, the default access mode and the idle period of per-user ServiceAccounts. kubectl: disabled from any ClusterSettings covering a cluster wins.',
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
    serviceAccountIdleTimeout: {
      decoder: duration(IDLE_TIMEOUT_RANGE),
      description:
        'On clusters reached through an agent, how long a user\'s per-user ServiceAccount may go without a request from that user before the agent removes it (the next request creates it again): 1m to 30d. Where several ClusterSettings cover a cluster, the most specific one that sets it wins (by name, then by selector, then all: true), and among equally specific ones the shortest. Connected agents apply a change at once. Default: 8h.',
      example: '2h',
    },
  },
  check(_value, at) {
    if (!at.has('kubectl') && !at.has('defaultAccessMode') && !at.has('serviceAccountIdleTimeout')) {
      at.report(PolicyMissingFieldError, [], `${formatPath(at.path)} sets nothing: add kubectl: disabled, defaultAccessMode and/or serviceAccountIdleTimeout`);
    }
  },
});
