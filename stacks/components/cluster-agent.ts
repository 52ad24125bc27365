/**
 * Why: `kubegate:index:ClusterAgent` is one member cluster of a fleet: its registration with the
 * hub (and the join token that brings), and the KubegateAgent construct's objects applied
 * through the cluster's own provider. Applied in three steps so that the agent starts only
 * once what it mounts exists: its namespaces, identities, rights and config; then the join
 * token's Secret (kept out of the other objects so that a preview of them is never hidden
 * as secret); then the agent's Deployment, which Pulumi waits to see available. Removing the
 * component removes the agent first, then the bindings it made for users, then deregisters.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import type { KubeObject } from '../../agent/kubernetes/kube-objects';
import { AGENT_JOIN_TOKEN_SECRET, KubegateAgent, type KubegateAgentProps } from '../../constructs/kubegate-agent';
import { synthObjects } from '../../constructs/synth-objects';
import { DEFAULT_USERS_NAMESPACE } from '../../agent/service-accounts/service-account-names';
import { AGENT_IDENTITY_SECRET } from '../../agent/rbac/rbac-names';
import { ClusterRegistration } from '../hub-api/hub-resources';
import type { HubApiAccess } from '../hub-api/hub-api';
import { agentLeftoversProvider, type AgentLeftoversInputs } from '../kube/agent-leftovers-provider';

export interface ClusterAgentArgs {
  /** The cluster's name at the hub (a DNS label). */
  readonly cluster: string;
  /** @default none */
  readonly labels?: Readonly<Record<string, string>>;
  /** The member cluster's kubeconfig (YAML); kept secret. */
  readonly kubeconfig: pulumi.Input<string>;
  /** @default the kubeconfig's current context */
  readonly context?: string;
  /** How the stack reaches the hub's admin API (Hub.access). */
  readonly hubAccess: pulumi.Input<HubApiAccess>;
  /** Where this cluster's agent reaches the hub's agent port, HOST:PORT. */
  readonly hubAgentEndpoint: string;
  readonly images: KubegateAgentProps['images'];
  /** The ClusterRoles kubegate may bind users to in this cluster. */
  readonly allowedClusterRoles: readonly string[];
  /** @default 'kubegate-system' */
  readonly agentNamespace?: string;
  /** @default 'kubegate-users' */
  readonly usersNamespace?: string;
}

/** A placeholder the construct renders while the real CA comes from the hub; replaced before applying. */
const CA_PLACEHOLDER = '-----BEGIN CERTIFICATE-----\n(the hub CA)\n-----END CERTIFICATE-----\n';

/** The agent's objects for `hubCaPem`, split into what the Deployment needs first and the Deployment itself. */
export function agentObjects(args: ClusterAgentArgs, hubCaPem: string): { base: KubeObject[]; workload: KubeObject[] } {
  const objects = synthObjects(`kubegate-agent-${args.cluster}`, (chart) => {
    new KubegateAgent(chart, 'agent', {
      cluster: args.cluster,
      // No labels: the registration sets them at the hub, where they win over an agent's, so
      // relabelling a cluster never restarts its agent.
      hubAgentEndpoint: args.hubAgentEndpoint,
      hubCaPem,
      // Named so that the Deployment mounts the token; its Secret is applied on its own.
      joinToken: 'applied-separately',
      images: args.images,
      allowedClusterRoles: args.allowedClusterRoles,
      ...(args.agentNamespace ? { agentNamespace: args.agentNamespace } : {}),
      ...(args.usersNamespace ? { usersNamespace: args.usersNamespace } : {}),
    });
  });
  const kept = objects.filter((o) => !(o.kind === 'Secret' && o.metadata.name === AGENT_JOIN_TOKEN_SECRET));
  return { base: kept.filter((o) => o.kind !== 'Deployment'), workload: kept.filter((o) => o.kind === 'Deployment') };
}

/**
 * The agent keeps its certificate in its identity Secret, which the construct creates empty:
 * what it writes there is its own, never drift for Pulumi to undo (which would replace the
 * Secret and take the agent's identity with it).
 */
const agentOwnsItsIdentity: pulumi.ResourceTransform = ({ type, props, opts }) => {
  const metadata = (props as { metadata?: { name?: unknown } }).metadata;
  if (type !== 'kubernetes:core/v1:Secret' || metadata?.name !== AGENT_IDENTITY_SECRET) return undefined;
  return { props, opts: pulumi.mergeOptions(opts, { ignoreChanges: ['data', 'stringData'] }) };
};

/** Deletes, when it is deleted, the bindings the agent made for users (agent-leftovers-provider.ts). */
class AgentLeftovers extends pulumi.dynamic.Resource {
  constructor(name: string, args: { readonly [K in keyof AgentLeftoversInputs]: pulumi.Input<AgentLeftoversInputs[K]> }, opts: pulumi.CustomResourceOptions) {
    super(agentLeftoversProvider, name, args, { ...opts, additionalSecretOutputs: ['kubeconfig'] }, 'kubegate', 'AgentLeftovers');
  }
}

export class ClusterAgent extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  readonly registration: ClusterRegistration;
  readonly cluster: string;
  /** The agent's Deployment, rolled out. */
  readonly workload: k8s.yaml.v2.ConfigGroup;

  constructor(name: string, args: ClusterAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kubegate:index:ClusterAgent', name, {}, opts);
    this.cluster = args.cluster;
    const agentNamespace = args.agentNamespace ?? 'kubegate-system';
    // Checked now, with the placeholder CA: bad props fail the preview, naming each problem.
    agentObjects(args, CA_PLACEHOLDER);

    this.provider = new k8s.Provider(`${name}-cluster`, { kubeconfig: pulumi.secret(args.kubeconfig), ...(args.context ? { context: args.context } : {}) }, { parent: this });
    this.registration = new ClusterRegistration(`${name}-registration`, { access: args.hubAccess, cluster: args.cluster, labels: args.labels ?? {} }, { parent: this });
    const leftovers = new AgentLeftovers(
      `${name}-leftovers`,
      {
        cluster: args.cluster,
        kubeconfig: pulumi.secret(args.kubeconfig),
        ...(args.context ? { context: args.context } : {}),
        usersNamespace: args.usersNamespace ?? DEFAULT_USERS_NAMESPACE,
      },
      { parent: this, dependsOn: [this.registration] },
    );
    const objects = this.registration.hubCaPem.apply((pem) => agentObjects(args, pem));
    const base = new k8s.yaml.v2.ConfigGroup(`${name}-base`, { objs: objects.apply((o) => o.base) }, { parent: this, provider: this.provider, dependsOn: [leftovers], transforms: [agentOwnsItsIdentity] });
    const joinToken = new k8s.core.v1.Secret(
      `${name}-join-token`,
      {
        metadata: { name: AGENT_JOIN_TOKEN_SECRET, namespace: agentNamespace, labels: { 'app.kubernetes.io/part-of': 'kubegate', 'app.kubernetes.io/component': 'agent', 'kubegate.io/cluster': args.cluster } },
        stringData: { token: this.registration.joinToken },
      },
      { parent: this, provider: this.provider, dependsOn: [base] },
    );
    this.workload = new k8s.yaml.v2.ConfigGroup(`${name}-workload`, { objs: objects.apply((o) => o.workload) }, { parent: this, provider: this.provider, dependsOn: [joinToken] });
    this.registerOutputs({ cluster: args.cluster });
  }
}
