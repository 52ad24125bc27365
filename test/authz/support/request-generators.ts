/**
 * fast-check generators and small independent models for the property tests of the request
 * parser (test/authz/request-attributes-properties.test.ts).
 *
 * The models restate kube-apiserver v1.34 (k8s.io/apiserver/pkg/endpoints/request/
 * requestinfo.go, NewRequestInfo and splitPath) from the Go source, not from the parser under
 * test, so that a property compares two readings written independently:
 * - `attributesOf` is the tail of NewRequestInfo once the structure is known (parts, verb,
 *   subresource, name, list/watch, deletecollection); the generators know the structure they
 *   built, so they can say what kube reads without splitting a path;
 * - `kubeRequestInfo` transcribes the whole of NewRequestInfo's path handling for arbitrary
 *   segment sequences, for queries whose effect is known (QuerySpec).
 */
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------------
// Alphabets

/** RFC 3986 pchar without pct-encoded: what a path segment may hold unencoded. */
export const PCHARS: readonly string[] = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"];
const PCHAR_SET: ReadonlySet<string> = new Set(PCHARS);
/** RFC 9110 tchar. */
export const TOKEN_CHARS: readonly string[] = [..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"];

export const isDotSegment = (s: string) => s === '.' || s === '..';

/** A DNS label as translator/input.ts defines a cluster name (restated, not imported). */
export const isDnsLabel = (s: string) => s.length >= 1 && s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);

/** kube's specialVerbs, namespaceSubresources and the method switch of NewRequestInfo. */
export const SPECIAL_VERBS: ReadonlySet<string> = new Set(['watch', 'proxy']);
export const NAMESPACE_SUBRESOURCES: ReadonlySet<string> = new Set(['status', 'finalize']);
export const METHOD_VERBS: ReadonlyMap<string, string> = new Map([
  ['POST', 'create'],
  ['GET', 'get'],
  ['HEAD', 'get'],
  ['PUT', 'update'],
  ['PATCH', 'patch'],
  ['DELETE', 'delete'],
]);
/** Segments that mean something somewhere in kube's parse; a rewritten segment is never one. */
export const PATH_KEYWORDS: ReadonlySet<string> = new Set(['api', 'apis', 'watch', 'proxy', 'namespaces', 'status', 'finalize']);

/** A path segment as a conforming client sends it: pchars only, never a dot segment. */
export const pcharSegment = (maxLength = 8): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...PCHARS), minLength: 1, maxLength }).filter((s) => !isDotSegment(s));

/** Mostly realistic values, sometimes any pchar segment. */
const segmentValue = (common: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...common) }, { weight: 1, arbitrary: pcharSegment() });

export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'CONNECT', 'TRACE', 'PROPFIND', 'get', 'Get', 'delete', 'Post') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 8 }) },
);

// ---------------------------------------------------------------------------------------------
// Queries whose effect on list/watch and on the name is known in advance. Every parameter here
// decodes (ListOptions never fails), so kube's decision is: the first `watch` value, true unless
// it is "0" or EqualFold "false"; the name from the first `fieldSelector`'s metadata.name term.

export interface QuerySpec {
  /** The text after '?', or null when the target has no '?'. */
  readonly raw: string | null;
  /** What kube decides for a GET without a name: watch (true) or list. */
  readonly watch: boolean;
  /** The name kube takes from `fieldSelector=metadata.name=X` on such a GET; '' for none. */
  readonly selectorName: string;
}

interface QueryParam {
  readonly raw: string;
  readonly watch?: boolean;
  readonly selectorName?: string;
}

const WATCH_PARAMS: ReadonlyArray<readonly [string, boolean]> = [
  ['watch=true', true],
  ['watch=1', true],
  ['watch=false', false],
  ['watch=0', false],
  ['watch=FALSE', false],
  ['watch=fAlSe', false],
  ['watch', true],
  ['watch=', true],
  ['watch=yes', true],
  ['wat%63h=tru%65', true],
  ['watch=%30', false],
  ['watch=f%61lse', false],
  ['watch=+false', true], // '+' is a space: " false" is not "false"
  ['%77atch=0', false],
];

const selectorNameArb = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,8}$/);

