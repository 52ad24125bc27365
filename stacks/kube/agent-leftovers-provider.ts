/**
 * Why: removing a member cluster from a stack must leave nothing of kubegate's behind in it.
 * Its namespaces take the agent and the users' ServiceAccounts with them, but the bindings the
 * agent made for users in other namespaces, and the cluster-wide ones, are not in those
 * namespaces. This resource does nothing until it is deleted, which the stack orders after
 * the agent is gone (so nothing recreates them): then it deletes every binding the agent
 * labelled as its own for that users namespace, and waits until none is left.
 */
import type * as pulumi from '@pulumi/pulumi';
import { LABEL_MANAGED_BY, LABEL_SERVICE_ACCOUNT_NAMESPACE, MANAGED_BY_VALUE } from '../../agent/service-accounts/service-account-names';
import { kubeTarget } from './kubeconfig-target';
import { describeBody, requestJson } from './kube-request';

export interface AgentLeftoversInputs {
  /** The member cluster's name, for messages. */
  readonly cluster: string;
  readonly kubeconfig: string;
  readonly context?: string;
  /** The namespace of the users' ServiceAccounts the bindings grant to. */
  readonly usersNamespace: string;
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

interface ObjectList {
  readonly items?: readonly { readonly metadata: { readonly name: string; readonly namespace?: string } }[];
}

/** Deletes the agent's bindings in the cluster; how many it deleted. */
export async function deleteAgentBindings(inputs: AgentLeftoversInputs): Promise<number> {
  const label = `cluster ${inputs.cluster}`;
  const target = kubeTarget(inputs.kubeconfig, `cluster ${inputs.cluster}'s kubeconfig`, inputs.context);
  const selector = encodeURIComponent(`${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_SERVICE_ACCOUNT_NAMESPACE}=${inputs.usersNamespace}`);
  let deleted = 0;
  for (const kind of ['clusterrolebindings', 'rolebindings']) {
    const list = await requestJson<ObjectList>(target, `${RBAC}/${kind}?labelSelector=${selector}`, { label });
    if (list.status !== 200) throw new Error(`listing kubegate's ${kind} in ${label} failed with HTTP ${list.status}: ${describeBody(list.body)}`);
    for (const item of list.body?.items ?? []) {
      const { name, namespace } = item.metadata;
      const at = namespace ? `${RBAC}/namespaces/${encodeURIComponent(namespace)}/${kind}/${encodeURIComponent(name)}` : `${RBAC}/${kind}/${encodeURIComponent(name)}`;
      const r = await requestJson(target, at, { method: 'DELETE', label });
      if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw new Error(`deleting ${kind} ${namespace ? `${namespace}/` : ''}${name} in ${label} failed with HTTP ${r.status}: ${describeBody(r.body)}`);
      deleted++;
    }
  }
  return deleted;
}

export const agentLeftoversProvider: pulumi.dynamic.ResourceProvider<AgentLeftoversInputs, AgentLeftoversInputs> = {
  async create(inputs) {
    return { id: `${inputs.cluster}/${inputs.usersNamespace}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    // Only where to clean up matters; a new kubeconfig is just stored.
    return { changes: olds.kubeconfig !== news.kubeconfig || olds.context !== news.context || olds.usersNamespace !== news.usersNamespace, replaces: [] };
  },
  async update(_id, _olds, news) {
    return { outs: news };
  },
  async delete(_id, props) {
    await deleteAgentBindings(props);
  },
};
