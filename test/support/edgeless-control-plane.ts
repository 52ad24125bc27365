/**
 * What a control plane needs when no Envoy runs (tests that drive xDS or the agent port by
 * hand): the PKI's identities, a state directory, a store; the edge's listener port only has
 * to be a valid number.
 */
import * as path from 'node:path';
import type { ControlPlaneProps } from '../../control-plane/server/control-plane-props';
import type { KubegatePki } from '../../control-plane/pki/kubegate-pki';
import type { Store } from '../../control-plane/store/store';
import { AUTHZ_CLUSTER, CONTROL_PLANE_CLUSTER } from '../../control-plane/envoy/bootstrap';
import { silentLogger } from '../../control-plane/log/logger';

export function edgelessControlPlaneProps(dir: string, pki: KubegatePki, store: Store, nodeId = 'edge-0'): ControlPlaneProps {
  return {
    store,
    tls: { caPem: pki.internalCa.certPem, serving: pki.controlPlane },
    edge: { nodeId, listenAddress: '127.0.0.1', listenPort: 1 },
    edgeCertificates: { userCaPem: pki.userCa.certPem, serving: pki.edgeServing },
    controlPlaneCluster: CONTROL_PLANE_CLUSTER,
    authzCluster: AUTHZ_CLUSTER,
    accessLogFile: path.join(dir, 'access-log.jsonl'),
    logger: silentLogger,
  };
}
