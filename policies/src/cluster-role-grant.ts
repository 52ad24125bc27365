/** ClusterRoles a policy lets its subjects hold inside a cluster. */
import { list } from './decoders';
import { clusterRoleName, namespaceName } from './names';
import { object } from './object-decoder';

/**
 * A Kubernetes ClusterRole the subjects hold inside the cluster: bound cluster-wide (a
 * ClusterRoleBinding) when `namespaces` is absent, or in each listed namespace (RoleBindings).
 * kubegate cannot know which ClusterRoles a cluster defines; a name that does not exist there
 * grants nothing.
 */
export interface ClusterRoleGrant {
  readonly name: string;
  readonly namespaces?: readonly string[];
}

export const clusterRoleGrant = object<ClusterRoleGrant>({
  expected: 'a mapping with name and optional namespaces',
  schemaName: 'ClusterRoleGrant',
  description:
    'A ClusterRole defined in the cluster that the subjects hold there: cluster-wide without namespaces, or only in the listed namespaces.',
  typeHint: '; write {name: view} or {name: edit, namespaces: [payments]}',
  fields: {
    name: {
      decoder: clusterRoleName,
      required: true,
      description: 'The name of a ClusterRole in the cluster, e.g. view, edit, admin or a role of your own.',
      example: 'view',
    },
    namespaces: {
      decoder: list(namespaceName, { expected: 'a list of namespaces', noun: 'namespace' }),
      description: 'Bind the ClusterRole only in these namespaces (RoleBindings). Leave it out to bind it cluster-wide (ClusterRoleBinding).',
      example: ['payments', 'payments-jobs'],
    },
  },
});
