/**
 * Why: `kubegate:index:Hub` installs the hub (the KubegateHub construct's objects: the
 * controller, the edge, their Services, policies and least rights) on one cluster through that
 * cluster's own provider, and hands the rest of the stack what reaching it takes: the admin
 * API's access (read by the dynamic providers, secret), the agent endpoint member clusters dial,
 * and the edge URL users' kubeconfigs carry. The objects are applied with Pulumi's await logic,
 * so the component is done when the controller and the edge are rolled out.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { KubegateHub, type KubegateHubProps } from '../../constructs/kubegate-hub';
import { synthObjects } from '../../constructs/synth-objects';
import type { HubApiAccess } from '../hub-api/hub-api';

export interface HubArgs {
  /** The hub cluster's kubeconfig (YAML); kept secret. */
  readonly kubeconfig: pulumi.Input<string>;
  /** @default the kubeconfig's current context */
  readonly context?: string;
  /** The hub's props, images included (KubegateHubProps; checked by the construct). */
  readonly props: KubegateHubProps;
  /** The admin API as the machine running Pulumi reaches it: https://HOST:PORT. */
  readonly apiUrl: string;
  /** Where member clusters' agents reach the hub's agent port: HOST:PORT. */
  readonly agentEndpoint: string;
  /** How long an admin API call waits for a hub that does not answer yet. @default 5 minutes */
  readonly apiWaitMs?: number;
}

export class Hub extends pulumi.ComponentResource {
  /** The hub cluster's provider: anything else the stack puts there uses it too. */
  readonly provider: k8s.Provider;
  /** The hub's objects; resources that need a running hub depend on it. */
  readonly objects: k8s.yaml.v2.ConfigGroup;
  /** How the dynamic providers reach the admin API (secret: it holds the hub cluster's kubeconfig). */
  readonly access: pulumi.Output<HubApiAccess>;
  readonly namespace: string;
  readonly edgeUrl: string;
  readonly apiUrl: string;
  readonly agentEndpoint: string;

  constructor(name: string, args: HubArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kubegate:index:Hub', name, {}, opts);
    const objects = synthObjects('kubegate-hub', (chart) => new KubegateHub(chart, 'hub', args.props));
    this.namespace = args.props.namespace ?? 'kubegate-system';
    this.edgeUrl = args.props.edgeUrl;
    this.apiUrl = args.apiUrl;
    this.agentEndpoint = args.agentEndpoint;
    this.provider = new k8s.Provider(`${name}-cluster`, { kubeconfig: pulumi.secret(args.kubeconfig), ...(args.context ? { context: args.context } : {}) }, { parent: this });
    this.objects = new k8s.yaml.v2.ConfigGroup(`${name}-objects`, { objs: objects }, { parent: this, provider: this.provider });
    // Depends on the objects: nothing calls the API before the hub is rolled out.
    this.access = pulumi.secret(
      pulumi.all([args.kubeconfig, this.objects.resources]).apply(([kubeconfig]) => ({
        kubeconfig,
        ...(args.context ? { context: args.context } : {}),
        namespace: this.namespace,
        apiUrl: args.apiUrl,
        ...(args.apiWaitMs ? { waitMs: args.apiWaitMs } : {}),
      })),
    );
    this.registerOutputs({ namespace: this.namespace, edgeUrl: this.edgeUrl, apiUrl: this.apiUrl, agentEndpoint: this.agentEndpoint });
  }
}
