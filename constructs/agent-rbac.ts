/**
 * What a cluster admin applies so kubegate's relay agent and the in-cluster proxy (Envoy) can
 * do their jobs and nothing more, as a cdk8s construct: the one source of these objects, for
 * KubegateAgent, `kubegate manifests`, the local stack and the tests. constructs/agent-rbac.md
 * explains each right.
 *
 * Two namespaces keep the identities apart: the agent and the proxy live in the agent
 * namespace, the per-user ServiceAccounts in the users namespace. The proxy may impersonate
 * any ServiceAccount of the users namespace, so that namespace must never hold an identity
 * worth more than a user's; that is why the two must differ.
 */
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import type { KubeObject } from '../agent/kubernetes/kube-objects';
import { AGENT_IDENTITY_SECRET, AGENT_SERVICE_ACCOUNT, DEFAULT_AGENT_NAMESPACE, PROXY_SERVICE_ACCOUNT } from '../agent/rbac/rbac-names';
import { DEFAULT_USERS_NAMESPACE } from '../agent/service-accounts/service-account-names';

export interface KubegateAgentRbacProps {
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

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function resolve(props: KubegateAgentRbacProps): Resolved {
  const agentNamespace = props.agentNamespace ?? DEFAULT_AGENT_NAMESPACE;
  const usersNamespace = props.usersNamespace ?? DEFAULT_USERS_NAMESPACE;
  for (const [what, ns] of [['agentNamespace', agentNamespace], ['usersNamespace', usersNamespace]] as const) {
    if (typeof ns !== 'string' || ns.length > 63 || !DNS_LABEL.test(ns)) throw new AgentRbacConfigError(`${what} must be a namespace name (DNS label), got ${JSON.stringify(ns)}`);
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

type Component = 'agent' | 'proxy' | 'namespace';
const labels = (component: Component): Record<string, string> => ({ 'app.kubernetes.io/part-of': 'kubegate', 'app.kubernetes.io/component': component });

/** The agent namespace, the users namespace, both identities, and each identity's rights. */
export class KubegateAgentRbac extends Construct {
  readonly agentNamespace: string;
  readonly usersNamespace: string;

  constructor(scope: Construct, id: string, props: KubegateAgentRbacProps) {
    super(scope, id);
    const r = resolve(props);
    this.agentNamespace = r.agentNamespace;
    this.usersNamespace = r.usersNamespace;
    for (const name of [r.agentNamespace, r.usersNamespace]) new k8s.KubeNamespace(this, `namespace-${name}`, { metadata: { name, labels: labels('namespace') } });
    new k8s.KubeServiceAccount(this, 'agent-identity', { metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: r.agentNamespace, labels: labels('agent') } });
    new k8s.KubeServiceAccount(this, 'proxy-identity', { metadata: { name: PROXY_SERVICE_ACCOUNT, namespace: r.agentNamespace, labels: labels('proxy') } });
    this.agentRights(r);
    this.proxyRights(r);
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
   *     short-lived tokens;
   *   - `get` and `update` of its identity Secret only (created empty with the manifests), where
   *     it keeps its own certificate across restarts.
   */
  private agentRights(r: Resolved): void {
    const serviceAccounts = `${AGENT_SERVICE_ACCOUNT}-service-accounts`;
    new k8s.KubeRole(this, serviceAccounts, {
      metadata: { name: serviceAccounts, namespace: r.usersNamespace, labels: labels('agent') },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'create', 'update', 'delete'] }],
    });
    this.binding('Role', serviceAccounts, r.usersNamespace, AGENT_SERVICE_ACCOUNT, r.agentNamespace, 'agent');
    const bindings = `${AGENT_SERVICE_ACCOUNT}-bindings`;
    new k8s.KubeClusterRole(this, bindings, {
      metadata: { name: bindings, labels: labels('agent') },
      rules: [
        { apiGroups: [RBAC_GROUP], resources: ['rolebindings', 'clusterrolebindings'], verbs: ['get', 'list', 'create', 'delete'] },
        // Left out when nothing is allowed: a rule without resourceNames covers every role.
        ...(r.allowedClusterRoles.length > 0 ? [{ apiGroups: [RBAC_GROUP], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [...r.allowedClusterRoles] }] : []),
      ],
    });
    this.binding('ClusterRole', bindings, undefined, AGENT_SERVICE_ACCOUNT, r.agentNamespace, 'agent');
    const proxyToken = `${AGENT_SERVICE_ACCOUNT}-proxy-token`;
    new k8s.KubeRole(this, proxyToken, {
      metadata: { name: proxyToken, namespace: r.agentNamespace, labels: labels('agent') },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [PROXY_SERVICE_ACCOUNT] }],
    });
    this.binding('Role', proxyToken, r.agentNamespace, AGENT_SERVICE_ACCOUNT, r.agentNamespace, 'agent');
    const identity = `${AGENT_SERVICE_ACCOUNT}-identity`;
    new k8s.KubeRole(this, identity, {
      metadata: { name: identity, namespace: r.agentNamespace, labels: labels('agent') },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: [AGENT_IDENTITY_SECRET] }],
    });
    this.binding('Role', identity, r.agentNamespace, AGENT_SERVICE_ACCOUNT, r.agentNamespace, 'agent');
  }

  /**
   * The proxy's one right: impersonate ServiceAccounts of the users namespace. Not users, not
   * groups, not ServiceAccounts elsewhere. (The apiserver adds the ServiceAccount groups of an
   * impersonated ServiceAccount by itself, without a separate group right.)
   */
  private proxyRights(r: Resolved): void {
    const name = `${PROXY_SERVICE_ACCOUNT}-impersonate`;
    new k8s.KubeRole(this, name, {
      metadata: { name, namespace: r.usersNamespace, labels: labels('proxy') },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }],
    });
    this.binding('Role', name, r.usersNamespace, PROXY_SERVICE_ACCOUNT, r.agentNamespace, 'proxy');
  }

  /** Binds the role of the same name to one of the two identities. */
  private binding(roleKind: 'Role' | 'ClusterRole', name: string, namespace: string | undefined, serviceAccount: string, serviceAccountNamespace: string, component: 'agent' | 'proxy'): void {
    const spec = {
      metadata: { name, ...(namespace ? { namespace } : {}), labels: labels(component) },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: serviceAccountNamespace }],
      roleRef: { apiGroup: RBAC_GROUP, kind: roleKind, name },
    };
    if (roleKind === 'Role') new k8s.KubeRoleBinding(this, `${name}-binding`, spec);
    else new k8s.KubeClusterRoleBinding(this, `${name}-binding`, spec);
  }
}

/** The objects of a KubegateAgentRbac, in the order to apply them: namespaces, identities, then each role and its binding. */
export function agentRbacManifests(props: KubegateAgentRbacProps): KubeObject[] {
  const chart = new Chart(new App(), 'agent-rbac');
  new KubegateAgentRbac(chart, 'rbac', props);
  return chart.toJson() as KubeObject[];
}

const RIGHTS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const rightsOf = (props: KubegateAgentRbacProps, component: Component) =>
  agentRbacManifests(props).filter((m) => RIGHTS.has(m.kind) && m.metadata.labels?.['app.kubernetes.io/component'] === component);

/** The agent's roles and their bindings (see KubegateAgentRbac). */
export function agentRoles(props: KubegateAgentRbacProps): KubeObject[] {
  return rightsOf(props, 'agent');
}

/** The proxy's role and its binding (see KubegateAgentRbac). */
export function proxyRoles(props: KubegateAgentRbacProps): KubeObject[] {
  return rightsOf(props, 'proxy');
}
