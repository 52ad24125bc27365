/**
 * Everything the hub cluster runs for kubegate, as a cdk8s construct: the namespace, the
 * controller (hub-controller.ts: identity and rights, config Secret, store, Deployment,
 * Services), the edge Envoy (hub-edge.ts: bootstrap, Deployment, Service) and the
 * NetworkPolicies between them (hub-network-policies.ts). The CAs, the edge's client
 * certificate and the admin kubeconfig are not here: the controller creates them as Secrets on
 * first start, so the manifests hold nothing secret but an optional PostgreSQL URL
 * (kubegate-hub.md says how to get and rotate them).
 *
 * Props (hub-props.ts) are checked before anything is built, every problem named (hub-settings.ts).
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { HubController } from './hub-controller';
import { HubEdge } from './hub-edge';
import { HubNetworkPolicies } from './hub-network-policies';
import { hubMetadata } from './hub-pods';
import type { KubegateHubProps } from './hub-props';
import { resolveHubProps, type ResolvedHub } from './hub-settings';

export { KubegateHubPropsError, type KubegateHubProps, type HubResources } from './hub-props';
export { HUB_PROP_PATHS, HUB_PROPS_SCHEMA } from './hub-props-schema';

export class KubegateHub extends Construct {
  /** The props with every default filled in. */
  readonly settings: ResolvedHub;
  readonly controller: HubController;
  readonly edge: HubEdge;

  constructor(scope: Construct, id: string, props: KubegateHubProps) {
    super(scope, id);
    this.settings = resolveHubProps(props);
    const namespace = this.settings.namespace;
    // Every pod of the hub meets the "restricted" Pod Security Standard; the namespace enforces
    // it, so nothing less locked-down can be started there by mistake.
    const podSecurity = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' };
    new k8s.KubeNamespace(this, 'namespace', { metadata: { name: namespace, labels: { ...hubMetadata(namespace, namespace, 'namespace').labels, ...podSecurity } } });
    this.controller = new HubController(this, 'controller', this.settings);
    this.edge = new HubEdge(this, 'edge', this.settings);
    new HubNetworkPolicies(this, 'network-policies', this.settings);
  }
}
