/**
 * The request target check that comes before any Kubernetes reading of a request: is it an
 * origin-form target whose path and query every component in the chain (Envoy, a URL
 * normaliser, kube-apiserver) reads the same way? A target they could read in different ways is
 * refused with RequestPathError rather than interpreted, so the request authorized here is the
 * request the apiserver serves. Both the attribute parser and the /clusters/<name> prefix split
 * start here, which is why it is a file of its own.
 */

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

export interface RequestTarget {
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
 * it (./list-options.ts), and three shapes whose reading depends on the
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
export function splitRequestTarget(target: string): RequestTarget {
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

export function assertMethod(method: string): void {
  if (typeof method !== 'string' || !METHOD_TOKEN.test(method)) {
    const shown = typeof method === 'string' ? JSON.stringify(method.slice(0, 32)) : typeof method;
    throw new RequestPathError('invalid-method', `HTTP method ${shown} is not a valid method token (RFC 9110)`);
  }
}
