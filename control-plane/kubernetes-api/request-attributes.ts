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
 * live in ./request-attributes/list-options.ts.
 *
 * Before any of that, the request target is checked (splitRequestTarget below). This parser
 * sits in front of a real apiserver, so a target that Envoy, a URL normaliser and
 * kube-apiserver could read in different ways is refused rather than interpreted.
 */
import {
  decodeListOptions,
  fallbackWatchBool,
  fieldSelectorExactMatch,
  parseGoQuery,
  utf8FromBytes,
} from './list-options';

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

/** Every verb a resource request can carry; '' is kube's "no verb" for unmapped methods. */
export const RESOURCE_VERBS: ReadonlySet<string> = new Set([
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

/** Why a request target was refused. */
export type RequestPathRejection =
  | 'invalid-method'
  | 'not-origin-form'
  | 'control-character'
  | 'non-ascii'
  | 'fragment'
  | 'percent-encoding'
  | 'backslash'
  | 'invalid-character'
  | 'empty-segment'
  | 'dot-segment'
  | 'query-semicolon'
  | 'malformed-query-escape'
  | 'too-many-query-parameters'
  | 'no-resource';

export class RequestPathError extends Error {
  readonly code = 'ERR_REQUEST_PATH';
  constructor(
    readonly reason: RequestPathRejection,
    message: string,
  ) {
    super(message);
    this.name = 'RequestPathError';
  }
}

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

/** RFC 9110 token characters: anything else is not an HTTP method. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * What may appear unencoded in a path segment: RFC 3986 pchar without pct-encoded, that is
 * unreserved (A-Z a-z 0-9 - . _ ~), sub-delims (! $ & ' ( ) * + , ; =), ':' and '@'. kubectl
 * sends names such as system:controller:foo with a raw ':', which is why sub-delims, ':' and
 * '@' stay allowed: Go's net/url, Envoy and kube-apiserver all take them literally.
 */
const PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;
/**
 * PATH_CHAR for each ASCII code, looked up once per character of every request path: a table
 * read instead of a regular expression run per character (the path check is on every request).
 */
const IS_PATH_CHAR: Uint8Array = Uint8Array.from({ length: 0x80 }, (_, code) => (PATH_CHAR.test(String.fromCharCode(code)) ? 1 : 0));

/**
 * Far above anything a client sends (kubectl sends a handful; exec sends one per command
 * argument) and far below the 10000 at which Go's url.ParseQuery gives up; see splitRequestTarget.
 */
export const MAX_QUERY_PARAMETERS = 1000;

const at = (offset: number) => `at offset ${offset}`;
const hex = (code: number) => code.toString(16).toUpperCase().padStart(2, '0');

interface RequestTarget {
  readonly path: string;
  /** The text after the first '?', or null when there is no '?'. */
  readonly rawQuery: string | null;
  /** The path's segments, as kube's splitPath would produce them for an accepted path. */
  readonly segments: readonly string[];
}

/**
 * Checks an origin-form request target and splits it. Every refusal below is a place where a
 * naive split of the text would not be what some component in the chain acts on:
 *
 * - The target must start with '/'. Go's server (url.ParseRequestURI) takes a path only in that
 *   form; an empty, relative, absolute-form (`https://host/...`) or asterisk-form (`*`) target
 *   has no path to authorize.
 * - Only the first '?' matters: it ends the path and everything after it is the query, exactly
 *   as Go's net/url and Envoy split. A later '?' is query data.
 * - Control characters (0x00-0x1F, 0x7F) anywhere: Go's net/url refuses them ("invalid control
 *   character in URL") and they are a log- and header-injection vector; nothing legitimate
 *   sends them.
 * - Non-ASCII characters anywhere: clients percent-encode them; a raw one means the target did
 *   not come from a conforming client and its bytes may be re-encoded differently downstream.
 * - '#' anywhere: fragments are never sent to a server. Go's ParseRequestURI does not treat '#'
 *   specially (it would be part of the path or query), while URL libraries and Envoy strip or
 *   reject it, so the two would disagree about the path.
 * - '%' in the path, in any form (%2F, %2f, %2E, %41, ...): Go's net/url decodes the path and
 *   kube-apiserver splits the decoded URL.Path, so `a%2Fb` is two segments to kube and one to a
 *   naive split, and `%2E%2E` becomes `..`. Rather than decide which escapes are harmless, the
 *   path refuses them all: Kubernetes resource, namespace, group and version names never need
 *   escaping, and client-go leaves ':' (system:... role names) unescaped. (The cost: objects
 *   whose names need escaping, possible only for a few kinds such as RBAC roles with a space in
 *   the name, cannot be reached through the edge.) The query is not affected: it is decoded
 *   exactly as Go decodes it.
 * - '\' in the path: some URL normalisers and servers treat it as '/', so the split would differ.
 * - Any other character outside RFC 3986 pchar (space, '"', '<', '>', '[', ']', '^', '`', '{',
 *   '|', '}'): not valid unencoded in a path; a conforming client encodes it, so it is refused
 *   like '%'.
 * - Empty segments ('//', also a leading '//'): kube's splitPath trims every leading and
 *   trailing '/' but keeps inner empty segments, Envoy's merge_slashes collapses them, and a
 *   naive split keeps them, so three readings of the same path exist. A single trailing '/' is
 *   accepted, because every reader agrees on it (kube trims it; the path keeps it, as kube's
 *   Path does).
 * - '.' and '..' segments: Envoy's normalize_path and URL libraries resolve them, kube's parser
 *   does not (it would see a resource called ".."), so the decision and the routing would be
 *   about different objects.
 * - Segments that merely contain dots (`foo.`, `...`, `.hidden`) are accepted: neither Go, Envoy
 *   nor kube-apiserver treats them specially (kube's only name rule here,
 *   IsValidPathSegmentName, refuses exactly "." and ".."), so they are read the same everywhere.
 *
 * The query decides list versus watch and may name the object (fieldSelector=metadata.name=X),
 * so it too must read the same here and in kube-apiserver. It is decoded exactly as Go decodes
 * it (./request-attributes/list-options.ts), and three shapes whose reading depends on the
 * parser or on the Go version are refused outright; conforming clients (client-go encodes with
 * url.Values.Encode) never produce them:
 * - a raw ';': Go before 1.17 and many other parsers split on it, Go since 1.17 drops the whole
 *   pair that contains it;
 * - a malformed %-escape (`%zz`, a trailing `%`): Go drops the pair, other decoders keep it
 *   literally or fail the whole query;
 * - more than MAX_QUERY_PARAMETERS parameters: since the fix for CVE-2025-61726 (a Go patch
 *   release, present in go1.25.6; GODEBUG urlmaxqueryparams, default 10000) url.ParseQuery
 *   returns no parameters at all for a query over its limit, and URL.Query() hides that error, so
 *   kube-apiserver would see an empty query (a list of everything) where this parser sees
 *   `fieldSelector=metadata.name=X`. Whether the limit applies depends on the Go release and
 *   GODEBUG the apiserver binary was built with, so the edge refuses such queries long before
 *   either reading could differ.
 */
function splitRequestTarget(target: string): RequestTarget {
  if (typeof target !== 'string' || !target.startsWith('/')) {
    const shown = typeof target === 'string' && target !== '' ? 'it does not' : 'it is empty';
    throw new RequestPathError('not-origin-form', `request path must start with '/', but ${shown}; only origin-form targets (/path?query) are accepted`);
  }
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      throw new RequestPathError('control-character', `request target contains control character 0x${hex(code)} ${at(i)}; Go's net/url refuses control characters in a URL`);
    }
    if (code > 0x7e) {
      throw new RequestPathError('non-ascii', `request target contains a non-ASCII character (U+${hex(code).padStart(4, '0')}) ${at(i)}; clients percent-encode such characters`);
    }
    if (code === 0x23) {
      throw new RequestPathError('fragment', `request target contains '#' ${at(i)}; a fragment is never sent to a server, and kube-apiserver would read it as part of the path`);
    }
  }
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? null : target.slice(q + 1);
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '/') continue;
    if (c === '%') {
      throw new RequestPathError(
        'percent-encoding',
        `request path contains '%' ${at(i)}; percent-encoded characters are refused in the path because kube-apiserver decodes them before splitting it (an encoded '/' or '.' would be read differently than it was authorized)`,
      );
    }
    if (c === '\\') {
      throw new RequestPathError('backslash', `request path contains a backslash ${at(i)}; some servers and normalisers treat it as '/'`);
    }
    // Only ASCII gets here: the loop above refused everything else.
    if (IS_PATH_CHAR[path.charCodeAt(i)] !== 1) {
      throw new RequestPathError('invalid-character', `request path contains ${JSON.stringify(c)} ${at(i)}, which must be percent-encoded in a URL path (RFC 3986)`);
    }
  }
  if (rawQuery !== null) checkQuery(rawQuery, path.length + 1);
  if (path === '/') return { path, rawQuery, segments: [] };
  const body = path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  const segments = body.split('/');
  segments.forEach((segment, index) => {
    if (segment === '') {
      throw new RequestPathError(
        'empty-segment',
        `request path has an empty segment ('//') at segment ${index + 1}; kube-apiserver, Envoy and a plain split would each read it differently`,
      );
    }
    if (segment === '.' || segment === '..') {
      throw new RequestPathError(
        'dot-segment',
        `request path segment ${index + 1} is '${segment}'; dot segments are resolved by Envoy and URL normalisers but not by kube-apiserver, so the request could be authorized as one object and served as another`,
      );
    }
  });
  return { path, rawQuery, segments };
}

