/**
 * The admin API as a Fastify application: what happens to every request before and after its
 * route's handler. In order: the caller is resolved from the client certificate (401), the
 * path is matched (404, 405), administrators-only routes refuse everyone else (403), and only
 * then is the body read (415, 413) and checked against the route's schema (400). Fastify's own
 * logger stays off: the API logs through the control plane's Logger like every other part.
 */
import Fastify, { type FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { ApiDeps } from './api-deps';
import { forbidden } from './api-errors';
import { pathOf, type ApiInstance } from './api-request';
import { CallerIdentity, type Caller } from './caller-identity';
import { ADMINS_GROUP } from './admins';
import { errorReply } from './error-reply';
import { RESPONSE_HEADERS } from './response-headers';
import { acceptJsonBodies } from './json-body';
import { malformedPath, unmatchedEndpoint } from './unmatched-endpoint';
import { AJV_OPTIONS, validationError } from './validation-errors';
import { userRoutes } from './users-routes';
import { groupRoutes } from './groups-routes';
import { revocationRoutes } from './revocation-routes';
import { policyRoutes } from './policies-routes';
import { kubeconfigRoutes } from './kubeconfigs-routes';
import { breakGlassRoutes } from './break-glass-routes';
import { sessionRoutes } from './sessions-routes';
import { clusterRoutes } from './clusters-routes';
import { clusterRegistrationRoutes } from './cluster-registration-routes';
import { installLinkRoutes } from './install-link-routes';
import { whoamiRoutes } from './whoami-routes';
import { auditRoutes } from './audit-routes';

export const API_PREFIX = '/api/v1';

/** What node:https gave the API before Fastify, which turns these off by default. */
const REQUEST_TIMEOUT_MS = 300_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

const ALL_ROUTES: readonly ((app: ApiInstance, deps: ApiDeps) => void)[] = [
  whoamiRoutes,
  userRoutes,
  revocationRoutes,
  groupRoutes,
  policyRoutes,
  kubeconfigRoutes,
  breakGlassRoutes,
  sessionRoutes,
  clusterRoutes,
  clusterRegistrationRoutes,
  installLinkRoutes,
  auditRoutes,
];

export interface ApiAppOptions {
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly userCaPem: string;
  readonly maxBodyBytes: number;
}

export function buildApiApp(deps: ApiDeps, options: ApiAppOptions): ApiInstance {
  const identity = new CallerIdentity();
  const sendError = errorReply(deps.logger, options.maxBodyBytes);
  const authenticate = (request: FastifyRequest) => {
    request.caller = identity.resolve(request.socket as TLSSocket, deps.access());
  };

  const app: ApiInstance = Fastify({
    https: {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: options.userCaPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    logger: false,
    bodyLimit: options.maxBodyBytes,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    forceCloseConnections: true,
    return503OnClosing: false,
    // HEAD and OPTIONS are not API methods: 405 like any other.
    exposeHeadRoutes: false,
    routerOptions: {
      // Paths match segment by segment as they always have: `/users/` is `/users`.
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      // Path parameters are names of up to 128 characters, percent-encoded; the URL's own
      // limit (Node's header size) is the real bound.
      maxParamLength: 16 * 1024,
    },
    ajv: AJV_OPTIONS,
    schemaErrorFormatter: (errors, part) => validationError(errors, part),
    // A path that does not percent-decode never reaches the hooks; refuse it in the same order.
    frameworkErrors: (error, request, reply) => {
      try {
        authenticate(request);
        throw error.code === 'FST_ERR_BAD_URL' ? malformedPath(app, request.method, request.url) : error;
      } catch (err) {
        sendError(err, request, reply);
      }
    },
  });

  // Declared up front (Fastify keeps request objects one shape); null only until onRequest.
  app.decorateRequest('caller', null as unknown as Caller);
  app.setReplySerializer((payload) => JSON.stringify(payload) + '\n');
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  acceptJsonBodies(app);

  app.addHook('onRequest', async (request) => {
    authenticate(request);
    if (request.is404) throw unmatchedEndpoint(app, request.method, request.url);
    if (request.routeOptions.config.admin && !request.caller.admin) {
      throw forbidden(`only members of ${ADMINS_GROUP} may ${request.method} ${pathOf(request.url)}`);
    }
  });
  app.setNotFoundHandler(async (request) => {
    throw unmatchedEndpoint(app, request.method, request.url);
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.headers(RESPONSE_HEADERS);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400) return;
    deps.logger.debug('admin API request', { method: request.method, path: pathOf(request.url), user: request.caller.user, status: reply.statusCode });
  });

  void app.register(
    async (api: ApiInstance) => {
      for (const routes of ALL_ROUTES) routes(api, deps);
    },
    { prefix: API_PREFIX },
  );
  return app;
}