const queryParamArb: fc.Arbitrary<QueryParam> = fc.oneof(
  fc.constantFrom(...WATCH_PARAMS).map(([raw, watch]): QueryParam => ({ raw, watch })),
  fc
    .tuple(selectorNameArb, fc.constantFrom('metadata.name%3D', 'metadata.name=', 'metadata.name%3D%3D', 'metadata.namespace%3Dx%2Cmetadata.name%3D'))
    .map(([name, lead]): QueryParam => ({ raw: `fieldSelector=${lead}${name}`, selectorName: name })),
  fc
    .constantFrom(
      'limit=500',
      'resourceVersion=0',
      'timeoutSeconds=30',
      'labelSelector=app%3Dweb',
      'allowWatchBookmarks=true',
      'timeout=32s',
      'command=sh',
      'x=%2F..%2Fsecrets',
      'x=a\\b',
      'Watch=true', // keys are case-sensitive: not the watch parameter
      'fieldselector=metadata.name%3Dz', // nor the field selector
      '',
    )
    .map((raw): QueryParam => ({ raw })),
);

export const querySpecArb: fc.Arbitrary<QuerySpec> = fc
  .tuple(fc.array(queryParamArb, { maxLength: 5 }), fc.boolean())
  .map(([params, forceQuestionMark]) => {
    const watchParam = params.find((p) => p.watch !== undefined);
    const selectorParam = params.find((p) => p.selectorName !== undefined);
    return {
      raw: params.length > 0 || forceQuestionMark ? params.map((p) => p.raw).join('&') : null,
      watch: watchParam?.watch ?? false,
      selectorName: selectorParam?.selectorName ?? '',
    };
  });

export const NO_QUERY: QuerySpec = { raw: null, watch: false, selectorName: '' };

// ---------------------------------------------------------------------------------------------
// Valid API requests, built from their structure

export type Role =
  | 'prefix'
  | 'group'
  | 'version'
  | 'legacy-verb'
  | 'namespaces-keyword'
  | 'namespace'
  | 'namespace-object-name'
  | 'namespace-subresource'
  | 'resource'
  | 'name'
  | 'subresource'
  | 'extra';

export interface Segment {
  readonly text: string;
  readonly role: Role;
}

export interface ApiRequestSpec {
  readonly method: string;
  readonly prefix: 'api' | 'apis';
  /** '' for /api. */
  readonly group: string;
  readonly version: string;
  /** The deprecated /watch/ or /proxy/ segment after the version. */
  readonly legacyVerb: '' | 'watch' | 'proxy';
  /**
   * cluster: /{resource}/...; namespaced: /namespaces/{ns}/{resource}/...; namespace-object:
   * /namespaces[/{ns}[/status|/finalize/...]] (the namespace itself).
   */
  readonly shape: 'cluster' | 'namespaced' | 'namespace-object';
  readonly namespace: string;
  /** 'namespaces' for the namespace-object shape. */
  readonly resource: string;
  /** From the path; '' for a collection. For namespace-object, the namespace. */
  readonly name: string;
  /** '' unless there is a name. For namespace-object, status or finalize. */
  readonly subresource: string;
  /** Segments after the subresource, which kube keeps in parts but does not interpret. */
  readonly extra: readonly string[];
  readonly trailingSlash: boolean;
  readonly query: QuerySpec;
}

const GROUPS = ['apps', 'batch', 'rbac.authorization.k8s.io', 'example.com', 'metrics.k8s.io', 'watch', 'proxy', 'namespaces', 'api', 'v1'];
const VERSIONS = ['v1', 'v1beta1', 'v2alpha3', 'v1.', 'namespaces', 'apis'];
const NAMESPACES = ['default', 'kube-system', 'team-a', 'status', 'finalize', 'watch', 'proxy', 'namespaces', 'api', 'ns.'];
// Not 'watch', 'proxy' (the legacy verb position) nor 'namespaces' (the namespace position).
const CLUSTER_RESOURCES = ['nodes', 'pods', 'clusterroles', 'persistentvolumes', 'widgets', 'status', 'finalize', 'api', 'pods.'];
// Not 'status' or 'finalize', which after /namespaces/{ns} address the namespace itself.
const NAMESPACED_RESOURCES = ['pods', 'services', 'configmaps', 'secrets', 'deployments', 'namespaces', 'watch', 'proxy', 'apis', 'pods.'];
const NAMES = ['foo', 'web-1', 'a.b', 'foo.', '...', '.hidden', 'system:admin', 'https:web:443', 'watch', 'proxy', 'namespaces', 'status', "it's", 'a;b', '*'];
const SUBRESOURCES = ['status', 'scale', 'exec', 'attach', 'portforward', 'proxy', 'log', 'eviction', 'finalize', 'namespaces', 'watch'];
const EXTRA = ['a', 'b.txt', 'metrics', 'x:y', 'namespaces', 'watch', 'status'];