/** The query checks of splitRequestTarget; `offset` is where the query starts in the target. */
function checkQuery(rawQuery: string, offset: number): void {
  const semicolon = rawQuery.indexOf(';');
  if (semicolon !== -1) {
    throw new RequestPathError(
      'query-semicolon',
      `query contains ';' ${at(offset + semicolon)}; parsers disagree on it (Go drops the parameter, others split on it), so it must be percent-encoded`,
    );
  }
  const escape = /%(?![0-9A-Fa-f]{2})/.exec(rawQuery);
  if (escape) {
    throw new RequestPathError(
      'malformed-query-escape',
      `query contains a '%' that does not start a %XX escape ${at(offset + escape.index)}; parsers disagree on such parameters (Go drops them)`,
    );
  }
  let parameters = 1;
  for (let i = 0; i < rawQuery.length; i++) if (rawQuery[i] === '&') parameters++;
  if (parameters > MAX_QUERY_PARAMETERS) {
    throw new RequestPathError(
      'too-many-query-parameters',
      `query has ${parameters} parameters, more than the ${MAX_QUERY_PARAMETERS} accepted; Go's url.ParseQuery drops every parameter of a query over its own limit, so kube-apiserver could read a different query`,
    );
  }
}

function assertMethod(method: string): void {
  if (typeof method !== 'string' || !METHOD_TOKEN.test(method)) {
    const shown = typeof method === 'string' ? JSON.stringify(method.slice(0, 32)) : typeof method;
    throw new RequestPathError('invalid-method', `HTTP method ${shown} is not a valid method token (RFC 9110)`);
  }
}

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
