/**
 * The population and policy set of bench/authz-overhead.ts, the requests its Check load sends,
 * and the "check disabled" variant of the edge's configuration. Shared by the benchmark and its
 * load worker (bench/check-load-support.ts), so both agree on who may do what.
 *
 * Population: user-<i> is in two of GROUPS teams, team-(i mod GROUPS) and team-((7i+3) mod
 * GROUPS). Policy set: one AccessPolicy per team with five rules (so GROUPS × 5 rules), each
 * granting the team a few resources in its own namespaces; clusters are named, selected by label
 * or both, so every kind of cluster match is exercised. A request is allowed by one rule among
 * the thousand, or by none.
 */
import type { PolicyFileRecord } from '../control-plane/store/store';
import { IDENTITY_HEADERS_FROM_CLIENT } from '../control-plane/translator/http-filters';
import type { XdsResources } from '../control-plane/xds/resources';

export const GROUPS = 200;
export const RULES_PER_POLICY = 5;
export const NAMESPACES = 40;
export const BENCH_CLUSTER = 'bench';
export const BENCH_CLUSTER_LABELS = { env: 'bench', tier: 'local' } as const;

export const userName = (i: number) => `user-${i}`;
export const teamOf = (i: number): [number, number] => [i % GROUPS, (i * 7 + 3) % GROUPS];
export const userGroups = (i: number): string[] => [...new Set(teamOf(i))].map((t) => `team-${t}`);
export const ns = (n: number) => `ns-${((n % NAMESPACES) + NAMESPACES) % NAMESPACES}`;

/** The policy set: one AccessPolicy per team, `policiesPerFile` to a file, as teams would keep them. */
export function policyFiles(policiesPerFile = 20): PolicyFileRecord[] {
  const docs: string[] = [];
  for (let p = 0; p < GROUPS; p++) {
    const clusters =
      p % 3 === 0
        ? `{names: [${BENCH_CLUSTER}]}`
        : p % 3 === 1
          ? `{selector: {matchLabels: {env: ${BENCH_CLUSTER_LABELS.env}}}}`
          : `{names: [other-${p % 10}], selector: {matchExpressions: [{key: tier, operator: In, values: [${BENCH_CLUSTER_LABELS.tier}, remote]}]}}`;
    docs.push(`apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: team-${p}-access, labels: {team: team-${p}}}
spec:
  subjects: {groups: [team-${p}]}
  clusters: ${clusters}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch], namespaces: [${ns(p)}]}
    - {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch], namespaces: [${ns(p)}, ${ns(p + 1)}]}
    - {apiGroups: [apps], resources: [deployments, replicasets], verbs: [get, list, watch, update, patch], namespaces: [${ns(p)}]}
    - {apiGroups: [batch], resources: [jobs, cronjobs], verbs: ["*"], namespaces: [${ns(p + 5)}]}
    - {apiGroups: [""], resources: [secrets], verbs: [get], namespaces: [${ns(p)}], resourceNames: [app-config-${p}]}`);
  }
  const files: PolicyFileRecord[] = [];
  for (let i = 0; i < docs.length; i += policiesPerFile) {
    files.push({ fileName: `teams-${String(i / policiesPerFile).padStart(2, '0')}.yaml`, text: docs.slice(i, i + policiesPerFile).join('\n---\n') + '\n' });
  }
  return files;
}

export interface RequestLine {
  readonly method: string;
  /** Including /clusters/<name> and the query. */
  readonly path: string;
}

/**
 * A kubectl-like request by user `i`. `targeted`: inside what one of the user's teams may do
 * (usually allowed); otherwise anywhere (usually denied). `unique`: an object name never used
 * before, so the decision cannot come from the cache.
 */