export const apiRequestSpecArb: fc.Arbitrary<ApiRequestSpec> = fc
  .record({
    method: methodArb,
    prefix: fc.constantFrom('api' as const, 'apis' as const),
    group: segmentValue(GROUPS),
    version: segmentValue(VERSIONS),
    legacyVerb: fc.constantFrom('' as const, '' as const, '' as const, 'watch' as const, 'proxy' as const),
    shape: fc.constantFrom('cluster' as const, 'namespaced' as const, 'namespaced' as const, 'namespace-object' as const),
    namespace: segmentValue(NAMESPACES),
    clusterResource: segmentValue(CLUSTER_RESOURCES).filter((r) => r !== 'watch' && r !== 'proxy' && r !== 'namespaces'),
    namespacedResource: segmentValue(NAMESPACED_RESOURCES).filter((r) => !NAMESPACE_SUBRESOURCES.has(r)),
    hasName: fc.boolean(),
    nameIsNamespace: fc.boolean(),
    name: segmentValue(NAMES),
    hasSubresource: fc.boolean(),
    subresource: segmentValue(SUBRESOURCES),
    namespaceSubresource: fc.constantFrom('status', 'finalize'),
    extra: fc.array(segmentValue(EXTRA), { maxLength: 3 }),
    trailingSlash: fc.boolean(),
    query: querySpecArb,
  })
  .map((r): ApiRequestSpec => {
    const common = { method: r.method, prefix: r.prefix, group: r.prefix === 'apis' ? r.group : '', version: r.version, legacyVerb: r.legacyVerb, shape: r.shape, trailingSlash: r.trailingSlash, query: r.query };
    if (r.shape === 'namespace-object') {
      const namespace = r.hasName ? r.namespace : '';
      const subresource = namespace !== '' && r.hasSubresource ? r.namespaceSubresource : '';
      return { ...common, namespace, resource: 'namespaces', name: namespace, subresource, extra: subresource ? r.extra : [] };
    }
    const namespace = r.shape === 'namespaced' ? r.namespace : '';
    const resource = r.shape === 'namespaced' ? r.namespacedResource : r.clusterResource;
    // name === namespace under resource 'namespaces' is the one shape formatRequestPath shortens
    const name = r.hasName ? (r.shape === 'namespaced' && r.nameIsNamespace ? namespace : r.name) : '';
    const subresource = name !== '' && r.hasSubresource ? r.subresource : '';
    return { ...common, namespace, resource, name, subresource, extra: subresource ? r.extra : [] };
  });

export function segmentsOf(spec: ApiRequestSpec): Segment[] {
  const segments: Segment[] = [{ text: spec.prefix, role: 'prefix' }];
  if (spec.prefix === 'apis') segments.push({ text: spec.group, role: 'group' });
  segments.push({ text: spec.version, role: 'version' });
  if (spec.legacyVerb) segments.push({ text: spec.legacyVerb, role: 'legacy-verb' });
  if (spec.shape === 'namespace-object') {
    segments.push({ text: 'namespaces', role: 'namespaces-keyword' });
    if (spec.namespace) segments.push({ text: spec.namespace, role: 'namespace-object-name' });
    if (spec.subresource) segments.push({ text: spec.subresource, role: 'namespace-subresource' });
  } else {
    if (spec.shape === 'namespaced') segments.push({ text: 'namespaces', role: 'namespaces-keyword' }, { text: spec.namespace, role: 'namespace' });
    segments.push({ text: spec.resource, role: 'resource' });
    if (spec.name) segments.push({ text: spec.name, role: 'name' });
    if (spec.subresource) segments.push({ text: spec.subresource, role: 'subresource' });
  }
  for (const text of spec.extra) segments.push({ text, role: 'extra' });
  return segments;
}

