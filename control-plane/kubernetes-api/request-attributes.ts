/**
 * Kubernetes request attributes (verb, API group and version, namespace, resource, subresource,
 * name), derived at the edge the same way kube-apiserver derives them, so that rules evaluated
 * here see the request the apiserver will serve.
 *
 * The rules follow kube-apiserver v1.34:
 * k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, RequestInfoFactory.NewRequestInfo
 * (with the factory kube-apiserver builds in k8s.io/apiserver/pkg/server/config.go,
 * NewRequestInfoResolver: API prefixes "api" and "apis", of which "api" has no group), its
 * package-level sets specialVerbs, specialVerbsNoSubresources and namespaceSubresources, and its
 * helper splitPath. The query-string rules (list versus watch, a name from a field selector)
 * live in ./list-options.ts.
 *
 * Before any of that, the request target is checked (./request-target-check.ts). This parser
 * sits in front of a real apiserver, so a target that Envoy, a URL normaliser and
 * kube-apiserver could read in different ways is refused rather than interpreted.
 */
import { fieldSelectorExactMatch } from './field-selector';
import { fallbackWatchBool, parseGoQuery, utf8FromBytes } from './go-query';
import { decodeListOptions } from './list-options';
import { assertMethod, RequestPathError, splitRequestTarget } from './request-target-check';

export interface RequestAttributes {
  readonly isResourceRequest: boolean;
  /** The path that was parsed, as received (no query); a trailing slash is kept, as kube keeps it. */
  readonly path: string;
  /**
   * Resource requests: get list watch create update patch delete deletecollection, or proxy /
   * watch from the deprecated path forms; '' for a method kube has no verb for (OPTIONS,
   * CONNECT, TRACE, lowercase "get", ...), exactly as kube-apiserver leaves it.
   * Non-resource requests: the HTTP method in lowercase.
   */
  readonly verb: string;
  /** 'api' | 'apis'; '' for non-resource requests. */
  readonly apiPrefix: string;
  /** '' for the core group (and for non-resource requests). */
  readonly apiGroup: string;
  readonly apiVersion: string;
  /** The namespace, also for the namespace object itself (/api/v1/namespaces/{name}). */
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  /** From the path, or from `fieldSelector=metadata.name=X` on a list or watch. */
  readonly name: string;
  /** The path parts from the resource on: resource/name/subresource/anything/else. */
  readonly parts: readonly string[];
  /**
   * The verb came from the deprecated /watch/ or /proxy/ path segment rather than from the
   * method (kube's verbViaPathPrefix; kube ignores selectors for such requests).
   */
  readonly verbViaPathPrefix: boolean;
}

/**
 * Every verb a resource request can carry, as kube-apiserver derives it from the method and
 * path; '' is kube's "no verb" for unmapped methods. Not the verbs a policy rule may name
 * (policies/src/verbs.ts RESOURCE_VERBS), which add the special verbs and '*'.
 */
export const REQUEST_VERBS: ReadonlySet<string> = new Set([
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'proxy',
  '',
]);

// RequestInfoFactory as kube-apiserver configures it (server/config.go, NewRequestInfoResolver).
const API_PREFIXES: ReadonlySet<string> = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES: ReadonlySet<string> = new Set(['api']);
// requestinfo.go: specialVerbs, specialVerbsNoSubresources, namespaceSubresources.
const SPECIAL_VERBS: ReadonlySet<string> = new Set(['proxy', 'watch']);
const SPECIAL_VERBS_NO_SUBRESOURCES: ReadonlySet<string> = new Set(['proxy']);
const NAMESPACE_SUBRESOURCES: ReadonlySet<string> = new Set(['status', 'finalize']);
// NewRequestInfo's switch on req.Method: exact, case-sensitive comparison as in Go.
const METHOD_VERBS: ReadonlyMap<string, string> = new Map([
  ['POST', 'create'],
  ['GET', 'get'],
  ['HEAD', 'get'],
  ['PUT', 'update'],
  ['PATCH', 'patch'],
  ['DELETE', 'delete'],
]);

/** apimachinery/pkg/api/validation/path, IsValidPathSegmentName: the only rule kube applies to a selector name. */
const isValidPathSegmentName = (name: string) => name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function attributes(fields: RequestAttributes): RequestAttributes {
  return Object.freeze({ ...fields, parts: Object.freeze([...fields.parts]) });
}

/**
 * The attributes kube-apiserver v1.34 derives for `method` on `pathWithQuery` (a path without
 * kubegate's /clusters/<name> prefix; see stripClusterPrefix).
 *
 * Follows RequestInfoFactory.NewRequestInfo step by step; the deliberate differences are:
 * - targets refused by splitRequestTarget (and methods that are not tokens) throw
 *   RequestPathError instead of being interpreted;
 * - `/api/v1/watch` or `/api/v1/proxy` with nothing after the verb throws RequestPathError where
 *   kube returns an error (and answers 500);
 * - non-resource requests report apiPrefix '' (kube leaves "apis" set for /apis/{group}/{version},
 *   a field no authorizer reads for non-resource requests);
 * - a name from a field selector that is not valid UTF-8 is not used (kube would use the raw
 *   bytes); the request is then treated as the unnamed list or watch it also is.
 */
