/**
 * The Kubernetes objects a cluster admin applies so the kubegate agent and the in-cluster proxy
 * can do their jobs and nothing more. agent/rbac/README.md explains each right.
 *
 * Two namespaces keep the identities apart: the agent and the proxy live in the agent
 * namespace, the per-user ServiceAccounts in the users namespace. The proxy may impersonate
 * any ServiceAccount of the users namespace, so that namespace must never hold an identity
 * worth more than a user's; that is why the two must differ.
 */
import type { KubeObject } from '../kubernetes/kube-objects';
import { DEFAULT_USERS_NAMESPACE } from '../service-accounts/service-account-names';

export const DEFAULT_AGENT_NAMESPACE = 'kubegate-system';
export const AGENT_SERVICE_ACCOUNT = 'kubegate-agent';
export const PROXY_SERVICE_ACCOUNT = 'kubegate-proxy';

export interface AgentRbacProps {
  /** Where the agent and proxy identities live. @default 'kubegate-system' */
  readonly agentNamespace?: string;
  /** Where the per-user ServiceAccounts live. @default 'kubegate-users' */
  readonly usersNamespace?: string;
  /**
   * The ClusterRoles kubegate may bind for users. Empty: the agent may bind none (the `bind`
   * rule is left out entirely, since an empty resourceNames list would mean every role).
   */
  readonly allowedClusterRoles: readonly string[];
}

/** The props cannot produce safe manifests. */
export class AgentRbacConfigError extends Error {
  readonly code = 'ERR_AGENT_RBAC_CONFIG';
  constructor(message: string) {
    super(`invalid kubegate agent RBAC configuration: ${message}`);
    this.name = 'AgentRbacConfigError';
  }
}

interface Resolved {
  readonly agentNamespace: string;
  readonly usersNamespace: string;
  readonly allowedClusterRoles: readonly string[];
}

const RBAC_API = 'rbac.authorization.k8s.io/v1';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function resolve(props: AgentRbacProps): Resolved {
  const agentNamespace = props.agentNamespace ?? DEFAULT_AGENT_NAMESPACE;
  const usersNamespace = props.usersNamespace ?? DEFAULT_USERS_NAMESPACE;
  for (const [what, ns] of [['agentNamespace', agentNamespace], ['usersNamespace', usersNamespace]] as const) {
    if (ns.length > 63 || !DNS_LABEL.test(ns)) throw new AgentRbacConfigError(`${what} must be a namespace name (DNS label), got ${JSON.stringify(ns)}`);
  }
  if (agentNamespace === usersNamespace) {
    throw new AgentRbacConfigError(`agentNamespace and usersNamespace must differ (both ${JSON.stringify(agentNamespace)}): the proxy may impersonate every ServiceAccount of the users namespace, the agent's own included`);
  }
  if (!Array.isArray(props.allowedClusterRoles)) throw new AgentRbacConfigError('allowedClusterRoles must be a list of ClusterRole names');
  for (const role of props.allowedClusterRoles) {
    // A ClusterRole name is a path segment: anything that is not one cannot name a real role.
    if (typeof role !== 'string' || role === '' || role === '.' || role === '..' || /[/%]/.test(role) || role.length > 253) {
      throw new AgentRbacConfigError(`allowedClusterRoles holds ${JSON.stringify(role)}, which is not a ClusterRole name`);
    }
  }
  return { agentNamespace, usersNamespace, allowedClusterRoles: [...new Set(props.allowedClusterRoles)].sort() };
}

const labels = (component: 'agent' | 'proxy' | 'namespace'): Record<string, string> => ({
  'app.kubernetes.io/part-of': 'kubegate',
  'app.kubernetes.io/component': component,
});

function roleBinding(kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, namespace: string | undefined, roleKind: 'Role' | 'ClusterRole', serviceAccount: string, serviceAccountNamespace: string, component: 'agent' | 'proxy'): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), labels: labels(component) },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: serviceAccountNamespace }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name },
  };
}

