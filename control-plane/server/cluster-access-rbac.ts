/**
 * What a cluster must grant for kubegate to act in it, as Kubernetes manifests:
 *   - the edge's proxy identity may impersonate users and groups, and nothing else;
 *   - the group kubegate:admins is bound to cluster-admin (the local stack's admin user).
 * An operator applies this to a cluster the edge reaches directly; the local stack applies it
 * with kubectl.
 */
import { stringify } from 'yaml';
import { ADMINS_GROUP } from '../api/admins';

export const PROXY_IDENTITY_USER = 'kubegate:edge';

export function clusterAccessManifests(): string {
  const docs = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kubegate:impersonator', labels: { 'app.kubernetes.io/managed-by': 'kubegate' } },
      rules: [{ apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubegate:impersonator', labels: { 'app.kubernetes.io/managed-by': 'kubegate' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:impersonator' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: PROXY_IDENTITY_USER }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubegate:admins', labels: { 'app.kubernetes.io/managed-by': 'kubegate' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: ADMINS_GROUP }],
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}
