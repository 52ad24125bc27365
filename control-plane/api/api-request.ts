/**
 * What the admin API adds to Fastify's types. Every request carries its caller, resolved from
 * the client certificate by the server's first hook before anything else runs, and a route
 * says in its config whether only administrators may call it. Declared once here so the
 * resource files read `request.caller` and write `config: { admin: true }` with types, not casts.
 */
import type * as https from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Caller } from './caller-identity';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set before routing goes any further, so every handler has it. */
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** Only members of kubegate:admins may call the route. @default false */
    admin?: boolean;
  }
}

/** The API's Fastify instance: HTTPS only. */
export type ApiInstance = FastifyInstance<https.Server>;

/** The path of a request's URL as sent (still percent-encoded), without the query. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
