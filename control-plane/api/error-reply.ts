/**
 * Every failure leaves the admin API one way: as the ApiError it amounts to, JSON
 * `{code, message}` with its status, logged once through the control plane's Logger. Fastify's
 * own refusals (a body over the limit, a content-type it cannot read) become the API's codes
 * too, so clients never see Fastify's error shape or branch on its codes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log/logger';
import { ApiError, toApiError } from './api-errors';
import { pathOf } from './api-request';
import type { Caller } from './caller-identity';
import { UNSUPPORTED_MEDIA_TYPE_MESSAGE } from './json-body';
import { RESPONSE_HEADERS } from './response-headers';

export type ErrorReply = (err: unknown, request: FastifyRequest, reply: FastifyReply) => void;

export function errorReply(logger: Logger, maxBodyBytes: number): ErrorReply {
  return (err, request, reply) => {
    const apiError = fromFastify(err, maxBodyBytes) ?? toApiError(err);
    const fields = { method: request.method, path: pathOf(request.url), user: (request.caller as Caller | null)?.user };
    if (apiError.status >= 500) {
      logger.error('admin API request failed', { ...fields, error: err as Error, stack: (err as Error)?.stack });
    } else {
      logger.debug('admin API request refused', { ...fields, status: apiError.status, code: apiError.code });
    }
    // An unread body would otherwise keep the connection busy; close it after answering.
    if (!request.raw.complete) reply.header('connection', 'close');
    // Also here: a malformed URL is answered without Fastify's hooks (frameworkErrors).
    void reply
      .code(apiError.status)
      .headers({ ...RESPONSE_HEADERS, ...apiError.extra.headers })
      .send(apiError.body());
  };
}

/** The API's error for one of Fastify's own, undefined for anything else. */
function fromFastify(err: unknown, maxBodyBytes: number): ApiError | undefined {
  if (err instanceof ApiError) return undefined;
  const { code, statusCode, message } = (err ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new ApiError(413, 'ERR_BODY_TOO_LARGE', `the request body is larger than ${Math.floor(maxBodyBytes / 1024)} KiB`);
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new ApiError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED_MEDIA_TYPE_MESSAGE);
  // Anything else Fastify refuses as the client's fault (a body shorter than its
  // content-length, say) is a bad request; its own failures stay internal errors.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return new ApiError(400, 'ERR_BAD_REQUEST', String(message));
  return undefined;
}
