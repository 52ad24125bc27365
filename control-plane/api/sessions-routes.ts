/**
 * Console sessions, until the web console exists to open them itself: policies with
 * requireActiveSession allow kubectl only while the user has had a session active recently.
 * A caller may only touch their own sessions; someone else's answers 404, like one that does
 * not exist, so session ids cannot be probed.
 */
import type { ConsoleSessionRecord } from '../store/store';
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import type { Caller } from './caller-identity';
import { NO_FIELDS, SEGMENT, pathParams } from './api-schemas';
import { conflict, notFound } from './api-errors';
import { sessionView } from './api-views';
import { putInForce } from './in-force';

async function ownSession(deps: ApiDeps, caller: Caller, id: string): Promise<ConsoleSessionRecord> {
  const session = await deps.store.getSession(id);
  if (!session || session.user !== caller.user) throw notFound(`you have no console session "${id}"`);
  if (session.endedAt !== undefined) throw conflict(`console session "${session.id}" has ended; start a new one`);
  return session;
}

const SESSION = pathParams({ id: SEGMENT });

export function sessionRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.post('/sessions', { schema: { body: NO_FIELDS } }, async (req, reply) => {
    const session = await deps.store.createSession({ id: deps.newId(), user: req.caller.user, now: deps.clock() });
    deps.logger.info('console session started', { id: session.id, user: session.user });
    await putInForce(deps, `console session "${session.id}"`);
    return reply.code(201).send({ session: sessionView(session) });
  });

  app.post<{ Params: { id: string } }>('/sessions/:id/activity', { schema: { params: SESSION, body: NO_FIELDS } }, async (req) => {
    const session = await ownSession(deps, req.caller, req.params.id);
    const touched = await deps.store.touchSession(session.id, deps.clock());
    await putInForce(deps, `activity of console session "${session.id}"`);
    return { session: sessionView(touched) };
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', { schema: { params: SESSION, body: NO_FIELDS } }, async (req) => {
    const session = await ownSession(deps, req.caller, req.params.id);
    const ended = await deps.store.endSession(session.id, deps.clock());
    deps.logger.info('console session ended', { id: session.id, user: session.user });
    await putInForce(deps, `ending console session "${session.id}"`);
    return { session: sessionView(ended) };
  });
}