export function requestFor(i: number, rand: () => number, targeted: boolean, unique?: number): RequestLine {
  const teams = teamOf(i);
  const p = targeted ? teams[rand() < 0.5 ? 0 : 1] : Math.floor(rand() * GROUPS);
  const name = unique === undefined ? `app-${Math.floor(rand() * 4)}` : `obj-${unique}`;
  const c = `/clusters/${BENCH_CLUSTER}`;
  const named: RequestLine[] = [
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p)}/configmaps/${name}` },
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p + 1)}/pods/${name}` },
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p)}/pods/${name}/log?container=app&tailLines=100` },
    { method: 'GET', path: `${c}/apis/apps/v1/namespaces/${ns(p)}/deployments/${name}` },
    { method: 'PATCH', path: `${c}/apis/apps/v1/namespaces/${ns(p)}/deployments/${name}?fieldManager=kubectl-edit` },
    { method: 'DELETE', path: `${c}/apis/batch/v1/namespaces/${ns(p + 5)}/jobs/${name}` },
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p)}/secrets/${unique === undefined ? `app-config-${p}` : name}` },
  ];
  if (unique !== undefined) return named[Math.floor(rand() * named.length)]!;
  const unnamed: RequestLine[] = [
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p)}/configmaps?limit=500` },
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p)}/pods?labelSelector=app%3Dweb&limit=500` },
    { method: 'GET', path: `${c}/api/v1/namespaces/${ns(p)}/pods?watch=1&resourceVersion=1` },
    { method: 'GET', path: `${c}/apis/apps/v1` },
    { method: 'GET', path: `${c}/api` },
    { method: 'GET', path: `${c}/api/v1/nodes` },
    { method: 'POST', path: `${c}/api/v1/namespaces/${ns(p)}/pods/${name}/exec?command=sh&stdin=true&tty=true` },
  ];
  const all = targeted ? [...named, ...unnamed.slice(0, 5)] : [...named, ...unnamed];
  return all[Math.floor(rand() * all.length)]!;
}

/**
 * The edge's resources with the authorization check taken out, for an identical edge without
 * the check: every connection manager loses its ext_authz filter, and its header_mutation filter,
 * after removing what the client sent, adds the Impersonate-User and Impersonate-Group headers
 * the check would have added for `identity` (so kube-apiserver still authorizes the request as
 * that user). Everything else (filter chains, TLS, routes, clusters, access log) is unchanged.
 */
export function withoutAuthzCheck(resources: XdsResources, identity: { user: string; groups: readonly string[] }): XdsResources {
  const EXT_AUTHZ = 'envoy.filters.http.ext_authz';
  const HEADER_MUTATION = 'envoy.filters.http.header_mutation';
  const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
  let removed = 0;
  const impersonation = [
    { append: { header: { key: 'impersonate-user', value: identity.user }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' } },
    ...identity.groups.map((g) => ({ append: { header: { key: 'impersonate-group', value: g }, append_action: 'APPEND_IF_EXISTS_OR_ADD' } })),
  ];
  const rewriteHcm = (hcm: Record<string, unknown>): Record<string, unknown> => {
    const filters = (hcm.http_filters as Array<Record<string, unknown>>)
      .filter((f) => {
        if (f.name !== EXT_AUTHZ) return true;
        removed++;
        return false;
      })
      .map((f) => {
        if (f.name !== HEADER_MUTATION) return f;
        const config = f.typed_config as { mutations: { request_mutations: object[] } } & Record<string, unknown>;
        return { ...f, typed_config: { ...config, mutations: { ...config.mutations, request_mutations: [...config.mutations.request_mutations, ...impersonation] } } };
      });
    return { ...hcm, http_filters: filters };
  };
  // The translator shares one connection manager object between chains; so does this.
  const rewritten = new Map<unknown, Record<string, unknown>>();
  const rewriteChain = (chain: Record<string, unknown>) => ({
    ...chain,
    filters: (chain.filters as Array<Record<string, unknown>>).map((f) => {
      const config = f.typed_config as Record<string, unknown>;
      if (config?.['@type'] !== HCM) return f;
      let hcm = rewritten.get(config);
      if (!hcm) rewritten.set(config, (hcm = rewriteHcm(config)));
      return { ...f, typed_config: hcm };
    }),
  });
  const listeners = resources.listeners.map((l) => {
    const listener = l as Record<string, unknown>;
    return {
      ...listener,
      filter_chains: ((listener.filter_chains as Array<Record<string, unknown>>) ?? []).map(rewriteChain),
      ...(listener.default_filter_chain ? { default_filter_chain: rewriteChain(listener.default_filter_chain as Record<string, unknown>) } : {}),
    };
  });
  if (removed === 0) throw new Error('the edge configuration has no ext_authz filter to remove');
  // Identity headers from the client are still removed first: the mutation list starts with them.
  const mutation = rewritten.values().next().value as Record<string, unknown> | undefined;
  const first = ((mutation?.http_filters as Array<{ name: string; typed_config: { mutations: { request_mutations: Array<{ remove?: string }> } } }>) ?? [])[0];
  const removes = first?.typed_config.mutations.request_mutations.filter((m) => m.remove).map((m) => m.remove);
  if (JSON.stringify(removes) !== JSON.stringify(IDENTITY_HEADERS_FROM_CLIENT)) throw new Error('unexpected header_mutation filter in the edge configuration');
  return { ...resources, listeners };
}
