/**
 * What the service account manager takes and returns: its construction options and the
 * results of ensure(), remove(), reconcile() and list(). Kept apart so that callers and the
 * manager's helpers can name these shapes without importing the manager itself.
 */
import type { AgentLogger } from '../log/agent-logger';
import type { KubeClient } from '../kubernetes/kube-client';
import type { BindingKind } from './desired-access';

export interface ServiceAccountManagerProps {
  readonly client: KubeClient;
  /** Where the per-user ServiceAccounts live. @default 'kubegate-users' */
  readonly namespace?: string;
  /**
   * ClusterRoles the cluster admin allows kubegate to bind. An ensure() asking for any other is
   * refused with ClusterRoleNotAllowedError before a single request is made. Leave it out only
   * when the agent's RBAC (`bind` restricted by resourceNames, constructs/agent-rbac.ts) is the guard: the
   * apiserver then refuses with KubeForbiddenError instead.
   * @default undefined (no local check)
   */
  readonly allowedClusterRoles?: readonly string[];
  /** @default silentAgentLogger */
  readonly logger?: AgentLogger;
  /** The clock, in ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /**
   * flushLastUsed() writes a user's kubegate.io/last-used annotation only when their recorded
   * use is newer than it by more than this, so steady traffic costs one write per interval.
   * Keep it well below the idle period. @default 60000
   */
  readonly lastUsedWriteIntervalMs?: number;
}

/** A binding ensure() could not create because its namespace is missing or being deleted; it is retried on the next ensure(). */
export interface SkippedBinding {
  readonly clusterRole: string;
  readonly namespace: string;
  readonly reason: 'namespace-not-found' | 'namespace-terminating';
}

export interface EnsureResult {
  readonly user: string;
  readonly serviceAccount: string;
  readonly namespace: string;
  /** Whether this call created the ServiceAccount. */
  readonly created: boolean;
  readonly bindingsCreated: number;
  readonly bindingsRemoved: number;
  readonly skipped: readonly SkippedBinding[];
}

export interface ManagedBinding {
  readonly kind: BindingKind;
  readonly name: string;
  /** Only for RoleBindings. */
  readonly namespace?: string;
  readonly clusterRole: string;
}

export interface ManagedServiceAccount {
  readonly user: string;
  readonly serviceAccount: string;
  readonly namespace: string;
  /** The later of the annotation and uses recorded in memory; undefined if neither is known. */
  readonly lastUsed: Date | undefined;
  readonly bindings: readonly ManagedBinding[];
}

export interface RemoveResult {
  readonly serviceAccountsRemoved: readonly string[];
  readonly bindingsRemoved: number;
}

export interface RemovedBinding extends ManagedBinding {
  readonly serviceAccount: string;
  /** orphan: its ServiceAccount does not exist; tampered: it grants to someone other than its labelled ServiceAccount. */
  readonly reason: 'orphan' | 'tampered';
}

export interface ReconcileResult {
  readonly removedBindings: readonly RemovedBinding[];
  /** Extra ServiceAccounts of one user, removed with their bindings; `kept` is the one left. */
  readonly removedDuplicates: readonly { readonly user: string; readonly serviceAccount: string; readonly kept: string }[];
  /** Results for the users of `desired`. */
  readonly ensured: readonly EnsureResult[];
  /** Users of `desired` whose ensure() failed; the others still converged. */
  readonly failed: readonly { readonly user: string; readonly error: Error }[];
  /** Labelled ServiceAccounts without a kubegate.io/user annotation: left alone, reported for a human. */
  readonly unrecognized: readonly string[];
}
