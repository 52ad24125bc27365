/**
 * The in-cluster Envoy's access log: every request that reaches it over a tunnel is streamed to
 * the control plane's agent port (envoy.service.accesslog.v3.AccessLogService) over the
 * bootstrap's own connection there, with the agent's certificate, which is what tells the
 * control plane which cluster is reporting. The control plane records each entry as the
 * cluster's side of the request (audit/cluster-log-events.ts): what kube-apiserver answered.
 *
 * Best effort by design: Envoy buffers briefly and drops entries while the control plane is
 * unreachable. The edge's own file log stays the record that nothing is lost.
 */
import type { AgentTranslatorInput } from './input';
import { typeUrl } from '../translator/names';
import { DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS } from '../translator/access-log';
import { AGENT_PORT_CLUSTER } from '../../agent/protocol/identities';

/**
 * x-request-id (the edge's id, which joins the entry to its decision) travels in every entry
 * as request_id; of the rest, only the protocol an upgraded stream switched to. Who the user is
 * and what they asked for is taken from the decision record, never from the cluster.
 */
const LOGGED_REQUEST_HEADERS = ['upgrade'];

export function clusterAccessLog(input: AgentTranslatorInput): object {
  return {
    name: 'envoy.access_loggers.http_grpc',
    typed_config: {
      '@type': typeUrl('envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig'),
      common_config: {
        log_name: input.nodeId,
        grpc_service: { envoy_grpc: { cluster_name: AGENT_PORT_CLUSTER } },
        transport_api_version: 'V3',
        buffer_flush_interval: { nanos: 200_000_000 },
      },
      additional_request_headers_to_log: LOGGED_REQUEST_HEADERS,
    },
  };
}

/** Open streams are logged while they last (progress), and once their upgrade succeeds. */
export function clusterAccessLogOptions(input: AgentTranslatorInput): object {
  return {
    access_log_flush_interval: { seconds: input.accessLogFlushIntervalSeconds ?? DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS },
    flush_log_on_tunnel_successfully_established: true,
  };
}
