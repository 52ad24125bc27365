/**
 * What may connect to the hub's pods, and nothing more (once a NetworkPolicy selects a pod,
 * every connection it does not allow is refused):
 *   - the edge: its user port and its tunnel port, from anywhere (users, member clusters); not its
 *     lifecycle port (hub-edge-lifecycle.ts), which only the kubelet calls, from the node;
 *   - the controller: xDS and ext_authz from the edge's pods only; the agent port from anywhere
 *     (member clusters' agents and in-cluster Envoys) and, with agentInstall, the install port
 *     (member clusters' admins fetching a link, which is its own credential); the admin API from anywhere or from the
 *     operator's CIDRs; the metrics port from the namespaces the operator names (Prometheus).
 * Written as plain networking.k8s.io/v1 objects: each rule reads as the policy it is.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { CONTROLLER_NAME, EDGE_NAME, hubMetadata, podLabels } from './hub-pods';
import type { ResolvedHub } from './hub-settings';

const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }));

export class HubNetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, hub: ResolvedHub) {
    super(scope, id);
    const { ports } = hub;
    new k8s.KubeNetworkPolicy(this, 'edge', {
      metadata: hubMetadata(EDGE_NAME, hub.namespace, 'edge'),
      spec: {
        podSelector: { matchLabels: podLabels('edge') },
        policyTypes: ['Ingress'],
        ingress: [{ ports: tcp(ports.edge, ports.tunnel) }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'controller', {
      metadata: hubMetadata(CONTROLLER_NAME, hub.namespace, 'controller'),
      spec: {
        podSelector: { matchLabels: podLabels('controller') },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: podLabels('edge') } }], ports: tcp(ports.xds, ports.authz) },
          { ports: tcp(ports.agent, ...(hub.agentInstall ? [ports.install] : [])) },
          hub.apiAllowedCidrs.length > 0 ? { from: hub.apiAllowedCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(ports.api) } : { ports: tcp(ports.api) },
          { from: [{ namespaceSelector: { matchLabels: { ...hub.metricsNamespaceSelector } } }], ports: tcp(ports.status) },
        ],
      },
    });
  }
}
