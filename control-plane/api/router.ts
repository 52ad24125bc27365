/**
 * Matches a method and path against the API's routes. Paths are split into segments before
 * percent-decoding, so a user name holding an encoded `/` stays one parameter and never
 * reaches another route.
 */
import type { Route } from './api-route';
import { badRequest } from './api-errors';

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  /** The path exists but not with this method. */
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

interface CompiledRoute {
  readonly route: Route;
  /** Literal segments as strings, parameters as `{name}` objects. */
  readonly segments: readonly (string | { readonly param: string })[];
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  constructor(private readonly prefix: string) {}

  add(routes: readonly Route[]): this {
    for (const route of routes) {
      const segments = split(route.path).map((s) => {
        const m = /^\{([A-Za-z]+)\}$/.exec(s);
        return m ? { param: m[1]! } : s;
      });
      this.routes.push({ route, segments });
    }
    return this;
  }

  match(method: string, pathname: string): RouteMatch {
    if (pathname !== this.prefix && !pathname.startsWith(this.prefix + '/')) return { kind: 'not-found' };
    const parts = split(pathname.slice(this.prefix.length));
    const allowed: string[] = [];
    for (const { route, segments } of this.routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(segments: CompiledRoute['segments'], parts: readonly string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const part = parts[i]!;
    if (typeof seg === 'string') {
      if (seg !== part) return null;
      continue;
    }
    try {
      params[seg.param] = decodeURIComponent(part);
    } catch {
      throw badRequest(seg.param, `path segment "${part}" is not valid percent-encoding`);
    }
  }
  return params;
}