export const joinPath = (texts: readonly string[], trailingSlash: boolean) => `/${texts.join('/')}${trailingSlash && texts.length > 0 ? '/' : ''}`;
export const withQuery = (path: string, query: QuerySpec) => (query.raw === null ? path : `${path}?${query.raw}`);

export const pathOf = (spec: ApiRequestSpec) =>
  joinPath(
    segmentsOf(spec).map((s) => s.text),
    spec.trailingSlash,
  );
export const targetOf = (spec: ApiRequestSpec) => withQuery(pathOf(spec), spec.query);

/**
 * The path formatRequestPath promises for the spec: no trailing slash, and
 * /namespaces/N/namespaces/N[/status|/finalize][/...] shortened to /namespaces/N[/...], which
 * kube reads identically.
 */
export function canonicalPathOf(spec: ApiRequestSpec): string {
  let segments = segmentsOf(spec);
  const ambiguous =
    spec.shape === 'namespaced' && spec.resource === 'namespaces' && spec.name === spec.namespace && (spec.subresource === '' || NAMESPACE_SUBRESOURCES.has(spec.subresource));
  if (ambiguous) segments = segments.filter((s) => s.role !== 'namespaces-keyword' && s.role !== 'namespace');
  return joinPath(
    segments.map((s) => s.text),
    false,
  );
}

/** The attributes as plain data (parts as an array), for toEqual. */
export interface ExpectedAttributes {
  readonly isResourceRequest: boolean;
  readonly path: string;
  readonly verb: string;
  readonly apiPrefix: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  readonly parts: readonly string[];
  readonly verbViaPathPrefix: boolean;
}

export interface Structure {
  readonly method: string;
  readonly path: string;
  readonly prefix: string;
  readonly group: string;
  readonly version: string;
  readonly legacyVerb: string;
  readonly namespace: string;
  /** kube's Parts: from the resource on. */
  readonly parts: readonly string[];
  readonly query: QuerySpec;
}

/**
 * NewRequestInfo from the moment the parts are known: subresource unless the verb is proxy,
 * name, a get without a name becomes list or watch (and may take the selector's name), a delete
 * without a name becomes deletecollection.
 */
