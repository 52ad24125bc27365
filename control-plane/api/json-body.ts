/**
 * How the admin API reads request bodies: JSON, said so in the content-type, and no longer than
 * the server's limit (Fastify refuses a longer one with 413 before reading it all). A browser
 * holding a client certificate can be made to send a form or text/plain to any origin, but not
 * application/json without a CORS preflight this server never grants; so every other type is
 * 415, whatever the body holds. An empty body is no body, which routes see as `{}`.
 */
import { ApiError } from './api-errors';
import type { ApiInstance } from './api-request';

export const UNSUPPORTED_MEDIA_TYPE_MESSAGE = 'request bodies must be JSON with content-type: application/json';

export function acceptJsonBodies(app: ApiInstance): void {
  app.removeAllContentTypeParsers();
  // '*': every content-type, and none, comes here, so the refusal is the API's own.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (body.length === 0) return done(null, undefined);
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return done(new ApiError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED_MEDIA_TYPE_MESSAGE), undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')) as unknown);
    } catch (err) {
      done(new ApiError(400, 'ERR_BAD_REQUEST', `the request body is not valid JSON: ${(err as Error).message}`, { field: '' }), undefined);
    }
  });
  // Before validation, so a body schema sees `{}` where nothing was sent.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined) request.body = {};
  });
}
