/**
 * Requests no route takes, refused in JSON like everything else. Fastify answers every miss
 * with 404; the API tells a path that exists under other methods (405, naming them in `allow`)
 * from one that does not, and says which path parameter held percent-encoding that does not
 * decode (400 naming it) rather than only that the URL was bad.
 */
import { ApiError, badRequest } from './api-errors';
import { pathOf, type ApiInstance } from './api-request';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

/** 404, or 405 when the path exists with other methods. */
export function unmatchedEndpoint(app: ApiInstance, method: string, url: string): ApiError {
  return unmatched(app, method, pathOf(url), pathOf(url));
}

/** `path` is what the caller sent, `matchAs` what the router can look up. */
function unmatched(app: ApiInstance, method: string, path: string, matchAs: string): ApiError {
  const allowed = METHODS.filter((m) => app.findRoute({ method: m, url: matchAs }) !== null);
  if (allowed.length === 0) return new ApiError(404, 'ERR_NOT_FOUND', `no such endpoint: ${method} ${path}`);
  return new ApiError(405, 'ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, {
    headers: { allow: allowed.join(', ') },
  });
}

/**
 * A path with a segment that does not percent-decode: 400 naming the parameter it stands in,
 * found by matching the path with a placeholder there; 404 or 405 when no route has a
 * parameter in that place.
 */
export function malformedPath(app: ApiInstance, method: string, url: string): ApiError {
  const segments = pathOf(url).split('/');
  const bad = segments.findIndex((s) => !decodes(s));
  if (bad === -1) return unmatchedEndpoint(app, method, url);
  const placeholder = 'kubegate-undecodable-segment';
  const probe = segments.map((s, i) => (i === bad ? placeholder : decodes(s) ? s : 'x')).join('/');
  for (const m of METHODS) {
    const found = app.findRoute({ method: m, url: probe });
    const param = found && Object.entries(found.params as Record<string, string>).find(([, value]) => value === placeholder)?.[0];
    if (param) return badRequest(param, `path segment "${segments[bad]}" is not valid percent-encoding`);
  }
  return unmatched(app, method, pathOf(url), probe);
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}