export function attributesOf(st: Structure): ExpectedAttributes {
  let verb = st.legacyVerb || (METHOD_VERBS.get(st.method) ?? '');
  const subresource = st.parts.length >= 3 && verb !== 'proxy' ? st.parts[2]! : '';
  let name = st.parts[1] ?? '';
  if (name === '' && verb === 'get') {
    verb = st.query.watch ? 'watch' : 'list';
    name = st.query.selectorName;
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  return {
    isResourceRequest: true,
    path: st.path,
    verb,
    apiPrefix: st.prefix,
    apiGroup: st.group,
    apiVersion: st.version,
    namespace: st.namespace,
    resource: st.parts[0] ?? '',
    subresource,
    name,
    parts: [...st.parts],
    verbViaPathPrefix: st.legacyVerb !== '',
  };
}

export function structureOf(spec: ApiRequestSpec, path = pathOf(spec)): Structure {
  const tail = [...(spec.subresource ? [spec.subresource] : []), ...spec.extra];
  const parts = spec.shape === 'namespace-object' ? ['namespaces', ...(spec.namespace ? [spec.namespace] : []), ...tail] : [spec.resource, ...(spec.name ? [spec.name] : []), ...tail];
  return { method: spec.method, path, prefix: spec.prefix, group: spec.group, version: spec.version, legacyVerb: spec.legacyVerb, namespace: spec.namespace, parts, query: spec.query };
}

/** What the generator meant: the attributes kube derives for targetOf(spec). */
export const intendedAttributes = (spec: ApiRequestSpec): ExpectedAttributes => attributesOf(structureOf(spec));

export function nonResourceAttributes(method: string, path: string): ExpectedAttributes {
  return {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
    verbViaPathPrefix: false,
  };
}

// ---------------------------------------------------------------------------------------------
// kube's NewRequestInfo, transcribed for arbitrary segment sequences

/**
 * requestinfo.go NewRequestInfo (v1.34) on a path kube would receive unchanged (no %-escapes),
 * with a query whose effect is given. Returns 'error' where kube returns an error (a special
 * verb with nothing after it). apiPrefix is reported as kube sets it, also for non-resource
 * requests (/apis/{group}/{version}); the parser reports '' there, a documented difference.
 */
export function kubeRequestInfo(method: string, path: string, query: QuerySpec): ExpectedAttributes | 'error' {
  // splitPath: strings.Trim(path, "/") then strings.Split on "/"
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  let current = trimmed === '' ? [] : trimmed.split('/');
  const info = { ...nonResourceAttributes(method, path), parts: [] as string[] };
  if (current.length < 3) return info;
  if (current[0] !== 'api' && current[0] !== 'apis') return info;
  info.apiPrefix = current[0]!;
  current = current.slice(1);
  if (info.apiPrefix !== 'api') {
    if (current.length < 3) return info;
    info.apiGroup = current[0]!;
    current = current.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = current[0]!;
  current = current.slice(1);
  if (SPECIAL_VERBS.has(current[0]!)) {
    if (current.length < 2) return 'error';
    info.verb = current[0]!;
    current = current.slice(1);
    info.verbViaPathPrefix = true;
  } else {
    info.verb = METHOD_VERBS.get(method) ?? '';
  }
  if (current[0] === 'namespaces') {
    if (current.length > 1) {
      info.namespace = current[1]!;
      if (current.length > 2 && !NAMESPACE_SUBRESOURCES.has(current[2]!)) current = current.slice(2);
    }
  }
  info.parts = current;
  if (current.length >= 3 && info.verb !== 'proxy') info.subresource = current[2]!;
  if (current.length >= 2) info.name = current[1]!;
  if (current.length >= 1) info.resource = current[0]!;
  if (info.name === '' && info.verb === 'get') {
    info.verb = query.watch ? 'watch' : 'list';
    info.name = query.selectorName;
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

/** Segment sequences dense in the words kube's parse reacts to. */
export const keywordSegmentsArb: fc.Arbitrary<string[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('api', 'apis', 'v1', 'g.io', 'watch', 'proxy', 'namespaces', 'ns', 'status', 'finalize', 'pods', 'p', 'exec') },
    { weight: 1, arbitrary: pcharSegment(4) },
  ),
  { maxLength: 8 },
);

// ---------------------------------------------------------------------------------------------
// Refusals, restated from the documented rules of splitRequestTarget

export type Justification =
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

/**
 * Every documented reason that applies to (method, target), found without the parser. A
 * refusal must name one of them; an accepted request must have none.
 */
export function refusalGrounds(method: string, target: string): Set<Justification> {
  const grounds = new Set<Justification>();
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) grounds.add('invalid-method');
  if (!target.startsWith('/')) grounds.add('not-origin-form');
  if (/[\u0000-\u001f\u007f]/.test(target)) grounds.add('control-character');
  if (/[^\u0000-\u007f]/.test(target)) grounds.add('non-ascii');
  if (target.includes('#')) grounds.add('fragment');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? null : target.slice(q + 1);
  if (path.includes('%')) grounds.add('percent-encoding');
  if (path.includes('\\')) grounds.add('backslash');
  if ([...path].some((c) => c >= ' ' && c <= '~' && c !== '/' && c !== '%' && c !== '\\' && !PCHAR_SET.has(c))) grounds.add('invalid-character');
  if (query !== null) {
    if (query.includes(';')) grounds.add('query-semicolon');
    if (/%(?![0-9A-Fa-f]{2})/.test(query)) grounds.add('malformed-query-escape');
    if (query.split('&').length > 1000) grounds.add('too-many-query-parameters');
  }
  if (path.startsWith('/') && path !== '/') {
    const body = path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
    const segments = body.split('/');
    if (segments.includes('')) grounds.add('empty-segment');
    if (segments.some(isDotSegment)) grounds.add('dot-segment');
    const special = (s: string | undefined) => s !== undefined && SPECIAL_VERBS.has(s);
    if ((segments[0] === 'api' && segments.length === 3 && special(segments[2])) || (segments[0] === 'apis' && segments.length === 4 && special(segments[3]))) {
      grounds.add('no-resource');
    }
  }
  return grounds;
}

// ---------------------------------------------------------------------------------------------
// Go's field selector value unescaping, byte for byte (for the selector-name properties)

/** The length of the UTF-8 sequence at `i` as Go's utf8.DecodeRuneInString accepts it; 0 if invalid. */
function goRuneLength(bytes: string, i: number): number {
  const b = (k: number) => (i + k < bytes.length ? bytes.charCodeAt(i + k) : -1);
  const cont = (k: number, lo = 0x80, hi = 0xbf) => b(k) >= lo && b(k) <= hi;
  const b0 = b(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * apimachinery fields.UnescapeValue on a byte string (one char per byte): values without
 * `\`, `,` or `=` come back untouched; otherwise the value is walked with `for _, c := range s`
 * and rebuilt with WriteRune, so every byte that is not part of valid UTF-8 becomes U+FFFD
 * (EF BF BD). null where Go returns an error. With `replaceInvalid` false, invalid bytes are kept
 * as they are (what a byte-wise reimplementation would do).
 */
export function goUnescapeFieldValue(bytes: string, replaceInvalid = true): string | null {
  if (!/[\\,=]/.test(bytes)) return bytes;
  let out = '';
  let inSlash = false;
  for (let i = 0; i < bytes.length; ) {
    const n = goRuneLength(bytes, i);
    const rune = n === 0 ? (replaceInvalid ? '\xef\xbf\xbd' : bytes[i]!) : bytes.slice(i, i + n);
    i += n === 0 ? 1 : n;
    if (inSlash) {
      if (rune !== '\\' && rune !== ',' && rune !== '=') return null;
      out += rune;
      inSlash = false;
    } else if (rune === '\\') inSlash = true;
    else if (rune === ',' || rune === '=') return null;
    else out += rune;
  }
  return inSlash ? null : out;
}

/**
 * The name requestinfo.go takes from a field selector (byte string) on a list: fields.ParseSelector
 * (splitTerms on unescaped commas, rune by rune; sort.Strings; splitTerm at the first `!=`, `==`
 * or `=`; UnescapeValue) then RequiresExactMatch("metadata.name") and
 * path.IsValidPathSegmentName. '' when the selector does not parse or names nothing.
 */
export function goSelectorName(selector: string, replaceInvalid = true): string {
  const terms: string[] = [];
  if (selector !== '') {
    let start = 0;
    let inSlash = false;
    for (let i = 0; i < selector.length; ) {
      const n = goRuneLength(selector, i) || 1;
      const c = selector.slice(i, i + n);
      if (inSlash) inSlash = false;
      else if (c === '\\') inSlash = true;
      else if (c === ',') {
        terms.push(selector.slice(start, i));
        start = i + 1;
      }
      i += n;
    }
    terms.push(selector.slice(start));
  }
  terms.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  let name: string | null = null;
  for (const term of terms) {
    if (term === '') continue;
    const at = term.search(/!=|=/);
    if (at === -1) return '';
    const op = term.startsWith('!=', at) ? '!=' : term.startsWith('==', at) ? '==' : '=';
    const value = goUnescapeFieldValue(term.slice(at + op.length), replaceInvalid);
    if (value === null) return '';
    if (name === null && op !== '!=' && term.slice(0, at) === 'metadata.name') name = value;
  }
  if (name === null || isDotSegment(name) || name.includes('/') || name.includes('%')) return '';
  return name;
}

/** Whether a byte string is valid UTF-8 (as Go's utf8.ValidString). */
export function isValidUtf8(bytes: string): boolean {
  for (let i = 0; i < bytes.length; ) {
    const n = goRuneLength(bytes, i);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

export const bytesToText = (bytes: string) => Buffer.from(bytes, 'latin1').toString('utf8');
export const percentEncodeBytes = (bytes: string) => [...bytes].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
