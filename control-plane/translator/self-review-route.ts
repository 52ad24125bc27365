/**
 * Each cluster's routes for the self reviews (`kubectl auth can-i`, `can-i --list`, `whoami`):
 * the same upstream as the cluster's other requests, with the filter that makes their answers
 * truthful about kubegate's rules turned on (it is off everywhere else: http-filters.ts). One
 * exact path each (a regular expression for all of them exceeds Envoy's default RE2 program
 * size, and exact matches cost nothing). The paths come from authz/self-review-requests.ts,
 * which says what a self review is.
 */
import { SELF_REVIEW_FILTER } from './http-filters';
import { clusterPathPrefix, typeUrl } from './names';
import { SELF_REVIEW_PATHS } from '../authz/self-review-requests';

const FILTER_ON = {
  [SELF_REVIEW_FILTER]: {
    '@type': typeUrl('envoy.config.route.v3.FilterConfig'),
    config: { '@type': typeUrl('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute'), overrides: {} },
  },
};

export function selfReviewRoutes(cluster: string, upstream: string): object[] {
  const prefix = clusterPathPrefix(cluster);
  return SELF_REVIEW_PATHS.map((path) => ({
    name: `cluster/${cluster}/self-review/${path.split('/').slice(1, 3).join('/')}/${path.split('/').at(-1)}`,
    match: { path: `${prefix}${path}` },
    route: { cluster: upstream, timeout: { seconds: 0 }, prefix_rewrite: `/${path}` },
    typed_per_filter_config: FILTER_ON,
  }));
}
