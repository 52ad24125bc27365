/**
 * kubegate's own addition to the Kubernetes path: the /clusters/<name> prefix that picks the
 * cluster. Split off here exactly as the edge's route does, after the same target checks as the
 * attribute parser, so the cluster a request is decided for is the one Envoy routes it to.
 */
import { splitRequestTarget } from './request-target-check';

/** translator/input.ts: a cluster name is a DNS label. */
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Splits kubegate's /clusters/<name> prefix off a request target, as the edge's route does
 * (prefix /clusters/<name>/ or exactly /clusters/<name>, rewritten to '/'): the rest keeps its
 * query. Returns null when the target does not start with /clusters/<dns-label>.
 *
 * The whole target goes through the same checks as parseRequestAttributes first and throws
 * RequestPathError on the same tricks (/clusters/%2e%2e/..., /clusters/./x, /clusters//x,
 * backslashes, control characters, ...), so the cluster chosen here is the one Envoy routes to.
 */
export function stripClusterPrefix(pathWithQuery: string): { cluster: string; rest: string } | null {
  const { path, rawQuery, segments } = splitRequestTarget(pathWithQuery);
  if (segments[0] !== 'clusters' || segments.length < 2) return null;
  const cluster = segments[1]!;
  if (!CLUSTER_NAME.test(cluster)) return null;
  const rest = path.slice(`/clusters/${cluster}`.length) || '/';
  return { cluster, rest: rawQuery === null ? rest : `${rest}?${rawQuery}` };
}