export function parseRequestAttributes(method: string, pathWithQuery: string): RequestAttributes {
  assertMethod(method);
  const { path, rawQuery, segments } = splitRequestTarget(pathWithQuery);
  const nonResource = (): RequestAttributes =>
    attributes({
      isResourceRequest: false,
      path,
      verb: asciiLower(method),
      apiPrefix: '',
      apiGroup: '',
      apiVersion: '',
      namespace: '',
      resource: '',
      subresource: '',
      name: '',
      parts: [],
      verbViaPathPrefix: false,
    });

  // Fewer than three parts, or an unknown first part: not an API resource (e.g. /version,
  // /healthz, /openapi/v2, /api, /api/v1, /apis, /apis/apps).
  if (segments.length < 3 || !API_PREFIXES.has(segments[0]!)) return nonResource();
  const apiPrefix = segments[0]!;
  let rest = segments.slice(1);
  let apiGroup = '';
  if (!GROUPLESS_API_PREFIXES.has(apiPrefix)) {
    // /apis needs a group and a version before the resource: /apis/apps/v1 is discovery.
    if (rest.length < 3) return nonResource();
    apiGroup = rest[0]!;
    rest = rest.slice(1);
  }
  const apiVersion = rest[0]!;
  rest = rest.slice(1);

  // Deprecated verb-in-path forms: /api/v1/watch/..., /api/v1/proxy/...; the path decides the
  // verb whatever the method.
  let verb: string;
  let verbViaPathPrefix = false;
  if (SPECIAL_VERBS.has(rest[0]!)) {
    if (rest.length < 2) {
      throw new RequestPathError('no-resource', `request path ${path} names the '${rest[0]}' verb but no resource after it; kube-apiserver cannot determine the resource either`);
    }
    verb = rest[0]!;
    rest = rest.slice(1);
    verbViaPathPrefix = true;
  } else {
    verb = METHOD_VERBS.get(method) ?? '';
  }

  // /namespaces/{namespace}/{resource}/...: the parts become relative to the resource, unless
  // what follows the namespace is one of the namespace's own subresources (status, finalize) or
  // nothing, in which case the namespace object itself is addressed.
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const parts = rest;

  // resource/name/subresource/anything/else; the proxy verb takes no subresource.
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  const subresource = parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(verb) ? parts[2]! : '';

  // A get without a name is a list or a watch, decided by the query.
  if (name === '' && verb === 'get') {
    const query = parseGoQuery(rawQuery ?? '');
    const options = decodeListOptions(query);
    if (options.ok) {
      verb = options.watch ? 'watch' : 'list';
      const selected = options.fieldSelector ? fieldSelectorExactMatch(options.fieldSelector, 'metadata.name') : null;
      if (selected !== null && isValidPathSegmentName(selected)) name = utf8FromBytes(selected) ?? '';
    } else {
      // The options do not decode (kube's list handler will answer 400); kube still reports a
      // watch when the first watch value says so, and never takes a name from the selector.
      const watch = query.get('watch');
      verb = watch && fallbackWatchBool(watch[0]!) ? 'watch' : 'list';
    }
  }
  // A delete without a name deletes the collection.
  if (name === '' && verb === 'delete') verb = 'deletecollection';

  return attributes({
    isResourceRequest: true,
    path,
    verb,
    apiPrefix,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
    parts,
    verbViaPathPrefix,
  });
}

/**
 * The path (without query) that the attributes describe. For resource requests, in canonical
 * form: no trailing slash, and for the one ambiguous shape, /namespaces/N/namespaces/N[/status|/finalize], which kube
 * reads exactly like /namespaces/N[/status|/finalize], the shorter form. Non-resource requests
 * keep their path as received, trailing slash included: nonResourceURLs rules match it exactly.
 */
export function formatRequestPath(attrs: RequestAttributes): string {
  if (!attrs.isResourceRequest) return attrs.path;
  const segments = [attrs.apiPrefix];
  if (!GROUPLESS_API_PREFIXES.has(attrs.apiPrefix)) segments.push(attrs.apiGroup);
  segments.push(attrs.apiVersion);
  if (attrs.verbViaPathPrefix) segments.push(attrs.verb);
  const [first, second, third] = attrs.parts;
  const namespaceObject = first === 'namespaces' && second === attrs.namespace && (third === undefined || NAMESPACE_SUBRESOURCES.has(third));
  if (attrs.namespace !== '' && !namespaceObject) segments.push('namespaces', attrs.namespace);
  segments.push(...attrs.parts);
  return `/${segments.join('/')}`;
}

const POD_SESSION_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

/**
 * Requests that open a session into a workload or a node rather than read or write an object:
 * pods exec, attach and portforward, and any proxy (nodes/proxy, services/proxy, pods/proxy,
 * and the deprecated /proxy/ verb form). Whatever the method: kubectl exec is a GET (WebSocket)
 * or POST (SPDY) upgrade and both are exec. The pods check does not look at the API group, so a
 * look-alike pods resource in another group is flagged too (erring towards privileged).
 */
export function isPrivilegedSubresource(attrs: RequestAttributes): boolean {
  if (!attrs.isResourceRequest) return false;
  if (attrs.subresource === 'proxy' || attrs.verb === 'proxy') return true;
  return attrs.resource === 'pods' && POD_SESSION_SUBRESOURCES.has(attrs.subresource);
}
