/**
 * Why: `kubectl apply -f https://<hub>/install/<token>` presents no client certificate, and the
 * admin API refuses every handshake without one (api-app.ts), so install links are served by a
 * listener of their own that asks for none and serves nothing else: GET of a link. The token in
 * the path is the credential; it is redeemed in the store (used once, refused after expiry) and
 * the answer is that cluster's agent manifest with a fresh join token inside. A refusal is 404
 * (no such link: malformed, unknown or a wrong secret, which say nothing about each other) or
 * 410 (a real link, used or expired), with a message in plain text for whoever fetched it.
 * Both outcomes are logged with the token's public id only, never the secret.
 */
import type { AddressInfo } from 'node:net';
import type * as https from 'node:https';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import { InstallTokenRejectedError } from '../store/install-token';
import { hashJoinSecret, newJoinToken } from '../agent-gateway/join-token';
import { MalformedInstallTokenError, hashInstallSecret, parseInstallToken } from '../agent-gateway/install-token';
import { INSTALL_JOIN_TOKEN_TTL_MS, type AgentInstallSettings } from './agent-install-settings';
import { renderAgentManifest } from './install-manifest';

/** Where links live on the install listener: <publicUrl>/install/<token>. */
export const INSTALL_PATH = '/install';

export interface InstallServerProps {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free one. @default 0 */
  readonly port?: number;
  /** A certificate from the hub's serving CA (or one the operator's public CA issued). */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly store: Store;
  /** The settings in force; read on every request. */
  readonly settings: () => AgentInstallSettings;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  readonly logger: Logger;
}

export interface RunningInstallServer {
  readonly port: number;
  /** https://<host>:<port> as it listens (publicUrl may differ). */
  readonly url: string;
  /** Serves a renewed certificate to new connections. */
  setCertificate(tls: { readonly certPem: string; readonly keyPem: string }): void;
  close(): Promise<void>;
}

function refuse(reply: FastifyReply, status: 404 | 410, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(`kubegate: ${message}\n`);
}

async function serveLink(props: InstallServerProps, request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply): Promise<FastifyReply> {
  const from = request.socket.remoteAddress;
  let parts;
  try {
    parts = parseInstallToken(request.params.token);
  } catch (err) {
    if (!(err instanceof MalformedInstallTokenError)) throw err;
    props.logger.warn('install link refused', { reason: 'malformed', from });
    return refuse(reply, 404, 'no such install link; copy the whole command `kubegate cluster add` printed');
  }
  const now = (props.clock ?? Date.now)();
  const join = newJoinToken();
  try {
    const redeemed = await props.store.redeemInstallToken(parts.id, hashInstallSecret(parts.secret), now, { id: join.id, secretHash: hashJoinSecret(join.secret), expiresAt: now + INSTALL_JOIN_TOKEN_TTL_MS });
    const manifest = renderAgentManifest(props.settings(), { cluster: redeemed.cluster.name, labels: redeemed.cluster.labels, joinToken: join.text });
    props.logger.info('install link served', { cluster: redeemed.cluster.name, token: parts.id, joinToken: join.id, from });
    return reply.code(200).type('application/yaml; charset=utf-8').header('cache-control', 'no-store').send(manifest);
  } catch (err) {
    if (!(err instanceof InstallTokenRejectedError)) throw err;
    props.logger.warn('install link refused', { reason: err.reason, token: parts.id, from });
    if (err.reason === 'used') return refuse(reply, 410, `install link ${parts.id} was already used; \`kubegate cluster install-link CLUSTER\` prints a new one`);
    if (err.reason === 'expired') return refuse(reply, 410, `install link ${parts.id} has expired; \`kubegate cluster install-link CLUSTER\` prints a new one`);
    return refuse(reply, 404, 'no such install link; copy the whole command `kubegate cluster add` printed');
  }
}

/**
 * A request Fastify could not take (a path that does not decode, say) may carry a link, and its
 * error's message repeats the path: only the kind of error is logged.
 */
function badRequest(props: InstallServerProps, err: { code?: string }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  props.logger.warn('install link refused', { reason: 'bad request', code: err.code, from: request.socket.remoteAddress });
  return reply.code(400).type('text/plain; charset=utf-8').send('kubegate: bad request; copy the whole command `kubegate cluster add` printed\n');
}

export function buildInstallApp(props: InstallServerProps): FastifyInstance<https.Server> {
  const app = Fastify({
    // No client certificate is asked for: the link's token is the credential.
    https: { cert: props.tls.certPem, key: props.tls.keyPem, minVersion: 'TLSv1.2' },
    logger: false,
    bodyLimit: 1024,
    requestTimeout: 30_000,
    forceCloseConnections: true,
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: (err, request, reply) => void badRequest(props, err, request, reply),
  }) as unknown as FastifyInstance<https.Server>;
  app.get<{ Params: { token: string } }>(`${INSTALL_PATH}/:token`, (request, reply) => serveLink(props, request, reply));
  app.setNotFoundHandler((_request, reply) => refuse(reply, 404, 'this port serves install links only: GET /install/<token>'));
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.statusCode !== undefined && err.statusCode < 500) return badRequest(props, err, request, reply);
    props.logger.error('install link failed', { error: err });
    return reply.code(500).type('text/plain; charset=utf-8').send('kubegate: the hub could not serve this install link; the controller log has the details\n');
  });
  return app;
}

export async function startInstallServer(props: InstallServerProps): Promise<RunningInstallServer> {
  const app = buildInstallApp(props);
  const host = props.host ?? '127.0.0.1';
  await app.listen({ port: props.port ?? 0, host });
  const port = (app.server.address() as AddressInfo).port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  props.logger.info('install links serving', { url: `${url}${INSTALL_PATH}/` });
  return {
    port,
    url,
    setCertificate: (tls) => app.server.setSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2' }),
    close: () => app.close(),
  };
}
