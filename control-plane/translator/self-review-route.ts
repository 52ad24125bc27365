/**
 * Each cluster's route for the self reviews (`kubectl auth can-i`, `can-i --list`, `whoami`):
 * the same upstream as the cluster's other requests, with the filter that makes their answers
 * truthful about kubegate's rules turned on (it is off everywhere else: http-filters.ts). The
 * paths are those authz/self-review-requests.ts calls self reviews; a test keeps them in step.
 */
import { SELF_REVIEW_FILTER } from './http-filters';
import { clusterPathPrefix, typeUrl } from './names';

/** `text` as a regular expression (RE2) that matches exactly it. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The path of any self review after `prefix` (a cluster's `/clusters/<name>/`). */
export function selfReviewPathPattern(prefix: string): string {
  return `^${escapeRegExp(prefix)}apis/(authorization\\.k8s\\.io/v1/selfsubject(access|rules)reviews|authentication\\.k8s\\.io/(v1|v1beta1|v1alpha1)/selfsubjectreviews)$`;
}

export function selfReviewRoute(cluster: string, upstream: string): object {
  const prefix = clusterPathPrefix(cluster);
  return {
    name: `cluster/${cluster}/self-review`,
    match: { safe_regex: { regex: selfReviewPathPattern(prefix) } },
    route: { cluster: upstream, timeout: { seconds: 0 }, regex_rewrite: { pattern: { regex: `^${escapeRegExp(prefix)}` }, substitution: '/' } },
    typed_per_filter_config: {
      [SELF_REVIEW_FILTER]: {
        '@type': typeUrl('envoy.config.route.v3.FilterConfig'),
        config: { '@type': typeUrl('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute'), overrides: {} },
      },
    },
  };
}
