import type { TranslatorInput } from './input';
import { typeUrl } from './names';
import { EDGE_LOG_FORMAT } from '../audit/edge-log-format';
import { toStruct } from '../proto/struct-value';

/**
 * Request headers kubectl sets that let an auditor see the command and group its calls, and the
 * protocol a streaming request (exec, attach, port-forward) was upgraded to.
 */
export const AUDITED_REQUEST_HEADERS = ['kubectl-command', 'kubectl-session', 'user-agent', 'upgrade'];

/**
 * How often an open stream's access log is written (a progress record), at the edge and in the
 * clusters' Envoys alike. See EdgeSettings.accessLogFlushIntervalSeconds.
 */
export const DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS = 60;

/** Every request is streamed to the control plane's gRPC access-log service. */
export function accessLogs(input: TranslatorInput): object[] {
  return [
    {
      name: 'envoy.access_loggers.http_grpc',
      typed_config: {
        '@type': typeUrl('envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig'),
        common_config: {
          log_name: input.edge.nodeId,
          grpc_service: { envoy_grpc: { cluster_name: input.edge.controlPlaneCluster } },
          transport_api_version: 'V3',
          buffer_flush_interval: { nanos: 200_000_000 },
        },
        additional_request_headers_to_log: AUDITED_REQUEST_HEADERS,
      },
    },
    ...(input.edge.auditLogFile
      ? [
          {
            name: 'envoy.access_loggers.file',
            typed_config: {
              '@type': typeUrl('envoy.extensions.access_loggers.file.v3.FileAccessLog'),
              path: input.edge.auditLogFile,
              // protobufjs takes a Struct as { fields: { key: { stringValue } } }, not as plain JSON.
              log_format: { json_format: toStruct(EDGE_LOG_FORMAT) },
            },
          },
        ]
      : []),
  ];
}
