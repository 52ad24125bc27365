/**
 * The objects kubegate creates for a user, and how to read them back.
 *
 * Bindings carry no ownerReference to their ServiceAccount: an ownerReference must point to an
 * object in the same namespace (or a cluster-scoped one), and a user's RoleBindings live in the
 * namespaces they grant while the ServiceAccount lives in kubegate-users. Garbage collection
 * would not apply, so the agent cleans up itself, finding bindings by label
 * (kubegate.io/service-account and kubegate.io/service-account-namespace).
 *
 * Removal deletes bindings before the ServiceAccount: with impersonation the apiserver never
 * checks that the ServiceAccount exists, so a binding left behind keeps granting to the name.
 */
import type { Binding, ServiceAccount } from '../kubernetes/kube-objects';
import type { DesiredBinding } from './desired-access';
import {
  ANNOTATION_LAST_USED,
  ANNOTATION_USER,
  LABEL_SERVICE_ACCOUNT,
  LABEL_SERVICE_ACCOUNT_NAMESPACE,
  LABEL_USER_HASH,
  userLabels,
} from './service-account-names';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

export function serviceAccountManifest(user: string, namespace: string, name: string, lastUsed: Date): ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name,
      namespace,
      labels: userLabels(user),
      annotations: { [ANNOTATION_USER]: user, [ANNOTATION_LAST_USED]: lastUsed.toISOString() },
    },
    // Only ever impersonated by the proxy; no pod should run as it or get its token mounted.
    automountServiceAccountToken: false,
  };
}

export function bindingManifest(user: string, usersNamespace: string, serviceAccount: string, desired: DesiredBinding): Binding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: desired.kind,
    metadata: {
      name: desired.name,
      ...(desired.namespace !== undefined ? { namespace: desired.namespace } : {}),
      labels: { ...userLabels(user), [LABEL_SERVICE_ACCOUNT]: serviceAccount, [LABEL_SERVICE_ACCOUNT_NAMESPACE]: usersNamespace },
      annotations: { [ANNOTATION_USER]: user },
    },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: usersNamespace }],
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: desired.clusterRole },
  };
}

/**
 * Whether an existing binding grants exactly what `desired` asks and nothing else: the same
 * ClusterRole, and our ServiceAccount as its only subject. Anything else (an edited subject
 * list, a different role under our name) is replaced, since roleRef cannot be updated.
 */
export function bindingMatches(existing: Binding, desired: DesiredBinding, usersNamespace: string, serviceAccount: string): boolean {
  const subjects = existing.subjects ?? [];
  return (
    existing.roleRef?.kind === 'ClusterRole' &&
    existing.roleRef.name === desired.clusterRole &&
    subjects.length === 1 &&
    subjects[0].kind === 'ServiceAccount' &&
    subjects[0].name === serviceAccount &&
    subjects[0].namespace === usersNamespace
  );
}

/**
 * Whether a binding labelled for `serviceAccount` really grants only to that ServiceAccount in
 * the users namespace. A labelled binding whose subjects say otherwise has been tampered with.
 */
export function bindingGrantsOnlyTo(binding: Binding, usersNamespace: string, serviceAccount: string): boolean {
  const subjects = binding.subjects ?? [];
  return subjects.length === 1 && subjects[0].kind === 'ServiceAccount' && subjects[0].name === serviceAccount && subjects[0].namespace === usersNamespace;
}

export const serviceAccountOfBinding = (binding: Binding): string | undefined => binding.metadata.labels?.[LABEL_SERVICE_ACCOUNT];
export const userOf = (sa: ServiceAccount): string | undefined => sa.metadata.annotations?.[ANNOTATION_USER];
export const userHashOf = (sa: ServiceAccount): string | undefined => sa.metadata.labels?.[LABEL_USER_HASH];

/** The kubegate.io/last-used annotation in ms since the epoch, or undefined when absent or unparseable. */
export function lastUsedAnnotation(sa: ServiceAccount): number | undefined {
  const raw = sa.metadata.annotations?.[ANNOTATION_LAST_USED];
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * When the ServiceAccount was last known to be used: its annotation, or else when it was
 * created (an SA without a readable annotation is as old as it is, not infinitely idle and
 * not forever fresh).
 */
export function recordedLastUse(sa: ServiceAccount): number | undefined {
  const annotated = lastUsedAnnotation(sa);
  if (annotated !== undefined) return annotated;
  const created = sa.metadata.creationTimestamp ? Date.parse(sa.metadata.creationTimestamp) : NaN;
  return Number.isNaN(created) ? undefined : created;
}
