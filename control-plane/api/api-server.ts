/**
 * The control plane's admin API: HTTPS with client certificates from kubegate's user CA, JSON
 * in and out, under /api/v1. The CLI uses it today and the web console will; both see the same
 * rules: who the caller is comes from their certificate and kubegate's records, administrators
 * are members of kubegate:admins, and a mutation is answered only once it is in force.
 */
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store';
import type { AccessState } from '../access-state/access-state';
import type { Logger } from '../log/logger';
import type { ApiDeps, ApiRequest, KubeconfigIssuing, Route } from './api-route';
import { ApiError, forbidden, toApiError } from './api-errors';
import { CallerIdentity } from './caller-identity';
import { Router } from './router';
import { ADMINS_GROUP } from './admins';
import { userRoutes } from './users-routes';
import { groupRoutes } from './groups-routes';
import { revocationRoutes } from './revocation-routes';
import { policyRoutes } from './policies-routes';
import { kubeconfigRoutes } from './kubeconfigs-routes';
import { breakGlassRoutes } from './break-glass-routes';
import { sessionRoutes } from './sessions-routes';
import { clusterRoutes } from './clusters-routes';
import { whoamiRoutes } from './whoami-routes';
import { auditRoutes } from './audit-routes';
import type { AuditLog } from '../audit/audit-log';

export { ADMINS_GROUP };
export type { KubeconfigIssuing };

export const API_PREFIX = '/api/v1';

/** Large enough for a big policy repository, small enough that a body cannot exhaust memory. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiServerProps {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** The API's serving certificate and key (clients verify it against the CA in their kubeconfig). */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  /** Client certificates must chain to this CA: the same user CA the edge trusts. */
  readonly userCaPem: string;
  readonly store: Store;
  /** The control plane's current in-memory view; callers are resolved against it. */
  readonly access: () => AccessState;
  /** Reloads the view (and the edge's configuration) from the store; awaited after every mutation. */
  refresh(): Promise<void>;
  readonly issueKubeconfig: KubeconfigIssuing;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  /** Ids of break-glass requests and console sessions. @default crypto.randomUUID */
  readonly newId?: () => string;
  readonly logger: Logger;
  /** Larger request bodies are refused with 413. @default DEFAULT_MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** What GET /audit and /audit/verify read; without it they answer 503. */
  readonly audit?: AuditLog;
}

export interface RunningApiServer {
  readonly port: number;
  /** https://<host>:<port> */
  readonly url: string;
  close(): Promise<void>;
}

const ALL_ROUTES: readonly Route[] = [
  ...whoamiRoutes,
  ...userRoutes,
  ...revocationRoutes,
  ...groupRoutes,
  ...policyRoutes,
  ...kubeconfigRoutes,
  ...breakGlassRoutes,
  ...sessionRoutes,
  ...clusterRoutes,
  ...auditRoutes,
];

export async function startApiServer(props: ApiServerProps): Promise<RunningApiServer> {
  const deps: ApiDeps = {
    store: props.store,
    access: props.access,
    refresh: () => props.refresh(),
    issueKubeconfig: props.issueKubeconfig,
    clock: props.clock ?? Date.now,
    newId: props.newId ?? randomUUID,
    logger: props.logger,
    audit: props.audit,
  };
  const maxBodyBytes = props.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const router = new Router(API_PREFIX).add(ALL_ROUTES);
  const identity = new CallerIdentity();

  const server = https.createServer(
    {
      cert: props.tls.certPem,
      key: props.tls.keyPem,
      ca: props.userCaPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      void handle(req, res).catch((err: Error) => {
        props.logger.error('admin API request failed unexpectedly', { error: err, stack: err.stack });
        if (!res.headersSent) send(res, 500, new ApiError(500, 'ERR_INTERNAL', 'internal error').body());
        else res.destroy();
      });
    },
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'https://kubegate.invalid');
    let caller: string | undefined;
    try {
      const who = identity.resolve(req.socket as TLSSocket, deps.access());
      caller = who.user;
      const match = router.match(method, url.pathname);
      if (match.kind === 'not-found') throw new ApiError(404, 'ERR_NOT_FOUND', `no such endpoint: ${method} ${url.pathname}`);
      if (match.kind === 'method-not-allowed') {
        throw new ApiError(405, 'ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}; allowed: ${match.allowed.join(', ')}`, {
          headers: { allow: match.allowed.join(', ') },
        });
      }
      if (match.route.admin && !who.admin) {
        throw forbidden(`only members of ${ADMINS_GROUP} may ${method} ${url.pathname}`);
      }
      const body = await readJsonBody(req, maxBodyBytes);
      const request: ApiRequest = { method, params: match.params, query: url.searchParams, body, caller: who };
      const response = await match.route.handler(request, deps);
      send(res, response.status ?? 200, response.body);
      deps.logger.debug('admin API request', { method, path: url.pathname, user: caller, status: response.status ?? 200 });
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.status >= 500) {
        deps.logger.error('admin API request failed', { method, path: url.pathname, user: caller, error: err as Error, stack: (err as Error)?.stack });
      } else {
        deps.logger.debug('admin API request refused', { method, path: url.pathname, user: caller, status: apiError.status, code: apiError.code });
      }
      // An unread body would otherwise keep the connection busy; close it after answering.
      if (!req.complete) res.setHeader('connection', 'close');
      send(res, apiError.status, apiError.body(), apiError.extra.headers);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(props.port ?? 0, props.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = props.host ?? '127.0.0.1';
  props.logger.info('admin API serving', { url: `https://${formatHost(host)}:${port}${API_PREFIX}` });
  return {
    port,
    url: `https://${formatHost(host)}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const formatHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/**
 * The request's JSON body, or undefined when there is none. Bodies must say they are JSON: a
 * browser holding a client certificate can be made to send a form or text/plain to any origin,
 * but not application/json without a CORS preflight this server never grants.
 */
async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ApiError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'request bodies must be JSON with content-type: application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new ApiError(400, 'ERR_BAD_REQUEST', `the request body is not valid JSON: ${(err as Error).message}`, { field: '' });
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'ERR_BODY_TOO_LARGE', `the request body is larger than ${Math.floor(maxBytes / 1024)} KiB`);
}