/** The agent namespace and the users namespace. */
export function kubegateNamespaces(props: AgentRbacProps): KubeObject[] {
  const r = resolve(props);
  return [r.agentNamespace, r.usersNamespace].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: labels('namespace') } }));
}

/** The agent's and the proxy's identities, in the agent namespace. */
export function kubegateServiceAccounts(props: AgentRbacProps): KubeObject[] {
  const r = resolve(props);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: r.agentNamespace, labels: labels('agent') } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: PROXY_SERVICE_ACCOUNT, namespace: r.agentNamespace, labels: labels('proxy') } },
  ];
}

/**
 * The agent's rights:
 *   - ServiceAccounts, only in the users namespace: get, list, create, update (last-used
 *     annotation), delete;
 *   - RoleBindings (every namespace, since grants name namespaces) and ClusterRoleBindings:
 *     get, list, create, delete, but never update (roleRef is immutable; kubegate replaces);
 *   - `bind` on exactly the allowed ClusterRoles, which with RBAC's escalation check is the
 *     only way the agent can grant anything: it holds none of those permissions itself;
 *   - `create` on serviceaccounts/token for the proxy's ServiceAccount only, to hand the proxy
 *     short-lived tokens.
 */
export function agentRoles(props: AgentRbacProps): KubeObject[] {
  const r = resolve(props);
  const sa = AGENT_SERVICE_ACCOUNT;
  const serviceAccounts = `${sa}-service-accounts`;
  const bindings = `${sa}-bindings`;
  const proxyToken = `${sa}-proxy-token`;
  return [
    {
      apiVersion: RBAC_API,
      kind: 'Role',
      metadata: { name: serviceAccounts, namespace: r.usersNamespace, labels: labels('agent') },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'create', 'update', 'delete'] }],
    },
    roleBinding('RoleBinding', serviceAccounts, r.usersNamespace, 'Role', sa, r.agentNamespace, 'agent'),
    {
      apiVersion: RBAC_API,
      kind: 'ClusterRole',
      metadata: { name: bindings, labels: labels('agent') },
      rules: [
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'clusterrolebindings'], verbs: ['get', 'list', 'create', 'delete'] },
        // Left out when nothing is allowed: a rule without resourceNames covers every role.
        ...(r.allowedClusterRoles.length > 0 ? [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [...r.allowedClusterRoles] }] : []),
      ],
    },
    roleBinding('ClusterRoleBinding', bindings, undefined, 'ClusterRole', sa, r.agentNamespace, 'agent'),
    {
      apiVersion: RBAC_API,
      kind: 'Role',
      metadata: { name: proxyToken, namespace: r.agentNamespace, labels: labels('agent') },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [PROXY_SERVICE_ACCOUNT] }],
    },
    roleBinding('RoleBinding', proxyToken, r.agentNamespace, 'Role', sa, r.agentNamespace, 'agent'),
  ];
}

/**
 * The proxy's one right: impersonate ServiceAccounts of the users namespace. Not users, not
 * groups, not ServiceAccounts elsewhere. (The apiserver adds the ServiceAccount groups of an
 * impersonated ServiceAccount by itself, without a separate group right.)
 */
export function proxyRoles(props: AgentRbacProps): KubeObject[] {
  const r = resolve(props);
  const name = `${PROXY_SERVICE_ACCOUNT}-impersonate`;
  return [
    {
      apiVersion: RBAC_API,
      kind: 'Role',
      metadata: { name, namespace: r.usersNamespace, labels: labels('proxy') },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }],
    },
    roleBinding('RoleBinding', name, r.usersNamespace, 'Role', PROXY_SERVICE_ACCOUNT, r.agentNamespace, 'proxy'),
  ];
}

/** Everything, in an order that applies cleanly: namespaces, identities, then roles and bindings. */
export function agentRbacManifests(props: AgentRbacProps): KubeObject[] {
  return [...kubegateNamespaces(props), ...kubegateServiceAccounts(props), ...agentRoles(props), ...proxyRoles(props)];
}
