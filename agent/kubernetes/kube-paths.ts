/**
 * REST paths of the resources the agent touches. Names are percent-encoded even though valid
 * Kubernetes names never need it: a user-influenced string must never be able to turn into
 * another path (`..`, `/`, `?`).
 */
const seg = (s: string): string => encodeURIComponent(s);

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

export function namespacePath(name?: string): string {
  return name === undefined ? '/api/v1/namespaces' : `/api/v1/namespaces/${seg(name)}`;
}

export function serviceAccountPath(namespace: string, name?: string): string {
  const base = `/api/v1/namespaces/${seg(namespace)}/serviceaccounts`;
  return name === undefined ? base : `${base}/${seg(name)}`;
}

export function serviceAccountTokenPath(namespace: string, name: string): string {
  return `${serviceAccountPath(namespace, name)}/token`;
}

/** Without a namespace: the RoleBindings of every namespace (list only). */
export function roleBindingPath(namespace?: string, name?: string): string {
  if (namespace === undefined) return `${RBAC}/rolebindings`;
  const base = `${RBAC}/namespaces/${seg(namespace)}/rolebindings`;
  return name === undefined ? base : `${base}/${seg(name)}`;
}

export function clusterRoleBindingPath(name?: string): string {
  return name === undefined ? `${RBAC}/clusterrolebindings` : `${RBAC}/clusterrolebindings/${seg(name)}`;
}

export function clusterRolePath(name?: string): string {
  return name === undefined ? `${RBAC}/clusterroles` : `${RBAC}/clusterroles/${seg(name)}`;
}

export function rolePath(namespace: string, name?: string): string {
  const base = `${RBAC}/namespaces/${seg(namespace)}/roles`;
  return name === undefined ? base : `${base}/${seg(name)}`;
}
