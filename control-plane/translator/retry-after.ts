/**
 * Retry-After on the edge's own 503s that provably never reached a cluster, so that kubectl,
 * helm and every client-go program try again by themselves (client-go retries any verb, up to
 * ten times, when a 503 carries Retry-After) instead of failing the user's command:
 *   - UAEX: the authorization service could not answer (no replica could decide: one stopping,
 *     an agent between two replicas) or itself asked to try again;
 *   - UF, UH: no connection to the cluster could be made (no tunnel at that moment).
 * A reset after the request went upstream (UR, UC) gets none: whether it was applied is unknown.
 */
const NOT_SENT_FLAGS = ['UAEX', 'UF', 'UH'];

export function retryAfterLocalReplies(): object {
  return {
    mappers: [
      {
        filter: {
          and_filter: {
            filters: [
              { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'kubegate.retry_after_status' } } } },
              { response_flag_filter: { flags: NOT_SENT_FLAGS } },
            ],
          },
        },
        headers_to_add: [{ header: { key: 'retry-after', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      },
    ],
  };
}
