/**
 * Why: part (b) of the authz benchmark times GETs of one object as one user; who that user is,
 * which object, and what the cluster must hold so that the GETs succeed are fixed together here.
 */
import { userGroups } from './authz-support';

/** user-7 is in team-7 and team-52; team-7's policy allows reading ConfigMaps in ns-7. */
export const BENCH_USER_INDEX = 7;
export const BENCH_NAMESPACE = 'ns-7';
export const BENCH_CONFIGMAP = 'bench-config';

/**
 * The object the GETs read, and RBAC for the bench user's teams (the cluster authorizes the
 * impersonated user too; kubegate's policies do not bind roles, and the aggregated view role is
 * empty without kube-controller-manager).
 */
export function benchUserClusterObjects(): string {
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${BENCH_NAMESPACE}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${BENCH_CONFIGMAP}, namespace: ${BENCH_NAMESPACE}}
data: {greeting: hello}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bench-reader}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bench-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-reader}
subjects:
${userGroups(BENCH_USER_INDEX).map((g) => `  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ${g}}`).join('\n')}
`;
}
