/**
 * What a user should hold in one cluster, and the bindings that follows from it.
 *
 * The grant type is policies/'s ClusterRoleGrant (the contract the control plane decodes
 * policies into), imported as a type only so the agent carries none of the policy code.
 */
import type { ClusterRoleGrant } from '../../policies/src/cluster-role-grant';
import { bindingName } from './service-account-names';

export interface UserAccess {
  /** The kubegate user name, exactly as the control plane knows it. */
  readonly user: string;
  /**
   * ClusterRoles the user holds: bound cluster-wide (a ClusterRoleBinding) when `namespaces`
   * is absent, else a RoleBinding in each listed namespace. An empty `namespaces` list binds
   * nowhere: the narrowest reading of "these namespaces", never silently cluster-wide.
   */
  readonly clusterRoles: readonly ClusterRoleGrant[];
}

export type BindingKind = 'ClusterRoleBinding' | 'RoleBinding';

/** One binding a user's access calls for. */
export interface DesiredBinding {
  readonly kind: BindingKind;
  readonly name: string;
  /** Only for RoleBindings. */
  readonly namespace?: string;
  readonly clusterRole: string;
}

/** Identifies a binding object: its kind, namespace (if any) and name. */
export function bindingKey(binding: { readonly kind: string; readonly namespace?: string; readonly name: string }): string {
  return `${binding.kind}/${binding.namespace ?? ''}/${binding.name}`;
}

/** The bindings `access` calls for, each once, for the ServiceAccount named `serviceAccount`. */
export function desiredBindings(access: UserAccess, serviceAccount: string): DesiredBinding[] {
  const byKey = new Map<string, DesiredBinding>();
  for (const grant of access.clusterRoles) {
    const bindings: DesiredBinding[] =
      grant.namespaces === undefined
        ? [{ kind: 'ClusterRoleBinding', name: bindingName(serviceAccount, grant.name, { kind: 'cluster' }), clusterRole: grant.name }]
        : grant.namespaces.map((namespace) => ({
            kind: 'RoleBinding',
            namespace,
            name: bindingName(serviceAccount, grant.name, { kind: 'namespace', namespace }),
            clusterRole: grant.name,
          }));
    for (const b of bindings) byKey.set(bindingKey(b), b);
  }
  return [...byKey.values()];
}

/** Every ClusterRole name `access` refers to, once each, in order of appearance. */
export function clusterRolesOf(access: UserAccess): string[] {
  return [...new Set(access.clusterRoles.map((g) => g.name))];
}
