/**
 * Envoy's response flags as the short codes its text and file access logs write (UF, URX, ...),
 * from the field names of the gRPC access log's ResponseFlags message
 * (envoy.data.accesslog.v3.ResponseFlags), which is what a gRPC entry carries. The audit
 * trail's records from the edge's file log already have the codes: records from a gRPC log
 * (the clusters') are given the same, so one trail does not speak two vocabularies.
 */
const CODES: Readonly<Record<string, string>> = {
  failed_local_healthcheck: 'LH',
  no_healthy_upstream: 'UH',
  upstream_request_timeout: 'UT',
  local_reset: 'LR',
  upstream_remote_reset: 'UR',
  upstream_connection_failure: 'UF',
  upstream_connection_termination: 'UC',
  upstream_overflow: 'UO',
  no_route_found: 'NR',
  delay_injected: 'DI',
  fault_injected: 'FI',
  rate_limited: 'RL',
  unauthorized_details: 'UAEX',
  rate_limit_service_error: 'RLSE',
  downstream_connection_termination: 'DC',
  upstream_retry_limit_exceeded: 'URX',
  stream_idle_timeout: 'SI',
  invalid_envoy_request_headers: 'IH',
  downstream_protocol_error: 'DPE',
  upstream_max_stream_duration_reached: 'UMSDR',
  response_from_cache_filter: 'RFCF',
  no_filter_config_found: 'NFCF',
  duration_timeout: 'DT',
  upstream_protocol_error: 'UPE',
  no_cluster_found: 'NC',
  overload_manager: 'OM',
  dns_resolution_failure: 'DF',
  downstream_remote_reset: 'DR',
};

/** The short code of a ResponseFlags field; a field this table does not know keeps its name. */
export function responseFlagCode(field: string): string {
  return CODES[field] ?? field;
}
