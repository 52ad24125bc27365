/** A policy document of any kind: the union the loader returns and the engine compiles. */
import type { AccessPolicy } from './access-policy';
import type { BreakGlassPolicy } from './break-glass-policy';
import type { ClusterSettings } from './cluster-settings';

export type PolicyDocument = AccessPolicy | ClusterSettings | BreakGlassPolicy;
