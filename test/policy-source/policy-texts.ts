/**
 * Policy files for the directory watcher's tests: valid ones that differ by name and group, and
 * broken ones whose errors (positions and codes) the tests assert.
 */

/** A valid AccessPolicy; `group` lets a test change a file's text without changing its name. */
export function accessPolicy(name: string, group = 'developers'): string {
  return `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: ${name}
spec:
  subjects: {groups: [${group}]}
  clusters: {names: [dev-1]}
  clusterRoles: [{name: view}]
`;
}

/** Two errors: an unknown access mode (line 8, column 15) and a misspelt verb (line 12, column 20). */
export const POLICY_WITH_TWO_ERRORS = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: broken
spec:
  subjects: {groups: [devs]}
  clusters: {names: [dev-1]}
  accessMode: console
  rules:
    - apiGroups: [""]
      resources: [pods]
      verbs: [get, lsit]
`;

/** Not YAML at all: an unclosed flow sequence (reported at line 5, column 1). */
export const POLICY_WITH_SYNTAX_ERROR = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: [unclosed
`;
