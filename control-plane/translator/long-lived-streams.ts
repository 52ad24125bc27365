/**
 * The circuit breakers of every upstream cluster that carries Kubernetes API streams (direct,
 * tunnelled, shard, in-cluster): watches, logs -f and exec each hold an upstream request open
 * for a long time, and Envoy's default limits (1024) would turn the 1025th open watch into a
 * 503. A file of its own, so the clusters that use it need not import each other.
 */
const LONG_LIVED_STREAM_LIMIT = 100000;

export const LONG_LIVED_STREAMS = {
  thresholds: [
    {
      priority: 'DEFAULT',
      max_connections: { value: LONG_LIVED_STREAM_LIMIT },
      max_pending_requests: { value: LONG_LIVED_STREAM_LIMIT },
      max_requests: { value: LONG_LIVED_STREAM_LIMIT },
    },
  ],
};
