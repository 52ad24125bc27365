/**
 * Console sessions, until the web console exists to open them itself: policies with
 * requireActiveSession allow kubectl only while the user has had a session active recently.
 * A caller may only touch their own sessions; someone else's answers 404, like one that does
 * not exist, so session ids cannot be probed.
 */
import type { ConsoleSessionRecord } from '../store/store';
import type { ApiDeps, ApiRequest, Route } from './api-route';
import { bodyObject } from './api-input';
import { conflict, notFound } from './api-errors';
import { sessionView } from './api-views';
import { putInForce } from './in-force';

async function ownSession(req: ApiRequest, deps: ApiDeps): Promise<ConsoleSessionRecord> {
  const session = await deps.store.getSession(req.params.id!);
  if (!session || session.user !== req.caller.user) throw notFound(`you have no console session "${req.params.id}"`);
  if (session.endedAt !== undefined) throw conflict(`console session "${session.id}" has ended; start a new one`);
  return session;
}

export const sessionRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: '/sessions',
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const session = await deps.store.createSession({ id: deps.newId(), user: req.caller.user, now: deps.clock() });
      deps.logger.info('console session started', { id: session.id, user: session.user });
      await putInForce(deps, `console session "${session.id}"`);
      return { status: 201, body: { session: sessionView(session) } };
    },
  },
  {
    method: 'POST',
    path: '/sessions/{id}/activity',
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const session = await ownSession(req, deps);
      const touched = await deps.store.touchSession(session.id, deps.clock());
      await putInForce(deps, `activity of console session "${session.id}"`);
      return { body: { session: sessionView(touched) } };
    },
  },
  {
    method: 'DELETE',
    path: '/sessions/{id}',
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const session = await ownSession(req, deps);
      const ended = await deps.store.endSession(session.id, deps.clock());
      deps.logger.info('console session ended', { id: session.id, user: session.user });
      await putInForce(deps, `ending console session "${session.id}"`);
      return { body: { session: sessionView(ended) } };
    },
  },
];
