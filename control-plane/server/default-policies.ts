/**
 * The policy set a new local stack starts with: its administrators (group kubegate:admins,
 * the admin user of admin.kubeconfig) may do anything on every cluster. Everyone else has
 * nothing until a policy names them: kubegate is deny-by-default. Applied only when the store
 * has no policy set yet, so what an operator applied survives restarts.
 */
import { ADMINS_GROUP } from '../api/admins';

export const DEFAULT_POLICY_FILE = 'local-stack-defaults.yaml';

export function defaultPolicyText(): string {
  return `# kubegate local stack defaults (replace with kubegate policy apply)
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: kubegate-admins
spec:
  description: The local stack's administrators may do anything on every cluster.
  subjects:
    groups: ["${ADMINS_GROUP}"]
  clusters:
    all: true
  rules:
    - apiGroups: ["*"]
      resources: ["*"]
      verbs: ["*"]
    - nonResourceURLs: ["*"]
      verbs: ["*"]
  clusterRoles:
    - name: cluster-admin
`;
}
