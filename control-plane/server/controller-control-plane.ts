/**
 * Why: the controller starts its control plane twice over (at start, and again on a restart in
 * place), each time from the same settings; this is how its props become the control plane's,
 * apart from controller.ts so that file stays about what the controller runs and when.
 */
import * as path from 'node:path';
import type { KeyPairPem } from '../pki/certificates';
import type { Store } from '../store/store';
import type { AuditLog } from '../audit/audit-log';
import type { AuditAppender } from '../audit/audit-writer';
import { AUTHZ_CLUSTER, CONTROL_PLANE_CLUSTER } from '../envoy/bootstrap';
import type { ControlPlaneProps } from './control-plane-props';
import type { ControllerProps } from './controller';

/** Agents renew after two thirds of this. */
const AGENT_CERTIFICATE_LIFETIME_MS = 24 * 3600 * 1000;

export function controlPlaneProps(props: ControllerProps, store: Store, appender: AuditAppender, log: AuditLog, edgeServing: KeyPairPem): ControlPlaneProps {
  const { pki, ports, edge } = props;
  const agentListenAddress = props.agents?.listenAddress ?? '127.0.0.1';
  return {
    ...(props.listenAddress ? { host: props.listenAddress } : {}),
    port: ports.xds,
    authzPort: ports.authz,
    statusPort: ports.status,
    store,
    tls: { caPem: pki.internalCa.certPem, serving: pki.controlPlane },
    edge: {
      nodeId: edge.nodeId,
      listenAddress: edge.listenAddress ?? '127.0.0.1',
      listenPort: edge.listenPort,
      ...(edge.auditLogFile ? { auditLogFile: edge.auditLogFile } : {}),
      ...(edge.accessLogFlushIntervalSeconds ? { accessLogFlushIntervalSeconds: edge.accessLogFlushIntervalSeconds } : {}),
      ...(edge.userShards ? { userShards: edge.userShards } : {}),
    },
    // The log itself too: cluster-side records copy the attributes of their decision.
    audit: {
      appender,
      log,
      ...(edge.auditLogFile ? { edgeLog: { file: edge.auditLogFile, ...(edge.reopenLogs ? { reopen: () => edge.reopenLogs!() } : {}) } } : {}),
    },
    edgeCertificates: { userCaPem: pki.userCa.certPem, serving: edgeServing },
    controlPlaneCluster: CONTROL_PLANE_CLUSTER,
    authzCluster: AUTHZ_CLUSTER,
    accessLogFile: path.join(props.stateDir, 'access-log.jsonl'),
    logger: props.logger.child('control-plane'),
    ...(props.drain ? { drain: props.drain } : {}),
    agents: {
      gateway: {
        host: agentListenAddress,
        port: ports.agent,
        edgeTunnelsFor: (cluster) => props.agents?.edgeTunnelsFor?.(cluster),
        serving: pki.controlPlane,
        internalCaPem: pki.internalCa.certPem,
        agentCaPem: pki.agentCa.certPem,
        issueAgentCertificate: (cluster, publicKeyPem, now) => pki.issueAgentCertificate(cluster, publicKeyPem, now, AGENT_CERTIFICATE_LIFETIME_MS),
        assertionSigningKeyPem: pki.assertionSigningKeyPem,
        edgeTunnel: { host: '127.0.0.1', port: ports.tunnel },
      },
      tunnels: { listenAddress: agentListenAddress, listenPort: ports.tunnel, agentCaPem: pki.agentCa.certPem, identity: pki.edgeTunnel },
    },
  };
}
