/**
 * The hub's Services that leave the cluster (the edge's user and tunnel ports, the controller's
 * agent and admin API ports) are built alike: the type the operator chose (LoadBalancer or
 * NodePort), a fixed nodePort where one is given, the operator's annotations (a cloud's load
 * balancer settings). A load balancer keeps clients' own addresses (externalTrafficPolicy
 * Local): the edge's audit trail records them, and apiAllowedCidrs can only judge them so.
 */
import type { Construct } from 'constructs';
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { selectPods, type hubMetadata, type HubComponent } from './hub-pods';
import type { ResolvedHub } from './hub-settings';

export interface PublicPort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
  readonly nodePort?: number;
}

export function publicService(
  scope: Construct,
  id: string,
  hub: ResolvedHub,
  metadata: ReturnType<typeof hubMetadata>,
  component: HubComponent,
  ports: readonly PublicPort[],
  /** keepClientAddress: externalTrafficPolicy Local under LoadBalancer. @default true */
  options: { readonly keepClientAddress?: boolean } = {},
): kplus.Service {
  const annotations = Object.keys(hub.serviceAnnotations).length > 0 ? { annotations: { ...hub.serviceAnnotations } } : {};
  const service = new kplus.Service(scope, id, {
    metadata: { ...metadata, ...annotations },
    type: hub.serviceType === 'NodePort' ? kplus.ServiceType.NODE_PORT : kplus.ServiceType.LOAD_BALANCER,
    ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) })),
  });
  selectPods(service, component);
  if (hub.serviceType === 'LoadBalancer' && options.keepClientAddress !== false) ApiObject.of(service).addJsonPatch(JsonPatch.add('/spec/externalTrafficPolicy', 'Local'));
  return service;
}
