import type { TranslatorInput } from './input';
import { typeUrl } from './names';
import { ASSERTION_HEADER } from '../../agent/protocol/identities';

/**
 * Other replicas a check is sent to when one cannot decide it (the edge's ext_authz): enough for
 * a rolling update of two or three replicas, when one is stopping, one new and the edge's view
 * of them may still name one already gone.
 */
const AUTHZ_RETRIES = 4;

/** Headers a client could use to claim another identity upstream; removed before anything else. */
export const IDENTITY_HEADERS_FROM_CLIENT = ['authorization', 'impersonate-user', 'impersonate-group', 'impersonate-uid', ASSERTION_HEADER];

const DEFAULT_AUTHZ_TIMEOUT_MS = 2000;

/** Where ext_authz's decision lands as dynamic metadata (the filter's own name). */
export const AUTHZ_METADATA_NAMESPACE_NAME = 'envoy.filters.http.ext_authz';

/** The filter that rewrites answers to self reviews; off except on their routes (routes.ts). */
export const SELF_REVIEW_FILTER = 'envoy.filters.http.ext_proc';

/**
 * Order matters: strip client-supplied identity headers, then ask the control plane (which
 * also drops any Impersonate-Extra-* it sees, since their names are open-ended, and adds the
 * identity it decided on), then route.
 */
export function httpFilters(input: TranslatorInput): object[] {
  const timeoutMs = input.edge.authzTimeoutMs ?? DEFAULT_AUTHZ_TIMEOUT_MS;
  return [
    {
      name: 'envoy.filters.http.header_mutation',
      typed_config: {
        '@type': typeUrl('envoy.extensions.filters.http.header_mutation.v3.HeaderMutation'),
        mutations: { request_mutations: IDENTITY_HEADERS_FROM_CLIENT.map((remove) => ({ remove })) },
      },
    },
    {
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': typeUrl('envoy.extensions.filters.http.ext_authz.v3.ExtAuthz'),
        grpc_service: {
          envoy_grpc: { cluster_name: input.edge.authzCluster },
          timeout: { seconds: Math.floor(timeoutMs / 1000), nanos: (timeoutMs % 1000) * 1e6 },
          // With several controller replicas: one that cannot decide (the cluster's agent is
          // connected to another) answers UNAVAILABLE, and one that is gone refuses or resets
          // the stream; the check then goes to another replica, never the same one twice.
          retry_policy: {
            retry_on: 'unavailable,connect-failure,refused-stream,reset',
            num_retries: { value: AUTHZ_RETRIES },
            // Envoy turns a core retry policy into a route one whose per-try timeout is the
            // back-off's max_interval: it is the check's whole timeout, or a check slower than
            // the back-off (a first request that waits for a ServiceAccount) is cut off.
            retry_back_off: { base_interval: { nanos: 10e6 }, max_interval: { seconds: Math.floor(timeoutMs / 1000), nanos: (timeoutMs % 1000) * 1e6 } },
            retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': typeUrl('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate') } }],
            host_selection_retry_max_attempts: 4,
          },
        },
        transport_api_version: 'V3',
        // Fail closed: if the control plane cannot answer, nobody gets in.
        failure_mode_allow: false,
        status_on_error: { code: 'ServiceUnavailable' },
        // The verified client certificate is the user's identity, and the server name says
        // which filter chain (whose user) the connection came in on.
        include_peer_certificate: true,
        include_tls_session: true,
        // Method and path travel in their own fields; of the headers, the decision needs the
        // Impersonate-* ones it must remove, and its audit record the request id (which joins
        // it to the edge's log) and what kubectl says about itself. Sending no others keeps the
        // per-request message (and its cost on both sides) small.
        allowed_headers: {
          patterns: [
            { prefix: 'impersonate-', ignore_case: true },
            ...['x-request-id', 'user-agent', 'kubectl-command', 'kubectl-session'].map((exact) => ({ exact, ignore_case: true })),
          ],
        },
      },
    },
    // After the decision, so the decision's metadata says who asks: rewrites the cluster's
    // answers to `kubectl auth can-i` and `whoami` (self-review/). Disabled here; the
    // self-review routes turn it on, so no other request pays for it.
    {
      name: SELF_REVIEW_FILTER,
      disabled: true,
      typed_config: {
        '@type': typeUrl('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor'),
        grpc_service: {
          envoy_grpc: { cluster_name: input.edge.controlPlaneCluster },
          timeout: { seconds: Math.floor(timeoutMs / 1000), nanos: (timeoutMs % 1000) * 1e6 },
        },
        // Fail closed: an answer that could not be checked is not passed on.
        failure_mode_allow: false,
        message_timeout: { seconds: Math.floor(timeoutMs / 1000), nanos: (timeoutMs % 1000) * 1e6 },
        // Headers out (to ask for uncompressed JSON), the question (a rules review's answer
        // does not repeat its namespace) and the whole answer back; with the response headers
        // skipped, Envoy drops content-length itself when the body changes.
        processing_mode: {
          request_header_mode: 'SEND',
          response_header_mode: 'SKIP',
          request_body_mode: 'BUFFERED',
          response_body_mode: 'BUFFERED',
          request_trailer_mode: 'SKIP',
          response_trailer_mode: 'SKIP',
        },
        metadata_options: { forwarding_namespaces: { untyped: [AUTHZ_METADATA_NAMESPACE_NAME] } },
      },
    },
    {
      name: 'envoy.filters.http.router',
      typed_config: { '@type': typeUrl('envoy.extensions.filters.http.router.v3.Router') },
    },
  ];
}
